"""The Class page and the Draw page's "give it to the class set" panel (AppTest). The whole path in
chromium (draw, give the label 7, see it counted; export round trip): tests/test_class_page_browser.py."""
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from classroom.class_set import ClassSet
from mnist_cnn.data import load_test_set
from mnist_cnn.evaluation import wilson_interval
from support.cookie_jar import CookieJar
from ui.identity import VISITOR_COOKIE, WRITTEN_KEY

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


def test_counts_accuracy_and_gallery_match_the_database(class_db, predictor):
    images, labels = fill(class_db, 30)
    # Two digits given with a label the network will not read: they must show as misread.
    class_db.add(images[0], (int(labels[0]) + 1) % 10, 0, 0.5, "s9")
    class_db.add(images[1], (int(labels[1]) + 1) % 10, 0, 0.5, "s9")
    all_labels = np.concatenate([labels, [(labels[0] + 1) % 10, (labels[1] + 1) % 10]])
    predictions = predictor.probabilities(np.concatenate([images, images[:2]])).argmax(axis=1)
    expected_correct = int((predictions == all_labels).sum())

    app = AppTest.from_file(CLASS_PAGE, default_timeout=120).run()
    assert not app.exception
    counts = np.bincount(all_labels, minlength=10)
    assert counts_text(app) == "**32 digits** in the class set · " + " · ".join(f"{d}: {c}" for d, c in enumerate(counts))
    metrics = {metric.label: metric for metric in app.metric}
    assert metrics["Accuracy on our class set"].value == f"{expected_correct / 32:.1%}"
    low, high = wilson_interval(expected_correct, 32)
    assert metrics["Accuracy on our class set"].proto.delta == f"95% interval {low:.0%} to {high:.0%}"  # never a bare percentage
    assert any(c.value.startswith(f"{expected_correct} of 32 digits read right · too few digits to judge") for c in app.caption)
    assert metrics["Our digits it misreads"].value == f"{32 - expected_correct} of 32"
    assert metrics["Accuracy on MNIST's test set"].value == "99.25%"
    selects = [box for box in app.checkbox if box.label == "Select"]
    assert len(selects) == 24  # one page of the gallery, each digit selectable while no passcode is set
    assert app.number_input(key="class_gallery_page").label == "Page (of 2)"


def delete_button(app, starts):
    return next(button for button in app.button if button.label.startswith(starts))


def test_teacher_deletes_a_selection_of_digits_in_one_action_and_undoes_it(class_db):
    fill(class_db, 5)
    app = AppTest.from_file(CLASS_PAGE, default_timeout=120).run()
    ids = [int(i) for i in class_db.digits().ids]
    assert delete_button(app, "Delete the 0 selected digits").disabled
    for digit_id in ids[-2:]:
        app.checkbox(key=f"class_gallery_page-select-{digit_id}").check()
    app.run()
    delete_button(app, "Delete the 2 selected digits").click().run()
    assert not app.exception
    assert class_db.digits().ids.tolist() == ids[:3]
    assert counts_text(app).startswith("**3 digits**")
    assert "Deleted 2 digits selected in the gallery" in app.success[0].value
    app.button(key="class-undo-button").click().run()
    assert "Undone: 2 digits back" in app.success[0].value
    assert class_db.digits().ids.tolist() == ids and counts_text(app).startswith("**5 digits**")
    assert not [box for box in app.checkbox if box.label == "Select" and box.value]  # the selection is not armed again


