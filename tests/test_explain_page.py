"""Explain a reading in the browser: draw, open each part, move a slider."""
import re

import pytest

from support.app_server import open_draw_page, save_screenshot, wait_for_app_idle, witness
from support.touch import mouse_stroke, touch_stroke

SEVEN = [(70 + 8 * k, 70) for k in range(17)] + [(200 - 5 * k, 70 + 10 * k) for k in range(1, 17)]
PARTS = ("The way in", "What if", "Where it looked", "Look-alikes")


def draw_a_seven(page, app_url, stroke=mouse_stroke):
    canvas = open_draw_page(page, app_url)
    box = canvas.bounding_box()
    scale = box["width"] / 280
    stroke(page, box, [(x * scale, y * scale) for x, y in SEVEN])
    page.wait_for_selector(".st-key-prediction .predicted-digit", timeout=30_000)
    page.get_by_text("Why this answer?").wait_for(timeout=30_000)
    wait_for_app_idle(page)


def save_whole_page(page, name):
    """Streamlit scrolls inside its main section, so grow the viewport to the content for a whole-page shot."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    wait_for_app_idle(page)
    page.wait_for_timeout(500)
    save_screenshot(page, name)
    page.set_viewport_size(size)


def part(page, name):
    return page.locator("[data-testid='stExpander']").filter(has_text=name)


def open_part(page, name, images):
    expander = part(page, name)
    assert expander.locator("img").count() == 0  # nothing computed before it is opened
    expander.locator("summary").click()
    expander.locator("img").nth(images - 1).wait_for(timeout=60_000)
    wait_for_app_idle(page)
    return expander


def what_if_sentence(page):
    return page.locator(".st-key-draw-what-if-reading").inner_text()


def move_slider(page, label, key, presses):
    thumb = part(page, "What if").locator("[data-testid='stSlider']").filter(has_text=label).get_by_role("slider")
    thumb.focus()
    for _ in range(presses):
        thumb.press(key)


@pytest.mark.browser
def test_explaining_a_drawn_seven(app_url, page):
    page.set_viewport_size({"width": 1920, "height": 1080})
    draw_a_seven(page, app_url)
    assert part(page, "What if").count() == 1 and page.locator("[data-testid='stExpander']").filter(has_text="The way in").count() == 1

    assert open_part(page, "The way in", 4).locator("img").count() == 4
    what_if = open_part(page, "What if", 1)
    before = what_if_sentence(page)
    assert re.search(r"Was \*?\*?\d", before.replace("*", "")) and "still" in before
    move_slider(page, "Rotate anticlockwise", "ArrowLeft", 12)  # 60 degrees clockwise
    page.wait_for_function(
        "b => (document.querySelector('.st-key-draw-what-if-reading')?.innerText ?? b) !== b", arg=before, timeout=30_000
    )
    after = what_if_sentence(page)
    assert after != before
    rotate = what_if.locator("[data-testid='stSlider']").filter(has_text="Rotate anticlockwise")
    assert rotate.locator("[data-testid='stSliderThumbValue']").inner_text().strip() == "-60"

    saliency = open_part(page, "Where it looked", 2)
    assert saliency.locator("img").count() == 2
    look_alikes = open_part(page, "Look-alikes", 6)
    assert look_alikes.locator("img").count() == 6
    captions = look_alikes.inner_text()
    assert len(re.findall(r"test #\d+", captions)) == 6
    assert not page.locator("[data-testid='stException']").count()
    save_whole_page(page, "explain-desktop")  # with the seven turned 60 degrees clockwise

    what_if.get_by_role("button", name="Reset the sliders").click()
    page.wait_for_function(
        "b => (document.querySelector('.st-key-draw-what-if-reading')?.innerText ?? '') === b", arg=before, timeout=30_000
    )
    # The reading is drawn above the sliders, so the sliders' own reset lands a moment later.
    rotate.locator("[data-testid='stSliderThumbValue']").filter(has_text="0").wait_for(timeout=30_000)
    assert rotate.locator("[data-testid='stSliderThumbValue']").inner_text().strip() == "0"


@pytest.mark.browser
def test_explaining_on_a_phone(app_url, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        with witness("explain-phone-failed", phone=phone):
            draw_a_seven(phone, app_url, stroke=touch_stroke)
            for name, images in zip(PARTS, (4, 1, 2, 6), strict=True):
                open_part(phone, name, images)
            assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
            before = phone.locator(".st-key-draw-what-if-reading").inner_text()
            move_slider(phone, "Noise", "ArrowRight", 8)
            phone.wait_for_function(
                "b => (document.querySelector('.st-key-draw-what-if-reading')?.innerText ?? b) !== b", arg=before, timeout=30_000
            )
            reading = phone.locator(".st-key-draw-what-if-reading").bounding_box()
            assert 0 <= reading["y"] < 740  # the reading stays in view next to the bottom slider
            save_screenshot(phone, "explain-phone-noise")
            assert not phone.locator("[data-testid='stException']").count()
            save_whole_page(phone, "explain-phone")
    finally:
        context.close()


@pytest.mark.browser
def test_explaining_a_mistake(app_url, page):
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{app_url}/Mistakes")
    page.locator(".st-key-mistake-count").wait_for(timeout=120_000)
    wait_for_app_idle(page)
    first_tile = page.locator(".st-key-gallery [data-testid='stImageCaption']").first.inner_text()
    index, true_digit = re.search(r"#(\d+): (\d)", first_tile).groups()
    page.locator(f".st-key-inspect-{index} button").click()  # that very tile's button
    page.get_by_text("Why this answer?").wait_for(timeout=30_000)
    wait_for_app_idle(page)
    assert part(page, "The way in").count() == 0  # a test digit was never drawn
    saliency = open_part(page, "Where it looked", 2)
    assert f"for {true_digit} (" in saliency.inner_text()  # compared with the true digit at first
    look_alikes = open_part(page, "Look-alikes", 6)
    captions = re.findall(r"test #(\d+)", look_alikes.inner_text())
    assert len(captions) == 6 and index not in captions  # the digit itself is left out
    assert not page.locator("[data-testid='stException']").count()
    save_whole_page(page, "explain-mistake")
