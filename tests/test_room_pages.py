"""Class rooms on the pages (AppTest): "Start a class" and "Join a class" on the home page, joining by the
join card's link, the room's line, a room that ends, the shared training queue and the open studio's rule.
The cross-room attacks are tests/test_room_security.py."""
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from classroom.class_set import DEFAULT_ROOM, LIVE_RUN, ClassSet
from classroom.jobs import _Waiting
from classroom.live_board import LiveBoard
from classroom.room_runs import room_live_board
from classroom.rooms import Rooms, visitor_digest
from classroom.run_manager import RunSnapshot, get_run_manager
from classroom.run_store import room_runs_dir
from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE, issue_token
from mnist_cnn.data import load_test_set
from mnist_cnn.paths import runs_dir
from mnist_cnn.run_folder import RunState
from mnist_cnn.training import TrainingConfig
from support.cookie_jar import CookieJar
from ui.identity import ROOM_COOKIE, ROOM_TEACHER_COOKIE, TAUGHT_COOKIE, TEACHER_COOKIE, VISITOR_COOKIE
from ui.rooms import JOIN_KEY
from ui.run_store import _in_process_jobs
from ui.teacher import passcode_guard, revocations

PROJECT = Path(__file__).resolve().parent.parent
HOME, TRAIN, CLASS = (str(PROJECT / "app.py"), str(PROJECT / "app_pages" / "1_Train.py"),
                      str(PROJECT / "app_pages" / "4_Class.py"))
PUBLIC_URL = "https://studio.school.example"
ALICE, BOB = "a" * 32, "b" * 32  # two browsers' visitor ids (their cookie)
ALICES_RUN, BOBS_RUN = "20260102-000000-tutorial-alice", "20260101-000000-tutorial-bob"

pytestmark = pytest.mark.usefixtures("cookie_jar")


@pytest.fixture(autouse=True)
def app_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", url)
    monkeypatch.setenv("MNIST_CNN_PUBLIC_URL", PUBLIC_URL)
    database = ClassSet(url)
    yield database
    database.dispose()


def open_page(path, cookies=None, query_params=None):
    app = AppTest.from_file(path, default_timeout=120)
    app.query_params.update(query_params or {})
    CookieJar.active.start(app, cookies)
    assert not app.exception, app.exception
    return app


def button(app, label):
    return next((b for b in app.button if b.label == label), None)


def texts(app):
    return " ".join(element.value for kind in (app.markdown, app.success, app.info, app.error, app.warning, app.caption)
                    for element in kind if isinstance(element.value, str))


def cookies_of(app):
    return CookieJar.active.browser_cookies(app)


def start_a_class():
    teacher = open_page(HOME)
    button(teacher, "Start a class").click().run()
    assert not teacher.exception and not teacher.error
    return teacher, cookies_of(teacher)[ROOM_COOKIE]


def test_start_a_class_makes_this_browser_the_teacher_of_a_new_room_with_a_join_card(app_database):
    teacher, code = start_a_class()
    cookies = cookies_of(teacher)
    assert cookies[ROOM_TEACHER_COOKIE].startswith(f"{code}.")
    assert Rooms(app_database).find(code) is not None
    shown = texts(teacher)
    assert f"Class {code} started" in shown and f"Class **{code}** · you teach it" in shown
    assert f"?room={code}" in shown and "and type the class code" in shown  # the QR code's link joins the room
    assert button(teacher, "Start a class") is None and button(teacher, "Join") is None  # in a class now

    train = open_page(TRAIN, cookies)  # another page, a new session: still the teacher
    assert f"Teacher of class {code}" in texts(train) and not button(train, "Start training").disabled


def test_a_student_joins_by_typing_the_code_any_way_a_phone_types_it_and_stays_after_a_reload():
    _, code = start_a_class()
    student = open_page(HOME)
    student.text_input(key=JOIN_KEY).input(f" {code[:3].lower()}-{code[3:].lower()} ")
    button(student, "Join").click().run()
    assert f"You joined class {code}." in texts(student)
    cookies = cookies_of(student)
    assert cookies[ROOM_COOKIE] == code and ROOM_TEACHER_COOKIE not in cookies

    train = open_page(TRAIN, cookies)  # a reload on another page
    assert f"Class **{code}** · you are a student" in texts(open_page(HOME, cookies))
    assert button(train, "Start training").disabled and "Teacher of class" not in texts(train)