def test_teacher_sees_digits_by_student_and_deletes_a_students_digits_in_one_action(class_db):
    images, labels = load_test_set()
    fill(class_db, 4)  # s0 (2 digits), s1, s2
    for i in range(50):  # one phone's flood
        class_db.add(images[100 + i], 1 if i % 2 else 7, 1 if i % 2 else 7, 0.9, "flooding-phone-0123456789")
    app = AppTest.from_file(CLASS_PAGE, default_timeout=120).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["Student"]) == ["flooding", "s0", "s2", "s1"]  # short anonymous ids, latest first
    assert list(table["Digits"]) == [50, 2, 1, 1]
    assert table["Meant"][0] == "1×25 · 7×25"
    assert delete_button(app, "Delete the 0 digits of the selected students").disabled

    # Selecting the row (what st.dataframe's on_select sends) shows that student's digits only.
    app.session_state["class-students-0"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    app.run()
    assert any(header.value == "The 50 digits of the selected students" for header in app.subheader)
    delete_button(app, "Delete the 50 digits of the selected students").click().run()
    assert not app.exception
    assert len(class_db) == 4 and "flooding-phone-0123456789" not in class_db.digits().student_ids
    assert "Deleted 50 digits of 1 student" in app.success[0].value
    assert list(app.dataframe[0].value["Student"]) == ["s0", "s2", "s1"]
    assert not any("selected students" in header.value for header in app.subheader)  # the selection went with them
    app.button(key="class-undo-button").click().run()
    assert len(class_db) == 54


def test_teacher_sets_the_digits_each_student_may_give(class_db):
    fill(class_db, 1)
    app = AppTest.from_file(CLASS_PAGE, default_timeout=120).run()
    setting = app.number_input(key="class-digits-per-student")
    assert setting.value == 20
    setting.set_value(5).run()
    assert not app.exception
    assert class_db.digits_per_student() == 5
    assert AppTest.from_file(CLASS_PAGE, default_timeout=120).run().number_input(key="class-digits-per-student").value == 5


def test_teacher_clears_the_set_after_confirming_and_can_undo_it(class_db):
    fill(class_db, 4)
    app = AppTest.from_file(CLASS_PAGE, default_timeout=120).run()
    clear = next(button for button in app.button if button.label == "Clear the class set")
    assert clear.disabled  # not before the confirmation
    app.checkbox(key="confirm_clear").check().run()
    next(button for button in app.button if button.label == "Clear the class set").click().run()
    assert len(class_db) == 0
    assert "Deleted 4 digits (the whole class set)" in app.success[0].value
    assert counts_text(app).startswith("**0 digits**")
    app.button(key="class-undo-button").click().run()
    assert len(class_db) == 4 and counts_text(app).startswith("**4 digits**")


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
    assert "your 7 is in the class set (1 of your 20 this lesson)" in app.success[0].value
    digits = class_db.digits()
    assert list(digits.labels) == [7] and digits.predicted[0] == 7 and digits.confidences[0] > 0.5
    assert digits.images[0].shape == (28, 28) and digits.images[0].max() == 255
    assert digits.student_ids == [app.session_state[WRITTEN_KEY][VISITOR_COOKIE][0]]  # the browser's visitor id cookie
    # The same drawing again is not a second digit.
    app.button(key="give-7").click().run()
    assert "already in the class set" in app.info[-1].value
    assert len(class_db) == 1


def clear_digit(digit, predictor):
    """The first MNIST test image of ``digit`` that the network reads confidently as that digit."""
    images, labels = load_test_set()
    candidates = np.flatnonzero(labels == digit)[:20]
    probabilities = predictor.probabilities(images[candidates])
    return images[candidates[int(np.argmax(probabilities[:, digit]))]]


def drawing_read_as(verdict, predictor):
    """An MNIST test image that the Draw page, fed it through the canvas, reads as ``verdict``."""
    from mnist_cnn.reading import read_drawing

    images, _ = load_test_set()
    doubtful = np.argsort(predictor.probabilities(images[:3000]).max(axis=1))[:40]
    for i in doubtful:
        rgba = np.zeros((280, 280, 4), np.uint8)
        rgba[..., :3] = np.kron(images[i], np.ones((10, 10), np.uint8))[..., None]
        rgba[..., 3] = 255
        reading = read_drawing(rgba, predictor)
        if reading.verdict == verdict:
            return images[i], reading.guess
    pytest.fail(f"none of the 40 least confident test digits reads as {verdict!r}")


def test_a_not_a_digit_drawing_is_refused(class_db, draw_page_with_a_drawing):
    line = np.zeros((28, 28), np.uint8)
    line[14, 5:23] = 255  # one flat stroke: "not a digit" by its shape
    app = draw_page_with_a_drawing(line).run()
    assert not app.exception
    assert any("verdict-not-a-digit" in m.value for m in app.markdown)
    assert "does not see a digit" in app.warning[0].value
    assert all(app.button(key=f"give-{digit}").disabled for digit in range(10))
    assert len(class_db) == 0


def test_an_unsure_drawing_goes_in_only_after_the_student_confirms(class_db, draw_page_with_a_drawing, predictor):
    image, guess = drawing_read_as("unsure", predictor)
    app = draw_page_with_a_drawing(image).run()
    app.button(key=f"give-{guess}").click().run()
    assert not app.exception
    assert len(class_db) == 0
    (question,) = [m.value for m in app.markdown if "not sure this is a digit" in m.value]
    assert f"Give it as {guess} only if you drew a clear {guess}" in question
    app.button(key="class-confirm-yes").click().run()
    assert not app.exception
    assert f"your {guess} is in the class set" in app.success[0].value
    assert list(class_db.digits().labels) == [guess]
    assert not [m for m in app.markdown if "not sure this is a digit" in m.value]  # asked once


def test_prompt_never_picks_the_label_and_another_label_is_asked_about_once(class_db, draw_page_with_a_drawing, predictor):
    """The lesson's bug: the prompt painted 3 solid blue while a clear 4 was drawn, and tapping it gave
    a 4 labelled 3 without a question."""
    images, labels = load_test_set()
    for digit in range(10):
        if digit != 3:
            class_db.add(images[int(np.flatnonzero(labels == digit)[0])], digit, digit, 0.9, "s")
    app = draw_page_with_a_drawing(clear_digit(4, predictor)).run()
    app.button(key="class-set-prompt").click().run()
    assert any("draw a **3** next" in m.value for m in app.markdown)
    assert {app.button(key=f"give-{digit}").proto.type for digit in range(10)} == {"secondary"}  # none stands out
    app.button(key="give-3").click().run()
    assert not app.exception
    assert any(m.value == "**The network reads 4: give it as 3?**" for m in app.markdown)
    assert len(class_db) == 9  # nothing given yet
    app.button(key="class-confirm-no").click().run()
    assert not [m for m in app.markdown if "give it as 3?" in m.value] and len(class_db) == 9
    app.button(key="give-3").click().run()
    app.button(key="class-confirm-yes").click().run()
    assert "your 3 is in the class set" in app.success[0].value
    assert class_db.digits().labels[-1] == 3 and class_db.digits().predicted[-1] == 4
    app.button(key="give-4").click().run()  # the same drawing again: already given, no second question
    assert "already in the class set" in app.info[-1].value and len(class_db) == 10


def test_the_per_student_limit_holds_across_reloads(class_db, draw_page_with_a_drawing, monkeypatch, predictor):
    """A reload is a new session with the same visitor cookie: the database's count still applies."""
    import time

    jar = CookieJar(monkeypatch)
    class_db.set_digits_per_student(2)
    seven, one = clear_digit(7, predictor), clear_digit(1, predictor)
    first_visit = jar.start(draw_page_with_a_drawing(seven))
    first_visit.button(key="give-7").click().run()
    assert "1 of your 2 this lesson" in first_visit.success[0].value
    student = first_visit.session_state[WRITTEN_KEY][VISITOR_COOKIE][0]  # the cookie a reload sends back
    class_db.add(one, 1, 1, 0.9, student)  # the student's second digit
    time.sleep(1.1)  # past the one-digit-a-second pause, which would answer first

    reloaded = draw_page_with_a_drawing(seven)  # the same drawing: a fresh session would take it, were it not for the id
    jar.start(reloaded, {VISITOR_COOKIE: student})
    reloaded.button(key="give-7").click().run()
    assert not reloaded.exception
    assert "You have given 2 digits this lesson" in reloaded.warning[0].value
    assert len(class_db) == 2

    another_student = jar.start(draw_page_with_a_drawing(seven))
    another_student.button(key="give-7").click().run()
    assert "1 of your 2 this lesson" in another_student.success[0].value
    assert len(class_db) == 3


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
    assert {app.button(key=f"give-{digit}").proto.type for digit in range(10)} == {"secondary"}


def test_draw_keeps_working_when_the_database_is_down(tmp_path, monkeypatch, draw_page_with_a_drawing):
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", f"postgresql+psycopg://nobody@/class?host={tmp_path}")
    images, labels = load_test_set()
    app = draw_page_with_a_drawing(images[int(np.flatnonzero(labels == 2)[0])]).run()
    app.button(key="give-2").click().run()
    assert not app.exception
    assert "cannot be reached" in app.error[0].value and "Drawing still works" in app.error[0].value
    assert any('class="predicted-digit">2<' in m.value for m in app.markdown)  # the reading is still shown


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
    from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE, issue_token
    from ui.identity import TEACHER_COOKIE

    monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, "orange kite 7")
    fill(class_db, 3)
    jar = CookieJar(monkeypatch)
    student = jar.start(AppTest.from_file(CLASS_PAGE, default_timeout=120))
    assert not student.exception
    assert not [b for b in student.button if b.label.startswith("Delete") or b.label == "Clear the class set"]
    assert not [box for box in student.checkbox if box.label == "Select"] and not student.dataframe
    assert not [n for n in student.number_input if n.key == "class-digits-per-student"]

    teacher = jar.start(AppTest.from_file(CLASS_PAGE, default_timeout=120), {TEACHER_COOKIE: issue_token("orange kite 7")})
    assert len([box for box in teacher.checkbox if box.label == "Select"]) == 3
    newest = int(class_db.digits().ids[-1])
    teacher.checkbox(key=f"class_gallery_page-select-{newest}").check().run()
    delete_button(teacher, "Delete the 1 selected digit").click().run()
    assert len(class_db) == 2
