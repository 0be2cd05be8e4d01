"""The Class page and the Draw page's "give it to the class set" panel (AppTest), and the whole
path in chromium: draw, give the label 7, see it counted; export round trip."""
import io
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_cnn.class_set import ClassSet
from mnist_cnn.data import load_test_set
from mnist_cnn.model import load_bundled_model
from mnist_cnn.predict import Predictor
from support.app_server import save_screenshot, wait_for_app_idle
from support.touch import mouse_stroke

PAGES = Path(__file__).resolve().parent.parent / "app_pages"
CLASS_PAGE = str(PAGES / "4_Class.py")
DRAW_PAGE = str(PAGES / "2_Draw.py")


@pytest.fixture
def class_db(tmp_path, monkeypatch):
    """The page's class set: a SQLite file named through the environment, as a deployment would."""
    url = f"sqlite:///{tmp_path / 'class.sqlite'}"
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", url)
    class_set = ClassSet(url)
    yield class_set
    class_set.dispose()


def fill(class_set, n, offset=0):
    images, labels = load_test_set()
    for i in range(offset, offset + n):
        class_set.add(images[i], int(labels[i]), int(labels[i]), 0.9, f"s{i % 3}")
    return images[offset : offset + n], labels[offset : offset + n]


def counts_text(app):
    return next(m.value for m in app.markdown if "in the class set" in m.value)


def test_empty_class_set_says_how_to_fill_it(class_db):
    app = AppTest.from_file(CLASS_PAGE, default_timeout=120).run()
    assert not app.exception
    assert counts_text(app).startswith("**0 digits** in the class set")
    assert "No digits yet" in app.info[0].value


def test_counts_accuracy_and_gallery_match_the_database(class_db):
    images, labels = fill(class_db, 30)
    # Two digits given with a label the network will not read: they must show as misread.
    class_db.add(images[0], (int(labels[0]) + 1) % 10, 0, 0.5, "s9")
    class_db.add(images[1], (int(labels[1]) + 1) % 10, 0, 0.5, "s9")
    all_labels = np.concatenate([labels, [(labels[0] + 1) % 10, (labels[1] + 1) % 10]])
    predictions = Predictor(load_bundled_model()).probabilities(np.concatenate([images, images[:2]])).argmax(axis=1)
    expected_correct = int((predictions == all_labels).sum())

    app = AppTest.from_file(CLASS_PAGE, default_timeout=120).run()
    assert not app.exception
    counts = np.bincount(all_labels, minlength=10)
    assert counts_text(app) == "**32 digits** in the class set · " + " · ".join(f"{d}: {c}" for d, c in enumerate(counts))
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Accuracy on our class set"] == f"{expected_correct / 32:.1%}"
    assert metrics["Our digits it misreads"] == f"{32 - expected_correct} of 32"
    assert metrics["Accuracy on MNIST's test set"] == "99.25%"
    deletes = [button for button in app.button if button.label == "Delete"]
    assert len(deletes) == 24  # one page of the gallery, each digit deletable while no passcode is set
    assert app.number_input[0].label == "Page (of 2)"


def test_teacher_deletes_a_digit_and_clears_the_set_after_confirming(class_db):
    fill(class_db, 5)
    app = AppTest.from_file(CLASS_PAGE, default_timeout=120).run()
    newest = int(class_db.digits().ids[-1])
    app.button(key=f"class_gallery_page-delete-{newest}").click().run()
    assert not app.exception
    assert newest not in class_db.digits().ids and len(class_db) == 4
    assert counts_text(app).startswith("**4 digits**")

    clear = next(button for button in app.button if button.label == "Clear the class set")
    assert clear.disabled  # not before the confirmation
    app.checkbox(key="confirm_clear").check().run()
    next(button for button in app.button if button.label == "Clear the class set").click().run()
    assert len(class_db) == 0
    assert "Deleted all 4 digits" in app.success[0].value
    assert counts_text(app).startswith("**0 digits**")


def test_a_database_that_cannot_be_reached_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", f"postgresql+psycopg://nobody@/class?host={tmp_path}")
    app = AppTest.from_file(CLASS_PAGE, default_timeout=120).run()
    assert not app.exception
    assert "cannot be reached" in app.error[0].value


# -- the Draw page's panel ------------------------------------------------------------------


@pytest.fixture
def draw_page_with_a_drawing():
    """Make the Draw page as AppTest runs it, its canvas handing over an image enlarged, white on black.

    The canvas module can only be imported inside a Streamlit run, so the script patches it there;
    the real ``st_canvas`` is put back afterwards for the tests that follow in this process.
    """

    def make(image):
        script = f"""
from types import SimpleNamespace

import numpy as np
import streamlit_drawable_canvas

_rgba = np.zeros((280, 280, 4), np.uint8)
_rgba[..., :3] = np.kron(np.array({np.asarray(image).tolist()}, np.uint8), np.ones((10, 10), np.uint8))[..., None]
_rgba[..., 3] = 255
streamlit_drawable_canvas.__dict__.setdefault("real_st_canvas", streamlit_drawable_canvas.st_canvas)
streamlit_drawable_canvas.st_canvas = lambda **kwargs: SimpleNamespace(image_data=_rgba, json_data={{"objects": [{{"type": "path"}}]}})
exec(compile(open({DRAW_PAGE!r}).read(), {DRAW_PAGE!r}, "exec"))
"""
        return AppTest.from_string(script, default_timeout=120)

    yield make
    canvas_module = sys.modules.get("streamlit_drawable_canvas")
    if canvas_module is not None and hasattr(canvas_module, "real_st_canvas"):
        canvas_module.st_canvas = canvas_module.real_st_canvas


