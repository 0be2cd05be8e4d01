"""Every page in real chromium: it renders, says what it is, and shows no exception."""
import pytest

from support.app_server import save_screenshot, wait_for_app_idle

# (path, text the rendered page must contain once its script has run)
PAGES = [
    ("", "Test accuracy of the active model"),
    ("Train", "Start a run"),
    ("Draw", "Nothing drawn yet"),
    ("Mistakes", "Most confused pairs"),
    ("Class", "in the class set"),
]


@pytest.mark.browser
@pytest.mark.parametrize("path, expected_text", PAGES, ids=[path or "Home" for path, _ in PAGES])
def test_every_page_renders_without_an_exception(app_url, page, path, expected_text):
    console_errors = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.goto(f"{app_url}/{path}")
    page.get_by_text(expected_text, exact=False).first.wait_for(timeout=120_000)
    wait_for_app_idle(page)
    for chart in page.locator("[data-testid='stPlotlyChart']").all():
        chart.locator(".main-svg").first.wait_for(timeout=30_000)  # charts drawn, not placeholders
    assert page.locator("[data-testid='stException']").count() == 0
    # The phone links hide from 768 px by a stylesheet that lands a moment after the elements.
    page.locator(".st-key-phone-navigation").wait_for(state="hidden", timeout=10_000)
    for title in ("Home", "Train", "Draw", "Mistakes", "Class"):  # the top navigation
        assert page.get_by_role("link", name=title, exact=True).count() == 1, title
    assert not console_errors, console_errors
    save_screenshot(page, f"page-{path or 'home'}")
