import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from support.app_server import open_draw_page, save_screenshot
from support.touch import PHONE, mouse_stroke, scroll_offsets, too_small_tap_targets, touch_stroke

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "2_Draw.py")
VERDICT = ".st-key-prediction .verdict"
PREDICTED = ".st-key-prediction .predicted-digit"
SEVEN = ([(60 + 8 * k, 60) for k in range(21)], [(220 - 5 * k, 60 + 10 * k) for k in range(21)])  # bar, then slope


def test_blank_page_says_nothing_is_drawn_and_shows_no_digit():
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception
    (verdict,) = [m.value for m in app.markdown if "verdict" in m.value]
    assert "verdict-blank" in verdict and "Nothing drawn yet" in verdict and "predicted-digit" not in verdict
    buttons = {button.label: button for button in app.button}
    assert buttons["Undo"].disabled and buttons["Clear"].disabled  # nothing to undo or clear yet
    assert app.slider(key="pen_width").label == "Pen width"
    # The chart is there before any drawing, with empty bars, so each drawing updates it in place.
    (chart,) = app.get("plotly_chart")
    (bars,) = json.loads(chart.proto.spec)["data"]
    heights = np.frombuffer(base64.b64decode(bars["y"]["bdata"]), dtype=bars["y"]["dtype"])  # plotly's typed array
    assert heights.shape == (10,) and not heights.any()


def wait_for_digit(page, digit):
    page.wait_for_function(
        "([selector, digit]) => document.querySelector(selector)?.innerText.trim() === digit", arg=[PREDICTED, digit], timeout=30_000
    )


def wait_for_blank(page):
    page.wait_for_selector(".st-key-prediction .verdict-blank", timeout=30_000)


ELEMENT_AT = """(canvas, [x, y]) => {
    const box = canvas.getBoundingClientRect();
    return canvas.getRootNode().elementFromPoint(box.left + x, box.top + y)?.className;
}"""


def canvas_brightness(page, points):
    """Red channel of the drawing canvas at ``points`` (canvas pixels): 255 on a stroke, 0 on the background."""
    return page.locator("canvas.dc-canvas.lower-canvas").first.evaluate(
        "(canvas, points) => points.map(([x, y]) => canvas.getContext('2d').getImageData(x, y, 1, 1).data[0])", points
    )


def canvas_has_ink(page):
    return page.locator("canvas.dc-canvas.lower-canvas").first.evaluate(
        "canvas => canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data.some((v, i) => i % 4 === 0 && v > 0)"
    )


SEEN_IMAGE = "[data-testid='stImage'] img"  # "What the network sees"


def wait_for_new_seen_image(page, before):
    """Wait until the server has read a new drawing: the image the network sees changes; return its address."""
    page.wait_for_function(
        "([selector, before]) => { const src = document.querySelector(selector)?.getAttribute('src'); return src && src !== before; }",
        arg=[SEEN_IMAGE, before],
        timeout=30_000,
    )
    return page.locator(SEEN_IMAGE).first.get_attribute("src")


def wait_for_seen_image(page, expected):
    """Wait until the network sees ``expected`` (an image address; Streamlit names media by content)."""
    page.wait_for_function(
        "([selector, expected]) => document.querySelector(selector)?.getAttribute('src') === expected",
        arg=[SEEN_IMAGE, expected],
        timeout=30_000,
    )


def button(page, name):
    return page.locator(".st-key-canvas-buttons").get_by_role("button", name=name)


@pytest.mark.browser
def test_blank_canvas_in_the_browser_shows_words_not_a_digit(app_url, page):
    open_draw_page(page, app_url)
    assert "Nothing drawn yet" in page.locator(VERDICT).inner_text()
    assert page.locator(PREDICTED).count() == 0
    page.locator(".js-plotly-plot").wait_for(timeout=30_000)  # plotly's bundle loads after the page
    assert page.locator(".js-plotly-plot").count() == 1  # empty probability bars, filled by the first drawing


