"""Shared fixtures: the bundled test set as small training data, a live app server, a browser."""
import os
from pathlib import Path

import pytest

from support.app_server import CHROMIUM, CHROMIUM_ARGS, IN_CI, start_streamlit

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
            args=CHROMIUM_ARGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _isolated_runs_dir(tmp_path, monkeypatch):
    """Every test writes runs to its own temp folder, never the repository's runs/."""
    monkeypatch.setenv("MNIST_CNN_RUNS", str(tmp_path / "runs"))
