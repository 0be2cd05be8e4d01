"""The Class page and the Draw page's "give it to the class set" panel in chromium: draw, give the
label 7, see it counted; export round trip; phones; the teacher's per-student view.

(The same pages through AppTest: tests/test_class_page.py. A file of its own so that pytest-xdist's
``--dist loadfile`` can run the two halves on different workers.)"""
import io
import math
import uuid

import numpy as np
import pytest

from classroom.class_set import ClassSet
from mnist_cnn.data import load_test_set
from support.app_server import open_draw_page, save_screenshot, select_saved_run, wait_for_app_idle
from support.touch import PHONE, mouse_stroke, touch_stroke
from ui.identity import VISITOR_COOKIE

pytestmark = pytest.mark.browser


def class_count_of(page, digit):
    text = page.locator(".st-key-class-counts").inner_text()
    return int(text.split(f"{digit}: ")[1].split()[0])


def open_by_the_menu(page, name, proof, menu="header"):
    """Go to the page ``name`` through the app's navigation (``menu``: the top bar, or the phone's row of
    links), as a visitor does: the page script runs in the same browser tab, no new load of Streamlit's
    JavaScript as with ``page.goto``. Waits for ``proof`` (a selector) and the end of the run; returns it."""
    page.locator(menu).get_by_role("link", name=name, exact=True).click()
    page.wait_for_url(f"**/{name}", timeout=30_000)
    shown = page.locator(proof).first
    shown.wait_for(timeout=120_000)
    wait_for_app_idle(page)
    return shown


def test_draw_give_seven_see_it_counted_and_export_it(app_url, page, tmp_path):
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{app_url}/Class")
    page.locator(".st-key-class-counts").wait_for(timeout=120_000)
    wait_for_app_idle(page)
    sevens_before = class_count_of(page, 7)

    canvas = open_by_the_menu(page, "Draw", "canvas.upper-canvas")
    box = canvas.bounding_box()
    mouse_stroke(page, box, [(70, 60), (210, 60), (150, 150), (110, 240)])  # a 7: top bar, then down
    page.wait_for_selector(".st-key-prediction .predicted-digit", timeout=30_000)
    give_seven = page.locator(".st-key-class-digit-buttons button").nth(7)
    page.wait_for_function(
        "() => !document.querySelectorAll('.st-key-class-digit-buttons button')[7].disabled", timeout=30_000
    )
    give_seven.click()
    page.get_by_text("your 7 is in the class set").wait_for(timeout=30_000)
    save_screenshot(page, "class-draw-given")

    open_by_the_menu(page, "Class", ".st-key-class-counts")
    assert class_count_of(page, 7) == sevens_before + 1
    save_screenshot(page, "class-page-1920")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download class_digits.npz").click()
    download = download_info.value
    assert download.suggested_filename == "class_digits.npz"
    path = tmp_path / "class_digits.npz"
    download.save_as(path)
    exported = np.load(io.BytesIO(path.read_bytes()))
    assert exported["x"].dtype == np.uint8 and exported["y"].dtype == np.uint8
    assert exported["x"].shape == (len(exported["y"]), 28, 28)
    assert int((exported["y"] == 7).sum()) == sevens_before + 1
    assert exported["x"][-1].max() == 255  # the newest digit is the drawing, MNIST-style: white on black


