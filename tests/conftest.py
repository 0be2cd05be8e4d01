"""Shared fixtures: the bundled test set as small training data, a live app server, a browser."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS_DIR = PROJECT_DIR / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def small_mnist():
    """A small, always-available stand-in for MNIST built from the bundled test split:
    ``((x_train, y_train), (x_test, y_test))`` with 3,000 and 1,000 images."""
    from mnist_cnn.data import load_test_set

    images, labels = load_test_set()
    return (images[:3000], labels[:3000]), (images[3000:4000], labels[3000:4000])


@pytest.fixture(scope="session")
def mnist_npz_path():
    """The full MNIST file named by MNIST_NPZ (CI sets it); skipped elsewhere without it."""
    path = os.environ.get("MNIST_NPZ")
    if not path:
        if IN_CI:
            pytest.fail("CI must set MNIST_NPZ to the shared mnist.npz")
        pytest.skip("MNIST_NPZ is not set")
    return Path(path)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_streamlit(env_overrides=None, timeout=90, launcher=("-m", "streamlit")):
    """Start ``streamlit run app.py`` on a free loopback port; return (process, base_url).

    ``launcher``: what follows the Python interpreter in place of ``-m streamlit``.
    """
    port = _free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env_overrides or {})}
    process = subprocess.Popen(
        [
            sys.executable, *launcher, "run", "app.py",
            "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
        ],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return process, base_url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"streamlit did not start on {base_url} within {timeout} s")


@pytest.fixture(scope="session")
def app_runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("app-runs")


@pytest.fixture(scope="session")
def app_url(app_runs_dir):
    """Base URL of a live app server shared by the browser tests (runs go to a temp folder)."""
    process, base_url = start_streamlit({"MNIST_CNN_RUNS": str(app_runs_dir)})
    yield base_url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists() and not IN_CI:
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def save_screenshot(page, name):
    """Save a full-page screenshot under test-artifacts/ (ignored by git) and return its path."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app_idle(page, timeout=60_000):
    """Wait until Streamlit has finished running the page script.

    The app root carries the script's run state in ``data-test-script-state`` (``notRunning`` when done).
    """
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


@pytest.fixture(autouse=True)
def _isolated_runs_dir(tmp_path, monkeypatch):
    """Every test writes runs to its own temp folder, never the repository's runs/."""
    monkeypatch.setenv("MNIST_CNN_RUNS", str(tmp_path / "runs"))


__all__ = ["save_screenshot", "start_streamlit", "wait_for_app_idle", "PROJECT_DIR"]