@pytest.mark.browser
def test_drawing_a_one_and_a_zero_with_the_mouse_on_a_desktop(app_url, page):
    page.set_viewport_size({"width": 1920, "height": 1080})
    canvas = open_draw_page(page, app_url)
    box = canvas.bounding_box()
    assert page.locator(".st-key-phone-navigation").is_hidden()  # Streamlit's own top navigation is there

    mouse_stroke(page, box, [(150, 50 + 9 * k) for k in range(21)])  # a vertical bar
    wait_for_digit(page, "1")
    verdict = page.locator(VERDICT).bounding_box()
    assert verdict["x"] > box["x"] + box["width"] and verdict["y"] < box["y"] + box["height"]  # side by side
    # Feature maps are computed only once their expander is opened.
    expander = page.locator("[data-testid='stExpander']").filter(has_text="Feature maps")
    assert expander.locator("img").count() == 0
    expander.get_by_text("Feature maps of the convolution layers").click()
    expander.locator("img").nth(1).wait_for(timeout=30_000)
    assert expander.locator("img").count() == 2  # one mosaic per convolution layer
    save_screenshot(page, "draw-one-desktop")

    button(page, "Clear").click()
    wait_for_blank(page)
    assert not canvas_has_ink(page)

    ellipse = [(140 + 60 * math.sin(2 * math.pi * k / 40), 140 - 90 * math.cos(2 * math.pi * k / 40)) for k in range(42)]
    mouse_stroke(page, box, ellipse)
    wait_for_digit(page, "0")


@pytest.mark.browser
def test_a_phone_draws_a_seven_by_touch_and_undoes_and_clears_it(app_url, browser):
    context = browser.new_context(**PHONE)
    phone = context.new_page()
    try:
        canvas = open_draw_page(phone, app_url)
        box = canvas.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
        links = phone.locator(".st-key-phone-navigation a")
        assert links.all_inner_texts() == ["Home", "Train", "Draw", "Mistakes", "Class"]
        assert len({round(link.bounding_box()["y"]) for link in links.all()}) == 1  # one row
        assert all(link.bounding_box()["height"] >= 32 and link.bounding_box()["y"] >= 0 for link in links.all())
        # The canvas's own toolbar (hover only) is hidden: nothing invisible covers the canvas's corners.
        assert canvas.evaluate(ELEMENT_AT, [270, 8]) == canvas.evaluate(ELEMENT_AT, [140, 140]) == "dc-canvas upper-canvas"
        assert too_small_tap_targets(phone) == []
        for name in ("Undo", "Clear"):
            target = button(phone, name).bounding_box()
            assert target["height"] >= 44 and target["width"] >= 64 and target["y"] + target["height"] <= 740

        bar, slope = SEVEN
        touch_stroke(phone, box, bar)
        bar_seen = wait_for_new_seen_image(phone, None)
        touch_stroke(phone, box, slope)
        wait_for_new_seen_image(phone, bar_seen)
        wait_for_digit(phone, "7")
        assert phone.evaluate("() => { const m = document.querySelector('.stMain'); return m.scrollHeight > m.clientHeight; }")
        assert scroll_offsets(phone) == [0, 0]  # the strokes drew; the page did not scroll
        verdict = phone.locator(VERDICT).bounding_box()
        assert verdict["y"] >= 0 and verdict["y"] + verdict["height"] <= 740  # in the first screen
        save_screenshot(phone, "draw-phone-seven")

        on_bar, on_slope = (140, 60), (170, 160)
        assert canvas_brightness(phone, [on_bar, on_slope]) == [255, 255]
        button(phone, "Undo").tap()
        wait_for_seen_image(phone, bar_seen)
        assert canvas_brightness(phone, [on_bar, on_slope]) == [255, 0]
        assert phone.locator(VERDICT).bounding_box() == verdict  # whatever the bar alone reads as, the box stays

        button(phone, "Clear").tap()
        wait_for_blank(phone)
        assert not canvas_has_ink(phone)
        assert phone.locator(PREDICTED).count() == 0
        assert phone.locator(VERDICT).bounding_box() == verdict  # the verdict box did not move or resize
    finally:
        context.close()