def test_draw_page_gives_the_drawing_with_the_label_tapped(class_db, draw_page_with_a_drawing):
    images, labels = load_test_set()
    seven = images[int(np.flatnonzero(labels == 7)[0])]
    app = draw_page_with_a_drawing(seven).run()
    assert not app.exception
    app.button(key="give-7").click().run()
    assert not app.exception
    assert "your 7 is in the class set" in app.success[0].value
    digits = class_db.digits()
    assert list(digits.labels) == [7] and digits.predicted[0] == 7 and digits.confidences[0] > 0.5
    assert digits.images[0].shape == (28, 28) and digits.images[0].max() == 255
    # The same drawing again is not a second digit.
    app.button(key="give-7").click().run()
    assert "already in the class set" in app.info[-1].value
    assert len(class_db) == 1


def test_draw_page_buttons_are_off_while_nothing_is_drawn(class_db):
    app = AppTest.from_file(DRAW_PAGE, default_timeout=120).run()
    assert not app.exception
    assert all(app.button(key=f"give-{digit}").disabled for digit in range(10))


def test_prompt_asks_for_the_least_collected_digit(class_db):
    images, labels = load_test_set()
    for digit in range(10):
        if digit != 3:
            class_db.add(images[int(np.flatnonzero(labels == digit)[0])], digit, digit, 0.9, "s")
    app = AppTest.from_file(DRAW_PAGE, default_timeout=120).run()
    app.button(key="class-set-prompt").click().run()
    assert any("draw a **3**" in m.value for m in app.markdown)


def test_draw_keeps_working_when_the_database_is_down(tmp_path, monkeypatch, draw_page_with_a_drawing):
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", f"postgresql+psycopg://nobody@/class?host={tmp_path}")
    images, labels = load_test_set()
    app = draw_page_with_a_drawing(images[int(np.flatnonzero(labels == 2)[0])]).run()
    app.button(key="give-2").click().run()
    assert not app.exception
    assert "cannot be reached" in app.error[0].value and "Drawing still works" in app.error[0].value
    assert any('class="predicted-digit">2<' in m.value for m in app.markdown)  # the reading is still shown


# -- in chromium --------------------------------------------------------------------------


def class_count_of(page, digit):
    text = page.locator(".st-key-class-counts").inner_text()
    return int(text.split(f"{digit}: ")[1].split()[0])


@pytest.mark.browser
def test_draw_give_seven_see_it_counted_and_export_it(app_url, page, tmp_path):
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{app_url}/Class")
    page.locator(".st-key-class-counts").wait_for(timeout=120_000)
    wait_for_app_idle(page)
    sevens_before = class_count_of(page, 7)

    page.goto(f"{app_url}/Draw")
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=120_000)
    wait_for_app_idle(page)
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

    page.goto(f"{app_url}/Class")
    page.locator(".st-key-class-counts").wait_for(timeout=120_000)
    wait_for_app_idle(page)
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


@pytest.mark.browser
def test_class_page_on_a_phone(app_url, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        phone.goto(f"{app_url}/Draw")
        canvas = phone.locator("canvas.upper-canvas").first
        canvas.wait_for(timeout=120_000)
        wait_for_app_idle(phone)
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

        phone.goto(f"{app_url}/Class")
        phone.locator(".st-key-class-counts").wait_for(timeout=120_000)
        wait_for_app_idle(phone)
        assert class_count_of(phone, 0) >= 1
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
        save_screenshot(phone, "class-page-phone")
    finally:
        context.close()


def test_secrets_toml_moves_the_class_set(tmp_path):
    """``[connections.class_set] url`` in .streamlit/secrets.toml (as on Community Cloud) names the database."""
    url = f"sqlite:///{tmp_path / 'from-secrets.sqlite'}"
    fill(ClassSet(url), 3)
    app = AppTest.from_file(CLASS_PAGE, default_timeout=120)
    app.secrets["connections"] = {"class_set": {"url": url}}
    app.run()
    assert not app.exception
    assert counts_text(app).startswith("**3 digits**")
    assert any("from-secrets.sqlite" in caption.value for caption in app.caption)


def test_with_a_passcode_only_the_teacher_deletes_or_clears_class_digits(class_db, monkeypatch):
    from mnist_cnn.teacher import PASSCODE_ENVIRONMENT_VARIABLE, issue_token
    from support.cookie_jar import CookieJar
    from ui.identity import TEACHER_COOKIE

    monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, "orange kite 7")
    fill(class_db, 3)
    jar = CookieJar(monkeypatch)
    student = jar.start(AppTest.from_file(CLASS_PAGE, default_timeout=120))
    assert not student.exception
    assert not [b for b in student.button if b.label in ("Delete", "Clear the class set")]

    teacher = jar.start(AppTest.from_file(CLASS_PAGE, default_timeout=120), {TEACHER_COOKIE: issue_token("orange kite 7")})
    assert len([b for b in teacher.button if b.label == "Delete"]) == 3
    newest = int(class_db.digits().ids[-1])
    teacher.button(key=f"class_gallery_page-delete-{newest}").click().run()
    assert len(class_db) == 2