def test_class_page_on_a_phone(app_url, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        canvas = open_draw_page(phone, app_url)
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        client = phone.context.new_cdp_session(phone)
        points = [(140 + 50 * math.sin(2 * math.pi * k / 30), 140 - 80 * math.cos(2 * math.pi * k / 30)) for k in range(32)]
        for kind, (x, y) in [("touchStart", points[0]), *[("touchMove", p) for p in points[1:]]]:
            client.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": box["x"] + x, "y": box["y"] + y}]})
        client.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        phone.wait_for_selector(".st-key-prediction .predicted-digit", timeout=30_000)
        buttons = phone.locator(".st-key-class-digit-buttons button")
        phone.wait_for_function("() => !document.querySelectorAll('.st-key-class-digit-buttons button')[0].disabled", timeout=30_000)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
        first, last = buttons.nth(0).bounding_box(), buttons.nth(9).bounding_box()
        assert first["height"] >= 44 and first["width"] >= 44  # large enough for a finger
        assert last["x"] + last["width"] <= 360
        buttons.nth(0).tap()
        phone.get_by_text("your 0 is in the class set").wait_for(timeout=30_000)
        save_screenshot(phone, "class-draw-phone")

        open_by_the_menu(phone, "Class", ".st-key-class-counts", menu=".st-key-phone-navigation")
        assert class_count_of(phone, 0) >= 1
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
        save_screenshot(phone, "class-page-phone")
    finally:
        context.close()



def smiley_strokes():
    """A face as a phone user draws it, in canvas pixels: outline, two eyes, a wide smile."""

    def arc(cx, cy, rx, ry, start, end, n):
        angles = [math.radians(start + (end - start) * k / n) for k in range(n + 1)]
        return [(cx + rx * math.cos(angle), cy + ry * math.sin(angle)) for angle in angles]

    return [arc(140, 140, 110, 110, -90, 270, 48), [(100, 100), (100, 118)], [(180, 100), (180, 118)], arc(140, 140, 80, 75, 15, 165, 24)]


def test_a_smiley_on_a_phone_does_not_go_into_the_class_set_unasked(app_url, browser, app_data_dir):
    """The lesson's smiley, drawn by touch and given as 4: refused, or held until the student confirms."""
    context = browser.new_context(**PHONE)
    phone = context.new_page()
    try:
        canvas = open_draw_page(phone, app_url)
        box = canvas.bounding_box()
        for stroke in smiley_strokes():
            touch_stroke(phone, box, stroke)
            phone.wait_for_timeout(300)
        phone.wait_for_selector(".st-key-prediction .verdict:not(.verdict-blank)", timeout=30_000)
        wait_for_app_idle(phone)
        save_screenshot(phone, "class-set-smiley-phone-drawn")
        student = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == VISITOR_COOKIE)
        give_four = phone.locator(".st-key-class-digit-buttons button").nth(4)
        verdict = phone.locator(".st-key-prediction .verdict").get_attribute("class")
        if "verdict-not-a-digit" in verdict:
            assert give_four.is_disabled()
            phone.get_by_text("does not see a digit").wait_for(timeout=30_000)
        else:
            give_four.tap()
            phone.locator(".st-key-class-confirm").wait_for(timeout=30_000)  # "not sure" or "reads 0: give it as 4?"
            assert "give it as 4" in phone.locator(".st-key-class-confirm").inner_text().lower()
        wait_for_app_idle(phone)
        phone.locator(".st-key-give-to-class").scroll_into_view_if_needed()
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
        save_screenshot(phone, "class-set-smiley-phone")
        class_set = ClassSet(f"sqlite:///{app_data_dir / 'class_set.sqlite'}")
        assert student not in class_set.digits().student_ids  # nothing went in
        class_set.dispose()

        # A drawing read as "not a digit" (today: a flat stroke) is refused outright, the buttons off.
        phone.locator(".st-key-canvas-buttons").get_by_role("button", name="Clear").tap()
        phone.wait_for_selector(".st-key-prediction .verdict-blank", timeout=30_000)
        touch_stroke(phone, canvas.bounding_box(), [(40 + 10 * k, 150) for k in range(21)])
        phone.wait_for_selector(".st-key-prediction .verdict-not-a-digit", timeout=30_000)
        phone.get_by_text("does not see a digit").wait_for(timeout=30_000)
        assert phone.locator(".st-key-class-digit-buttons button").nth(4).is_disabled()
        phone.locator(".st-key-give-to-class").scroll_into_view_if_needed()
        save_screenshot(phone, "class-set-not-a-digit-phone")
    finally:
        context.close()


def test_teachers_per_student_view_on_a_phone_and_a_laptop(app_url, browser, app_data_dir):
    class_set = ClassSet(f"sqlite:///{app_data_dir / 'class_set.sqlite'}")
    images, labels = load_test_set()
    flood = f"{uuid.uuid4().hex}"
    for i in range(20):  # one phone gave its whole allowance of ones and sevens
        digit = 1 if i % 2 else 7
        class_set.add(images[np.flatnonzero(labels == digit)[i]], digit, digit, 0.9, flood)
    for k in range(3):  # three careful students
        student = uuid.uuid4().hex
        for i in range(300 + 10 * k, 304 + 12 * k):
            class_set.add(images[i], int(labels[i]), int(labels[i]), 0.9, student)
    class_set.dispose()
    for name, options in (("laptop", {"viewport": {"width": 1920, "height": 1080}}), ("phone", PHONE)):
        context = browser.new_context(**options)
        page = context.new_page()
        try:
            page.goto(f"{app_url}/Class")
            students = page.locator("[data-testid='stDataFrame']").first
            students.wait_for(timeout=120_000)
            wait_for_app_idle(page)
            row = students.locator("[role='row']", has_text=flood[:8])  # the grid's accessible rows
            row.wait_for(state="attached", timeout=30_000)
            assert "1×10 · 7×10" in row.text_content()
            assert page.locator(".st-key-class-digits-per-student input").input_value() == "20"
            assert page.evaluate("() => document.documentElement.scrollWidth") <= options["viewport"]["width"]
            accuracy = page.locator("[data-testid='stMetric']").first
            assert "95% interval" in accuracy.inner_text()
            save_screenshot(page, f"class-set-accuracy-{name}")
            delete_students = page.get_by_role("button", name="Delete the 0 digits of the selected students")
            assert delete_students.is_disabled()
            page.get_by_text("Digits by student").scroll_into_view_if_needed()
            save_screenshot(page, f"class-set-students-{name}")

            select_saved_run(page, flood[:8])  # ticks the student's row in the grid
            delete_flood = page.get_by_role("button", name="Delete the 20 digits of the selected students")
            delete_flood.wait_for(timeout=30_000)
            page.get_by_text("The 20 digits of the selected students", exact=True).wait_for(timeout=30_000)
            wait_for_app_idle(page)
            (page.get_by_text("Digits by student") if name == "laptop" else delete_flood).scroll_into_view_if_needed()
            save_screenshot(page, f"class-set-students-{name}-selected")
            delete_flood.click()
            page.get_by_text("Deleted 20 digits of 1 student").wait_for(timeout=30_000)
            wait_for_app_idle(page)
            assert students.locator("[role='row']", has_text=flood[:8]).count() == 0
            undo = page.get_by_role("button", name="Undo")
            assert undo.is_visible() and 0 <= undo.bounding_box()["y"] < options["viewport"]["height"]  # beside the tapped button
            save_screenshot(page, f"class-set-students-{name}-deleted")
            undo.click()
            page.get_by_text("Undone: 20 digits back in the class set").wait_for(timeout=30_000)
            wait_for_app_idle(page)
        finally:
            context.close()
