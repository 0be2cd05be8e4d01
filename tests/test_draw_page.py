import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from support.app_server import save_screenshot, wait_for_app_idle

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "2_Draw.py")


def test_blank_page_says_nothing_is_drawn_and_shows_no_digit():
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception
    assert "Nothing drawn yet" in app.info[0].value
    assert not [m for m in app.markdown if "predicted-digit" in m.value]
    assert app.slider[0].label == "Pen width"
    # The chart is there before any drawing, with empty bars, so each drawing updates it in place.
    (chart,) = app.get("plotly_chart")
    (bars,) = json.loads(chart.proto.spec)["data"]
    heights = np.frombuffer(base64.b64decode(bars["y"]["bdata"]), dtype=bars["y"]["dtype"])  # plotly's typed array
    assert heights.shape == (10,) and not heights.any()


def stroke(page, canvas_box, points):
    """One pen stroke through ``points`` given in canvas pixels (0-280)."""
    x0, y0 = canvas_box["x"], canvas_box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=2)
    page.mouse.up()


def predicted_digit(page):
    page.wait_for_selector(".st-key-prediction .predicted-digit", timeout=30_000)
    return page.locator(".st-key-prediction .predicted-digit").inner_text().strip()


def open_draw_page(page, app_url):
    page.goto(f"{app_url}/Draw")
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=120_000)
    wait_for_app_idle(page)
    return canvas


def reset_canvas(page):
    page.get_by_role("button", name="Reset canvas & history").click()


@pytest.mark.browser
def test_blank_canvas_in_the_browser_shows_words_not_a_digit(app_url, page):
    open_draw_page(page, app_url)
    prediction = page.locator(".st-key-prediction")
    assert "Nothing drawn yet" in prediction.inner_text()
    assert page.locator(".st-key-prediction .predicted-digit").count() == 0
    page.locator(".js-plotly-plot").wait_for(timeout=30_000)  # plotly's bundle loads after the page
    assert page.locator(".js-plotly-plot").count() == 1  # empty probability bars, filled by the first drawing


@pytest.mark.browser
def test_drawing_a_one_and_a_zero_with_the_mouse(app_url, page):
    canvas = open_draw_page(page, app_url)
    box = canvas.bounding_box()

    stroke(page, box, [(150, 50 + 9 * k) for k in range(21)])  # a vertical bar
    assert predicted_digit(page) == "1"
    assert page.locator(".js-plotly-plot").count() == 1
    # Feature maps are computed only once their expander is opened.
    expander = page.locator("[data-testid='stExpander']").filter(has_text="Feature maps")
    assert expander.locator("img").count() == 0
    expander.get_by_text("Feature maps of the convolution layers").click()
    expander.locator("img").nth(1).wait_for(timeout=30_000)
    assert expander.locator("img").count() == 2  # one mosaic per convolution layer
    save_screenshot(page, "draw-one")

    reset_canvas(page)
    page.wait_for_function(
        "() => document.querySelector('.st-key-prediction').innerText.includes('Nothing drawn yet')", timeout=30_000
    )

    ellipse = [(140 + 60 * math.sin(2 * math.pi * k / 40), 140 - 90 * math.cos(2 * math.pi * k / 40)) for k in range(42)]
    stroke(page, box, ellipse)
    page.wait_for_function(
        "() => { const d = document.querySelector('.st-key-prediction .predicted-digit'); return d && d.innerText.trim() === '0'; }",
        timeout=30_000,
    )
    assert predicted_digit(page) == "0"
    save_screenshot(page, "draw-zero")


@pytest.mark.browser
def test_canvas_fits_a_phone_screen(app_url, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        canvas = open_draw_page(phone, app_url)
        box = canvas.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
        save_screenshot(phone, "draw-phone")
    finally:
        context.close()