@pytest.mark.parametrize(("typed", "said"), [
    ("", "Type the class code first"),
    ("KX7", "not 6"),
    ("BOOKS1", "Class codes have no"),
    ("CDFHJK", "No class with the code CDFHJK is open"),
])
def test_a_wrong_code_gets_a_sentence_and_joins_nothing(typed, said):
    start_a_class()
    student = open_page(HOME)
    student.text_input(key=JOIN_KEY).input(typed)
    button(student, "Join").click().run()
    assert not student.exception and said in " ".join(error.value for error in student.error)
    assert ROOM_COOKIE not in cookies_of(student)


def test_the_join_card_s_link_joins_and_leaves_the_address_and_leave_goes_back_to_the_open_studio():
    _, code = start_a_class()
    student = open_page(HOME, query_params={"room": code.lower()})
    assert cookies_of(student)[ROOM_COOKIE] == code and "room" not in student.query_params
    button(student, "Leave").click().run()
    assert ROOM_COOKIE not in cookies_of(student) and button(student, "Join") is not None

    stranger = open_page(HOME, query_params={"room": "CDFHJK"})
    assert "No class with the code CDFHJK is open" in " ".join(error.value for error in stranger.error)


def test_when_the_teacher_ends_the_class_students_are_told_and_back_in_the_open_studio(app_database):
    teacher, code = start_a_class()
    student = open_page(HOME, query_params={"room": code})
    train = open_page(TRAIN, cookies_of(teacher))
    button(train, "End the class now").click().run()
    assert ROOM_COOKIE not in cookies_of(train) and ROOM_TEACHER_COOKIE not in cookies_of(train)
    assert Rooms(app_database).find(code) is None

    time.sleep(2.1)  # a server trusts its copy of a room for two seconds
    reloaded = open_page(HOME, cookies_of(student))
    assert f"Class {code} has ended" in texts(reloaded) and ROOM_COOKIE not in cookies_of(reloaded)


def set_small_run(app, epochs):
    next(n for n in app.number_input if n.label == "Epochs").set_value(epochs)
    next(s for s in app.slider if s.label.startswith("Training images")).set_value(1000)


def wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def test_a_second_room_s_run_waits_for_the_first_and_says_so_and_its_teacher_can_cancel_it(mnist_npz_path):
    first_teacher, first = start_a_class()
    second_teacher, second = start_a_class()
    first_train = open_page(TRAIN, cookies_of(first_teacher))
    set_small_run(first_train, 30)
    button(first_train, "Start training").click().run()
    first_manager = get_run_manager(room_runs_dir(runs_dir(), first))
    try:
        assert wait_for(lambda: first_manager.snapshot().state == RunState.TRAINING)
        second_train = open_page(TRAIN, cookies_of(second_teacher))
        assert "Idle: no run is training" in texts(second_train)  # the other room's run is not this room's live run
        set_small_run(second_train, 1)
        button(second_train, "Start training").click().run()
        assert "Queued: your run starts after 1 other run" in texts(second_train)
        assert button(second_train, "Start training").disabled
        button(second_train, "Cancel the waiting run").click().run()
        assert "Queued" not in texts(second_train) and not button(second_train, "Start training").disabled

        button(second_train, "Start training").click().run()  # queued again; starts when the first room's run ends
        first_manager.stop()
        second_manager = get_run_manager(room_runs_dir(runs_dir(), second))
        assert wait_for(lambda: second_manager.snapshot().run_dir is not None)
        second_manager.wait(60)
        assert second_manager.snapshot().state == RunState.FINISHED
        assert first_manager.snapshot().run_dir.parent != second_manager.snapshot().run_dir.parent  # each room's folder
    finally:
        first_manager.stop()


