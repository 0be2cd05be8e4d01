"""Cold start as a visitor sees it: server launch to health check, to first text, to the home page's figures.

    git worktree add --detach /tmp/cold-before <old commit>     # or: git archive <old commit> | tar -x -C DIR
    python benchmarks/cold_start.py --before /tmp/cold-before [--repeats 5] [--cores 2 1]

For every repeat, core count and version (this checkout, and ``--before`` if given, interleaved
A B B A so that the machine's load falls on both alike), starts a fresh ``streamlit run app.py``
(held to one core with ``taskset -c 0`` for ``--cores 1``), polls its health check every 20 ms, opens
the home page in a fresh chromium context as soon as it answers, and timestamps in the page (a
MutationObserver) when the title "MNIST CNN Studio" and the accuracy metric first appear. Then visits
every page and reads the server's resident memory. Prints JSON: every measurement, and medians per
version and core count. All times are seconds from the launch of the server process.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from playwright.sync_api import sync_playwright  # noqa: E402

from support.app_server import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_app_idle  # noqa: E402

TITLE = "MNIST CNN Studio"
ACCURACY_LABEL = "Test accuracy of the active model"
PAGE_MARKERS = {"Train": "Start a run", "Draw": "Nothing drawn yet", "Mistakes": "Most confused pairs", "": ACCURACY_LABEL}
# Runs in the page before any of its scripts: the epoch time (ms) of the first DOM change showing each.
WATCH_FIRST_CONTENT = f"""
const title = {json.dumps(TITLE)}, label = {json.dumps(ACCURACY_LABEL)};
window.__firstSeen = {{}};
const note = () => {{
  const seen = window.__firstSeen, now = performance.timeOrigin + performance.now();
  const heading = document.querySelector('h1');
  if (!seen.title && heading && heading.textContent.includes(title)) seen.title = now;
  if (!seen.figures) {{
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')]
      .find(element => element.textContent.includes(label) && /\\d%/.test(element.textContent));
    if (metric) seen.figures = now;
  }}
}};
new MutationObserver(note).observe(document, {{subtree: true, childList: true, characterData: true}});
"""


def memory_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise KeyError("VmRSS")


def launch(project_dir, cores, runs_dir):
    """Start the app of ``project_dir``; return (process, url, launch epoch time, health-check epoch time)."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
        "--server.address=127.0.0.1", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
    ]
    if cores == 1:
        command = ["taskset", "-c", "0", *command]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MNIST_CNN_RUNS": str(runs_dir)}
    launched = time.time()
    process = subprocess.Popen(command, cwd=project_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while time.time() < launched + 120:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return process, url, launched, time.time()
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"{project_dir}: streamlit did not answer its health check within 120 s")


def measure(browser, project_dir, cores):
    # The browser tab is ready before the server starts: only the page's own loading is timed.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(WATCH_FIRST_CONTENT)
    with tempfile.TemporaryDirectory() as runs_dir:
        process, url, launched, healthy = launch(project_dir, cores, runs_dir)
        try:
            page.goto(url, wait_until="commit")
            page.wait_for_function("() => window.__firstSeen.title && window.__firstSeen.figures", timeout=180_000)
            seen = page.evaluate("({...window.__firstSeen, navigation: performance.timeOrigin})")
            result = {
                "health_check": healthy - launched,
                "navigation": seen["navigation"] / 1000 - launched,
                "title": seen["title"] / 1000 - launched,
                "figures": seen["figures"] / 1000 - launched,
            }
            for path, marker in PAGE_MARKERS.items():
                page.goto(f"{url}/{path}")
                page.get_by_text(marker).first.wait_for(timeout=180_000)
                wait_for_app_idle(page, timeout=180_000)
            result["rss_after_every_page_mb"] = memory_mb(process.pid)
            return result
        finally:
            context.close()
            process.terminate()
            process.wait(timeout=30)


def medians(measurements):
    keys = ["health_check", "navigation", "title", "figures", "rss_after_every_page_mb"]
    summary = {key: round(statistics.median(m[key] for m in measurements), 2) for key in keys}
    summary["title_after_health_check"] = round(statistics.median(m["title"] - m["health_check"] for m in measurements), 2)
    summary["figures_after_health_check"] = round(statistics.median(m["figures"] - m["health_check"] for m in measurements), 2)
    summary["title_after_navigation"] = round(statistics.median(m["title"] - m["navigation"] for m in measurements), 2)
    summary["n"] = len(measurements)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of the version to compare against")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 1], choices=[1, 2])
    args = parser.parse_args()
    versions = {"after": PROJECT_DIR}
    if args.before:
        versions = {"before": args.before.resolve(), **versions}
    names = list(versions)
    results = {f"{name}, {cores} core{'s' if cores > 1 else ''}": [] for cores in args.cores for name in names}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for repeat in range(args.repeats):
                for cores in args.cores:
                    for name in names if repeat % 2 == 0 else reversed(names):  # A B, B A, A B ...
                        measured = measure(browser, versions[name], cores)
                        print(json.dumps({"version": name, "cores": cores, **{k: round(v, 2) for k, v in measured.items()}}),
                              file=sys.stderr, flush=True)
                        results[f"{name}, {cores} core{'s' if cores > 1 else ''}"].append(measured)
        finally:
            browser.close()
    print(json.dumps({
        "load_average": os.getloadavg(),
        "medians_seconds_from_launch": {key: medians(values) for key, values in results.items()},
        "targets": {"title_after_health_check": 1.5, "figures_after_health_check_2_cores": 3.0},
        "every_run": {key: [{k: round(v, 2) for k, v in m.items()} for m in values] for key, values in results.items()},
    }, indent=2))


if __name__ == "__main__":
    main()
