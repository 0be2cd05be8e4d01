"""A live ``streamlit run app.py`` on a loopback port, and Debian's chromium to look at it."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# No background traffic: this machine's closed network refuses it, many connections at a time.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS_DIR = PROJECT_DIR / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_streamlit(env_overrides=None, timeout=90, launcher=("-m", "streamlit"), command_prefix=(), project_dir=PROJECT_DIR):
    """Start ``streamlit run app.py`` in ``project_dir`` on a free loopback port; return (process, base_url).

    ``env_overrides``: variables to set, or to remove where the value is None;
    ``launcher``: what follows the Python interpreter in place of ``-m streamlit``;
    ``command_prefix``: what runs the interpreter, e.g. ``("taskset", "-c", "0")``.
    """
    process, base_url = launch_streamlit(env_overrides, launcher, command_prefix, project_dir)
    wait_until_serving(process, base_url, timeout)
    return process, base_url


def launch_streamlit(env_overrides=None, launcher=("-m", "streamlit"), command_prefix=(), project_dir=PROJECT_DIR):
    """:func:`start_streamlit` without the wait: several servers start at once, then :func:`wait_until_serving`."""
    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env_overrides or {})}
    env = {name: value for name, value in env.items() if value is not None}
    process = subprocess.Popen(
        [
            *command_prefix, sys.executable, *launcher, "run", "app.py",
            "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
        ],
        cwd=project_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}"


def wait_until_serving(process, base_url, timeout=90):
    """Wait for a launched server's health check; kill it and raise RuntimeError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"streamlit did not start on {base_url} within {timeout} s")


def start_worker(env_overrides, runs_root, log_path):
    """Start a training worker (``python -m classroom worker``) with the project's environment and
    ``env_overrides``, its runs under ``runs_root``, its output in ``log_path``; return the process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env_overrides}
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "classroom", "worker", "--runs", str(runs_root)], cwd=PROJECT_DIR, env=env,
            stdout=log, stderr=subprocess.STDOUT,
        )


def save_screenshot(page, name):
    """Save a full-page screenshot under test-artifacts/ (ignored by git) and return its path."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextlib.contextmanager
def witness(name, **pages):
    """On any failure inside, save each named page's screenshot and add what it showed to the error:
    a browser test's failure in CI has no other witness."""
    try:
        yield
    except Exception as error:
        seen = []
        for role, page in pages.items():
            try:
                path = save_screenshot(page, f"{name}-{role}")
                text = page.locator("[data-testid='stApp']").inner_text(timeout=5_000)
                seen.append(f"{role} at {page.url} ({path.name}): {text[:1200]!r}")
            except Exception as unseen:  # a closed page must not hide the first error
                seen.append(f"{role}: not seen ({unseen.__class__.__name__})")
        raise AssertionError(f"{error}\n" + "\n".join(seen)) from error


def wait_for_app_idle(page, timeout=60_000):
    """Wait until Streamlit has finished running the page script.

    The app root carries the script's run state in ``data-test-script-state`` (``notRunning`` when done).
    """
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def click_and_wait_for_its_run(page, locator):
    """Click ``locator`` and wait until the script run the click starts has ended.

    :func:`wait_for_app_idle` right after a click can look before that run has begun and pass at once; the
    next step (leaving the page, say) then cuts the run off, and what the click set is lost.
    """
    watch_for_a_run(page)
    locator.click()
    wait_for_the_watched_run(page)


def watch_for_a_run(page):
    """From now on, note when a script run starts (the page's, or a fragment's such as a timed refresh)."""
    page.evaluate("""() => {
      window.scriptRunSeen = false;
      const app = document.querySelector("[data-testid='stApp']");
      new MutationObserver((_, observer) => {
        if (app.getAttribute('data-test-script-state') === 'running') { window.scriptRunSeen = true; observer.disconnect(); }
      }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    }""")


def wait_for_the_watched_run(page, timeout=60_000):
    """Wait until a run started since :func:`watch_for_a_run` has ended."""
    page.wait_for_function("() => window.scriptRunSeen", timeout=timeout)
    wait_for_app_idle(page)


def open_draw_page(page, app_url):
    """Open the Draw page and wait until its canvas is there and the page script has run; returns the canvas."""
    page.goto(f"{app_url}/Draw")
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=120_000)
    wait_for_app_idle(page)
    return canvas


def select_saved_run(page, name):
    """Tick the row of ``name`` in the first grid (a canvas: click where its checkbox is drawn), and only it.

    The grid can gain a row between aiming and clicking (on a shared server another visitor's run starts
    and every Train page reruns): the tick then lands on a neighbour. The grid's accessible rows say which
    row is ticked (``aria-selected``), so a wrong tick is taken back and the row aimed at again.
    """
    grid = page.locator("[data-testid='stDataFrame']").first
    ticked = grid.locator("[role='row'][aria-selected='true']")
    for _ in range(3):
        wait_for_app_idle(page)
        _click_row(page, grid, grid.locator("[role='row']", has_text=name).first)
        ticked.first.wait_for(state="attached", timeout=30_000)
        if name in ticked.first.text_content():
            return
        _click_row(page, grid, ticked.first)  # a neighbour: untick it
        ticked.first.wait_for(state="detached", timeout=30_000)
    raise AssertionError(f"the row of {name!r} kept moving away from the click")


def _click_row(page, grid, row):
    grid.scroll_into_view_if_needed()
    row_index = int(row.get_attribute("aria-rowindex"))  # 1 is the header row
    box = grid.bounding_box()
    header_height = row_height = 35
    page.mouse.click(box["x"] + 16, box["y"] + header_height + (row_index - 2) * row_height + row_height / 2)
