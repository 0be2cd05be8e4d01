"""A freshly started server shows text at once: the page shell before TensorFlow, never a blank page."""
from pathlib import Path

import pytest

from support.app_server import save_screenshot, start_streamlit, wait_for_app_idle

pytestmark = pytest.mark.browser

# Target: first text within 1.5 s of the health check (benchmarks/cold_start.py measures it). On the
# shared CI machine (load ~20 on 2 cores) the first text took 2.2-4.2 s, and 16-20 s before issue 18:
# the test allows 5 s. The checks that the home page needs no TensorFlow, and that Draw's title shows
# while its model loads, fail whatever the load if the page shell waits for TensorFlow again.
BLANK_BUDGET_SECONDS = 5.0
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1920, "height": 1080}},
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
}
# Samples the page every 50 ms from navigation start: is any text shown, and is a spinner shown.
SAMPLE_THE_PAGE = """
window.__samples = [];
setInterval(() => {
  const main = document.querySelector('[data-testid="stMain"]');
  window.__samples.push({
    t: performance.now() / 1000,
    text: Boolean(main && main.innerText.trim()),
    spinner: Boolean(document.querySelector('[data-testid="stSpinner"]')),
  });
}, 50);
"""


def longest_blank_seconds(samples):
    """The longest stretch, from navigation start, during which the page showed no text."""
    longest, blank_since = 0.0, 0.0
    for sample in samples:
        if sample["text"]:
            if blank_since is not None:
                longest = max(longest, sample["t"] - blank_since)
            blank_since = None
        elif blank_since is None:
            blank_since = sample["t"]
    return longest if blank_since is None else max(longest, samples[-1]["t"] - blank_since)


def tensorflow_loaded(pid):
    """Whether the server process has mapped TensorFlow's libraries (imported it)."""
    return "tensorflow" in Path(f"/proc/{pid}/maps").read_text()


@pytest.fixture
def fresh_server(tmp_path):
    process, url = start_streamlit({"MNIST_CNN_RUNS": str(tmp_path / "runs")})
    yield process, url
    process.terminate()
    process.wait(timeout=20)


def test_first_page_view_shows_text_at_once_and_the_model_behind_a_spinner(browser, fresh_server):
    process, url = fresh_server
    contexts = {name: browser.new_context(**options) for name, options in VIEWPORTS.items()}
    try:
        pages = {name: context.new_page() for name, context in contexts.items()}
        for page in pages.values():
            page.add_init_script(SAMPLE_THE_PAGE)

        home = pages["desktop"]
        home.goto(url, wait_until="commit")
        home.get_by_role("heading", name="MNIST CNN Studio").wait_for(timeout=60_000)
        save_screenshot(home, "cold-start-home-first-text-1920")
        home.get_by_text("Test accuracy of the active model").wait_for(timeout=60_000)
        wait_for_app_idle(home)
        samples = home.evaluate("window.__samples")
        first_text = next(sample["t"] for sample in samples if sample["text"])
        print(f"first text {first_text:.2f} s after navigation start")
        assert first_text <= BLANK_BUDGET_SECONDS, f"the first text appeared {first_text:.1f} s after navigation"
        assert longest_blank_seconds(samples) <= BLANK_BUDGET_SECONDS
        assert "99.25%" in home.get_by_test_id("stMetricValue").first.inner_text()
        # The home page, figures and all, needed no TensorFlow: it comes with the first model.
        assert not tensorflow_loaded(process.pid)
        home.locator("[data-testid='stDataFrame'] canvas").first.wait_for(timeout=60_000)  # the layer table
        save_screenshot(home, "cold-start-home-loaded-1920")
        pages["phone"].goto(url)
        pages["phone"].get_by_text("Test accuracy of the active model").wait_for(timeout=60_000)
        wait_for_app_idle(pages["phone"])
        save_screenshot(pages["phone"], "cold-start-home-loaded-360")

        # Draw needs the model: its title shows while the model (and TensorFlow) load behind a spinner.
        for page in pages.values():
            page.goto(f"{url}/Draw", wait_until="commit")
        for name, page in pages.items():
            page.wait_for_function(
                """() => [...document.querySelectorAll('h1')].some(h => h.textContent.includes('Draw a digit'))
                      && document.querySelector('[data-testid="stSpinner"]')""",
                timeout=60_000,
            )
            save_screenshot(page, f"cold-start-draw-loading-{'1920' if name == 'desktop' else '360'}")
        for page in pages.values():
            page.get_by_text("Nothing drawn yet").wait_for(timeout=180_000)
            assert longest_blank_seconds(page.evaluate("window.__samples")) <= BLANK_BUDGET_SECONDS
        assert tensorflow_loaded(process.pid)
    finally:
        for context in contexts.values():
            context.close()
