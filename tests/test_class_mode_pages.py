"""Class mode on the pages (AppTest): with a passcode only the teacher controls runs; the class model."""
import dataclasses
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from classroom.class_set import ClassSet
from classroom.run_manager import get_run_manager
from classroom.run_store import RunStore
from classroom.runs import read_saved_run
from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE
from mnist_cnn.paths import BUNDLED_MODEL_PATH, BUNDLED_RUN_DIR, runs_dir
from mnist_cnn.run_folder import RunState
from support.cookie_jar import CookieJar
from ui.teacher import PASSCODE_KEY, passcode_guard, revocations

PAGES = Path(__file__).resolve().parent.parent / "app_pages"
TRAIN, DRAW, MISTAKES = (str(PAGES / name) for name in ("1_Train.py", "2_Draw.py", "3_Mistakes.py"))
PASSCODE = "orange kite 7"
ONLY_THE_TEACHER = "Only the teacher starts and stops runs in this class"
RUN_NAME = "20260101-000000-tutorial-class"
RUN_TITLE = dataclasses.replace(read_saved_run(BUNDLED_RUN_DIR), name=RUN_NAME).title()  # the pages' name for it
RUN_IN_WORDS = f"run “{RUN_TITLE}”"


pytestmark = pytest.mark.usefixtures("cookie_jar")  # AppTest sessions carry cookies to a reload (tests/conftest.py)


def open_page(path, cookies=None, session_state=None):
    app = AppTest.from_file(path, default_timeout=120)
    for key, value in (session_state or {}).items():
        app.session_state[key] = value
    CookieJar.active.start(app, cookies)
    assert not app.exception, app.exception
    return app


def button(app, label):
    return next((b for b in app.button if b.label == label), None)


def unlock(app, passcode=PASSCODE):
    app.text_input(key=PASSCODE_KEY).input(passcode)
    return button(app, "Unlock").click().run()


def captions(app):
    return " ".join(caption.value for caption in app.caption)


def wait_for_training(manager):
    deadline = time.monotonic() + 60
    while manager.snapshot().state != RunState.TRAINING and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def passcode_set(monkeypatch):
    monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, PASSCODE)
    passcode_guard.clear()
    revocations.clear()
    yield
    passcode_guard.clear()
    revocations.clear()


def test_with_a_passcode_only_the_teacher_starts_and_stops_and_keeps_control_after_a_reload(passcode_set, mnist_npz_path):
    student = open_page(TRAIN)
    assert button(student, "Start training").disabled
    assert ONLY_THE_TEACHER in captions(student)

    teacher = unlock(open_page(TRAIN))
    assert not button(teacher, "Start training").disabled
    teacher.number_input[0].set_value(30)
    next(s for s in teacher.slider if s.label.startswith("Training images")).set_value(1000)
    button(teacher, "Start training").click().run()
    manager = get_run_manager()
    try:
        wait_for_training(manager)
        assert button(teacher, "Stop training") is not None
        reloaded = open_page(TRAIN, CookieJar.active.browser_cookies(teacher))  # a reload: a new session, the same cookies
        assert button(reloaded, "Stop training") is not None

        student.run()
        assert button(student, "Stop training") is None
        run_dir = manager.snapshot().run_dir
        crafted = button(student, "Start training")
        crafted.proto.disabled = False  # a crafted client that sends a click on the disabled button
        crafted.click().run()
        assert not student.exception and not student.error
        assert manager.snapshot().run_dir == run_dir and manager.snapshot().state == RunState.TRAINING

        button(reloaded, "Stop training").click().run()
        manager.wait(60)
        assert manager.snapshot().state == RunState.STOPPED
    finally:
        manager.stop()
        manager.wait(60)


def test_wrong_passcodes_on_the_train_page_are_slowed_down_with_a_message(passcode_set):
    app = open_page(TRAIN)
    for _ in range(3):
        unlock(app, "guess")
    assert app.error[0].value == "Wrong passcode. Too many wrong passcodes from here: wait 2 s before trying again."
    assert button(app, "Start training").disabled


@pytest.fixture
def saved_run():
    run_dir = runs_dir() / RUN_NAME
    shutil.copytree(BUNDLED_RUN_DIR, run_dir)
    return run_dir


def choose_class_model(run_name):
    """What the Train page's "Make this the class model" does, from outside the server (a second server)."""
    database = ClassSet()
    RunStore(database, runs_dir()).set_class_model_name(run_name)
    database.dispose()


def test_a_fresh_visitor_uses_the_class_model_on_draw_and_mistakes(passcode_set, saved_run):
    choose_class_model(saved_run.name)  # as the Train page's button does; a fresh session reads it
    draw = open_page(DRAW)
    assert f"Read by {RUN_IN_WORDS} (the class model chosen by the teacher)." in captions(draw)
    mistakes = open_page(MISTAKES)
    assert f"as seen by {RUN_IN_WORDS} (the class model chosen by the teacher)." in captions(mistakes)
    train = open_page(TRAIN)
    assert f"Class model: {RUN_IN_WORDS} (the class model chosen by the teacher)" in captions(train)
    assert train.dataframe[0].value["class model"].tolist() == ["", "✓"]


def test_the_visitors_own_choice_beats_the_class_model(saved_run):
    choose_class_model(saved_run.name)
    draw = open_page(DRAW, session_state={"active_model_path": str(BUNDLED_MODEL_PATH)})
    assert "Read by the bundled tutorial model (your own choice)." in captions(draw)
    no_passcode = open_page(DRAW)
    assert f"Read by {RUN_IN_WORDS} (the class model)." in captions(no_passcode)


@pytest.mark.parametrize(
    ("break_it", "note"),
    [
        (lambda run: shutil.rmtree(run), f"the class model, run {RUN_NAME}, was deleted"),
        (lambda run: (run / "model.keras").write_bytes(b"not a model"), f"the class model, {RUN_IN_WORDS}, cannot be loaded"),
        (lambda run: choose_class_model("../elsewhere"), "the class model setting names no run folder"),
    ],
    ids=["deleted", "corrupt", "tampered-setting"],
)
def test_a_class_model_that_cannot_be_used_falls_back_to_the_bundled_model_with_a_note(saved_run, break_it, note):
    choose_class_model(saved_run.name)
    break_it(saved_run)
    draw = open_page(DRAW)
    assert "Read by the bundled tutorial model (" in captions(draw) and note in captions(draw)
    assert "so the bundled one is used" in captions(draw)
    train = open_page(TRAIN)
    assert "No class model can be used" in captions(train) or note in captions(train)