def test_the_open_studio_trains_short_runs_and_a_class_s_run_stops_a_visitor_s(mnist_npz_path):
    visitor = open_page(TRAIN)
    assert "Outside a class anyone here may train" in texts(visitor)
    assert next(n for n in visitor.number_input if n.label == "Epochs").value == 3  # the one-minute demo first
    next(n for n in visitor.number_input if n.label == "Epochs").set_value(30)
    next(s for s in visitor.slider if s.label.startswith("Training images")).set_value(60_000)
    button(visitor, "Start training").click().run()
    assert "at most 120,000 images" in " ".join(error.value for error in visitor.error)

    set_small_run(visitor, 30)
    button(visitor, "Start training").click().run()
    studio = get_run_manager(room_runs_dir(runs_dir(), DEFAULT_ROOM))
    try:
        assert wait_for(lambda: studio.snapshot().state == RunState.TRAINING)
        teacher, code = start_a_class()
        train = open_page(TRAIN, cookies_of(teacher))
        set_small_run(train, 1)
        button(train, "Start training").click().run()
        assert wait_for(lambda: studio.snapshot().state == RunState.STOPPED)  # the class goes first
        room_manager = get_run_manager(room_runs_dir(runs_dir(), code))
        assert wait_for(lambda: room_manager.snapshot().run_dir is not None)
        room_manager.wait(60)
        assert room_manager.snapshot().state == RunState.FINISHED
    finally:
        studio.stop()


def publish_live_run(database, room, starter, run_name=ALICES_RUN):
    """A run of ``room`` that the browser with visitor id ``starter`` started, training on another server (its
    publishes keep coming: dated an hour ahead)."""
    board = LiveBoard(database, room, server_id="another-server", clock=lambda: time.time() + 3600)
    assert board.claim(run_name)
    board.publish(run_name, RunSnapshot(state=RunState.TRAINING, config=TrainingConfig(), starter=visitor_digest(starter)))
    room_live_board(database, room)._read_at = float("-inf")  # this server reads the row again now


def stop_asked(database, room):
    with database.transaction() as connection:
        return bool(connection.execute(sa.select(LIVE_RUN.c.stop_requested).where(LIVE_RUN.c.room == room)).scalar())


def test_in_the_open_studio_only_the_browser_that_started_a_run_stops_it(app_database):
    publish_live_run(app_database, DEFAULT_ROOM, ALICE)
    other = open_page(TRAIN, {VISITOR_COOKIE: BOB})
    assert "Training epoch 1" in texts(other) and button(other, "Stop training") is None  # Bob watches
    assert button(other, "Start training").disabled

    starter = open_page(TRAIN, {VISITOR_COOKIE: ALICE})  # Alice's browser, reloaded or in another tab
    button(starter, "Stop training").click().run()
    assert stop_asked(app_database, DEFAULT_ROOM)


def test_a_stale_stop_button_does_not_stop_another_visitor_s_run(app_database):
    publish_live_run(app_database, DEFAULT_ROOM, BOB, run_name=BOBS_RUN)
    bob = open_page(TRAIN, {VISITOR_COOKIE: BOB})
    stale_stop = button(bob, "Stop training")
    publish_live_run(app_database, DEFAULT_ROOM, ALICE)  # Bob's run ended and Alice's started before Bob's page redrew
    stale_stop.click().run()
    assert not stop_asked(app_database, DEFAULT_ROOM)
    assert "Only the visitor who started this run can stop it" in texts(bob) and button(bob, "Stop training") is None


def test_in_the_open_studio_a_visitor_sees_and_cancels_only_their_own_waiting_run(app_database):
    jobs = _in_process_jobs(str(app_database.url), app_database)  # the page's queue; no run trains here
    with jobs._lock:
        for visitor in (ALICE, BOB):
            jobs._queue.append(_Waiting(0, next(jobs._order), DEFAULT_ROOM, TrainingConfig(), None, visitor_digest(visitor)))
    alice = open_page(TRAIN, {VISITOR_COOKIE: ALICE})
    assert "Queued: your run starts as soon as" in texts(alice)
    bob = open_page(TRAIN, {VISITOR_COOKIE: BOB})
    assert "Queued: your run starts after 1 other run" in texts(bob)  # Alice's
    button(bob, "Cancel the waiting run").click().run()
    assert [run.starter for run in jobs.queue()] == [visitor_digest(ALICE)]
    assert button(open_page(TRAIN, {VISITOR_COOKIE: BOB}), "Cancel the waiting run") is None


