from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_cnn.prediction_wall import WALL_INDICES, WallDigit, WallState
from mnist_cnn.training_figures import FONT_SIZE
from support.app_server import save_screenshot, wait_for_app_idle
from ui.live_run import class_accuracy_html, wall_html
from ui.presenter import PRESENTER_FONT_SIZE

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "1_Train.py")


def test_wall_html_marks_right_and_wrong_at_a_glance():
    state = WallState(digits=(WallDigit(3, 0, guess=0, confidence=0.97), WallDigit(2130, 4, guess=9, confidence=0.61),
                              WallDigit(7, 9)), progress_epochs=0.4)
    markup = wall_html(state)
    right, wrong, waiting = markup.split('<div class="wall-cell ')[1:]
    assert right.startswith("wall-right") and "✓ 0" in right and "97% sure" in right
    assert wrong.startswith("wall-wrong") and "✗ 9" in wrong and "is 4" in wrong
    assert waiting.startswith("wall-waiting") and ">?<" in waiting
    assert state.correct_count == 1


def test_class_accuracy_row_is_always_ten_cells():
    waiting = class_accuracy_html(WallState(digits=()))
    assert waiting.count("<b>") == 10 and "–" in waiting and "%" not in waiting
    done = class_accuracy_html(WallState(digits=(), class_accuracy=tuple(i / 10 for i in range(10)), class_accuracy_epoch=1))
    assert done.count("%") == 10 and done.count("class-weak") == 9  # every digit under 90% is flagged


def test_presenter_view_shows_the_live_run_and_nothing_else():
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.query_params["present"] = "1"
    app.run()
    assert not app.exception
    wall = next(markdown.value for markdown in app.markdown if "prediction-wall" in markdown.value)
    assert wall.count('class="wall-cell') == len(WALL_INDICES)
    assert not [header for header in app.subheader if header.value in ("Start a run", "Saved runs")]
    assert [button for button in app.button if button.label == "Leave presenter view"]
    normal = AppTest.from_file(PAGE, default_timeout=120).run()
    assert [header for header in normal.subheader if header.value == "Start a run"]
    assert [button for button in normal.button if button.label.startswith("Presenter view")]


CHART_FONTS = """() => [...document.querySelectorAll('.st-key-train-chart .js-plotly-plot')]
    .map(gd => gd._fullLayout ? gd._fullLayout.font.size : null)"""
CHART_BOXES = """() => new Set([...document.querySelectorAll('.st-key-train-chart .js-plotly-plot')].map(gd => {
    const box = gd.getBoundingClientRect(); return `${Math.round(box.x)},${Math.round(box.y)},${Math.round(box.width)}`;
})).size"""
TOP_CHART_FONT = """() => { const charts = document.querySelectorAll('.st-key-train-chart .js-plotly-plot');
    const box = charts[0].getBoundingClientRect();
    const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2).closest('.js-plotly-plot');
    return top && top._fullLayout.font.size; }"""


def wait_for_charts(page, font_size):
    """Wait until every chart slot is drawn in ``font_size`` (a stale slot of the other view never is)."""
    page.wait_for_function(
        f"() => {{ const fonts = ({CHART_FONTS})(); return fonts.length > 0 && fonts.every(size => size === {font_size}); }}",
        timeout=120_000,
    )


@pytest.mark.browser
def test_presenter_view_enters_and_leaves_by_its_buttons_without_a_reload(app_url, browser):
    page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    try:
        page.goto(f"{app_url}/Train", timeout=180_000)
        page.get_by_role("button", name="Presenter view (projector)").wait_for(timeout=180_000)
        wait_for_app_idle(page)
        wait_for_charts(page, FONT_SIZE)
        page.evaluate("() => { window.sameDocument = true; }")  # gone if the page reloads

        page.get_by_role("button", name="Presenter view (projector)").click()
        page.locator(".st-key-presenter").wait_for(timeout=60_000)
        wait_for_app_idle(page)
        assert "present=1" in page.url
        # One chart on screen (its slots stacked in one place), in the presenter's type, none of the normal view's.
        wait_for_charts(page, PRESENTER_FONT_SIZE)
        assert page.evaluate(CHART_BOXES) == 1 and page.evaluate(TOP_CHART_FONT) == PRESENTER_FONT_SIZE
        assert page.get_by_text("Start a run", exact=True).count() == 0

        page.get_by_role("button", name="Leave presenter view").click()
        page.get_by_text("Start a run", exact=True).wait_for(timeout=60_000)
        wait_for_app_idle(page)
        assert page.locator(".st-key-presenter").count() == 0 and "present=1" not in page.url
        wait_for_charts(page, FONT_SIZE)
        assert page.evaluate(CHART_BOXES) == 1 and page.evaluate(TOP_CHART_FONT) == FONT_SIZE
        assert page.get_by_role("button", name="Presenter view (projector)").is_visible()
        assert page.evaluate("() => window.sameDocument === true")  # no reload was needed
        save_screenshot(page, "presenter-after-leave-1920")
    finally:
        page.context.close()