def test_in_a_room_its_teacher_stops_the_room_s_run_whoever_started_it_and_a_student_never(app_database):
    teacher, code = start_a_class()
    publish_live_run(app_database, code, ALICE)  # as if started in this room by another browser
    student = open_page(TRAIN, {ROOM_COOKIE: code, VISITOR_COOKIE: ALICE})
    assert "Training epoch 1" in texts(student) and button(student, "Stop training") is None
    train = open_page(TRAIN, cookies_of(teacher))
    button(train, "Stop training").click().run()
    assert stop_asked(app_database, code)


@pytest.fixture
def passcode_set(monkeypatch):
    monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, "orange kite 7")
    for resource in (passcode_guard, revocations):
        resource.clear()
    yield
    for resource in (passcode_guard, revocations):
        resource.clear()


@pytest.mark.usefixtures("passcode_set")
def test_with_a_passcode_the_teacher_stops_an_open_studio_run_another_browser_started(app_database):
    publish_live_run(app_database, DEFAULT_ROOM, ALICE)
    assert button(open_page(TRAIN, {VISITOR_COOKIE: ALICE}), "Stop training") is None  # locked: Alice watches
    teacher = open_page(TRAIN, {VISITOR_COOKIE: BOB, TEACHER_COOKIE: issue_token("orange kite 7")})
    button(teacher, "Stop training").click().run()
    assert stop_asked(app_database, DEFAULT_ROOM)


def test_a_teacher_keeps_a_class_s_digits_after_it_ends_and_adds_them_to_the_next_class(app_database):
    images, labels = load_test_set()
    teacher, first = start_a_class()
    laptop = cookies_of(teacher)  # the teacher's browser, session after session
    for i in range(3):
        app_database.in_room(first).add(images[i], int(labels[i]), int(labels[i]), 0.9, f"student-{i}")
    train = open_page(TRAIN, laptop)
    button(train, "End the class now").click().run()
    laptop = CookieJar.active.browser_cookies(train, laptop)

    home = open_page(HOME, laptop)  # back in the open studio: the ended class's digits are still this teacher's
    assert f"**{first}** · ended" in texts(home) and "3 digits" in texts(home)
    assert [e.label for e in home.expander if "Your classes" in e.label] == ["Your classes (1): their digits"]
    assert len(home.get("download_button")) == 2
    assert not [e for e in open_page(HOME).expander if "Your classes" in e.label]  # another browser: nothing

    button(home, "Start a class").click().run()
    laptop = CookieJar.active.browser_cookies(home, laptop)
    second = laptop[ROOM_COOKIE]
    student = cookies_of(open_page(HOME, query_params={"room": second}))
    class_page = open_page(HOME, laptop).switch_page(CLASS).run()  # through app.py, which says what a click did
    assert "No digits yet" in texts(class_page)
    button(class_page, f"Add to class {second}").click().run()
    assert f"Added 3 digits of class {first} to this class set." in texts(class_page)
    assert len(app_database.in_room(second)) == 3 and len(app_database.in_room(first)) == 3
    button(class_page, f"Add to class {second}").click().run()
    assert "Added 0 digits" in texts(class_page) and "(3 of them were here already)" in texts(class_page)

    # A student of the class, even with the teacher's keeper cookie copied, cannot pool: that takes the class's teacher.
    assert button(open_page(CLASS, {**student, TAUGHT_COOKIE: laptop[TAUGHT_COOKIE]}), f"Add to class {second}") is None

    # Lock: this browser is no longer the second class's teacher, nor keeps its digits.
    train = open_page(TRAIN, laptop)
    button(train, "Lock").click().run()
    kept = CookieJar.active.browser_cookies(train, laptop).get(TAUGHT_COOKIE, "")
    assert first in kept and second not in kept
