"""Cross-room security (AppTest): every control of the pages tried from outside room A's teacher, and none works.

Room A has a teacher and real state: a saved run that is its class model, a live run (published by "another
server"), a run waiting in the training queue, class digits given by students, a quiz round open with a vote.
The attackers: a student of A, the teacher of room B (in B, and with B's token in A's cookie), visitors of the
open studio with and without a passcode (and the passcode's teacher in A), forged tokens (a made-up signature,
B's token with its prefix edited to A, A's token with one character changed, an expired A token), A's quiz host
cookie, a token of A replayed after its holder pressed Lock, and a token of room C replayed after "End the class".
Each attacker tries each control of the Train and Class pages and the teacher's corner; a control must be absent or
disabled for a browser in the room (a disabled one is clicked anyway, as a crafted client would), and the room's
state, read from the database through ``classroom.*``, must not change. A teacher's own room (B, the open studio)
may change: never A's. Another test drives the same controls as A's teacher in a room of the same make, so a
control the attackers do not find is absent for them, not missed by the test. Nothing of A shows in B or outside.

One room A per module (AppTest sessions are fast; TensorFlow's first model load is not): an attacker's page is
opened once and reused by its tests, which only click. No run trains: runs are copies of the bundled run folder,
and the queue's ``start`` is a spy that records what the Train page asks it to start.
"""
import contextlib
import dataclasses
import json
import re
import shutil
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from classroom.class_set import CLASS_DIGITS, DEFAULT_ROOM, LIVE_RUN, ROOM_OWNED_TABLES, ROOMS, RUNS, ClassSet
from classroom.jobs import InProcessJobs, _Waiting, job_priority
from classroom.live_board import READ_SECONDS, LiveBoard
from classroom.quiz import Quiz
from classroom.room_runs import room_live_board
from classroom.rooms import ROOM_TOKEN_LIFETIME_SECONDS, Rooms, visitor_digest
from classroom.run_store import RunStore, room_runs_dir
from classroom.runs import read_saved_run
from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE, issue_token
from mnist_cnn.data import load_test_set
from mnist_cnn.paths import BUNDLED_RUN_DIR
from support.cookie_jar import CookieJar
from ui.identity import (
    QUIZ_HOST_COOKIE,
    ROOM_COOKIE,
    ROOM_TEACHER_COOKIE,
    TAUGHT_COOKIE,
    TEACHER_COOKIE,
    VISITOR_COOKIE,
    WRITTEN_KEY,
)
from ui.teacher import SIGN_IN_PARAMETER, passcode_guard, revocations, sign_in_links

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TRAIN, CLASS = (str(ROOT / "app_pages" / name) for name in ("1_Train.py", "4_Class.py"))
PRESENTER = "presenter view"  # the Train page with ?present=1, on the projector
PAGE_PATHS = {TRAIN: (TRAIN, None), CLASS: (CLASS, None), PRESENTER: (TRAIN, {"present": "1"})}
PASSCODE = "violet harbour 3"
# Each room's run has a time of its own in its folder name, so its title on the pages is its own too.
RUN_NAMES = {"A": "20260105-010203-tutorial-room", "B": "20260106-040506-tutorial-room", "C": "20260107-070809-tutorial-room",
             "D": "20260108-080910-tutorial-room"}
LIVE_RUN_NAME = "20260109-091011-tutorial-live"
DIGITS = {"A": 7, "B": 3, "C": 5, "D": 6}  # class digits per room: a count shown on a page tells whose it is
STUDENT = "5" * 32  # the visitor id of the student who gave the digits and votes


def visitor(n):
    return f"{n:032x}"


# -- the rooms -------------------------------------------------------------------------------


@dataclasses.dataclass
class Room:
    """A room of the test's world: its code, its teacher's token and the browsers that hold it."""

    name: str
    code: str
    token: str
    teacher_cookies: dict
    quiz_image: np.ndarray | None = None


class World:
    def __init__(self, database, rooms, runs_root, jobs):
        self.database, self.rooms, self.runs_root, self.jobs = database, rooms, runs_root, jobs
        self.started = []  # (room, config): what pages asked the training queue to start
        self.room = {}
        self.b_tokens = defaultdict(lambda: self.rooms.issue_room_teacher_token(self.rooms.find(self.room["B"].code)))
        self.extra = {}  # cookies made while the world was built (a locked token, C's replayed token, ...)

    def keeper(self, name):
        """A keeper token of room ``name``: what the browser that taught it holds (its digits, after the lesson)."""
        return self.rooms.issue_keeper_token(self.rooms.find(self.room[name].code, include_closed=True))

    def state(self, code):
        """Everything room ``code`` owns, read from the database (and the queue and its starts), to compare."""
        state = {}
        with self.database.transaction() as connection:
            for table in ROOM_OWNED_TABLES:
                columns = [column for column in table.c if not isinstance(column.type, sa.LargeBinary)
                           and column not in (RUNS.c.updated_at, RUNS.c.record)]  # a page's sync may copy a run again
                rows = connection.execute(sa.select(*columns).where(table.c.room == code)).all()
                state[table.name] = sorted(tuple(map(repr, row)) for row in rows)
            room = connection.execute(sa.select(ROOMS.c.closed_at, ROOMS.c.teacher_secret).where(ROOMS.c.code == code)).one()
            state["rooms"] = tuple(room)
        state["waiting runs"] = [run for run in self.jobs.queue() if run.room == code]
        state["runs started"] = [room for room, _ in self.started if room == code]
        return state


def make_room(world, name, jar, quiz=True, live_run=True, queued=True):
    """A room with a teacher and real state, made as a teacher and students would (the quiz through the page)."""
    database, rooms = world.database, world.rooms
    room = rooms.create(f"setup-{name}")
    token = rooms.issue_room_teacher_token(room)
    code = room.code
    # A saved run (a copy of the bundled run, as trained), kept in the database, and chosen as the class model.
    run_dir = room_runs_dir(world.runs_root, code) / RUN_NAMES[name]
    shutil.copytree(BUNDLED_RUN_DIR, run_dir)
    store = RunStore(database, world.runs_root, code)
    store.save(run_dir)
    store.set_class_model_name(run_dir.name)
    images, labels = load_test_set()
    for i in range(DIGITS[name]):  # given by two students on the Draw page
        database.in_room(code).add(images[i], int(labels[i]), int(labels[i]), 0.9, STUDENT if i % 2 else visitor(6))
    teacher_cookies = {ROOM_COOKIE: code, ROOM_TEACHER_COOKIE: token, VISITOR_COOKIE: visitor(1)}
    made = Room(name, code, token, teacher_cookies)
    if quiz:  # the teacher starts the quiz on the Class page; a student votes
        teacher = open_page(jar, CLASS, teacher_cookies)
        teacher.button(key="quiz-next-button").click().run()
        made.teacher_cookies = jar.browser_cookies(teacher, teacher_cookies)  # now with the quiz host cookie
        assert QUIZ_HOST_COOKIE in made.teacher_cookies
        student = open_page(jar, CLASS, {ROOM_COOKIE: code, VISITOR_COOKIE: STUDENT})
        student.button(key="quiz-vote-3").click().run()
        view = Quiz(database, code).view()
        assert view.round_number == 1 and view.vote_count == 1
        made.quiz_image = view.image
    if live_run:  # another server trains a run for the room (its publishes keep coming: dated an hour ahead)
        LiveBoard(database, code, server_id="another-server", clock=lambda: time.time() + 3600).claim(LIVE_RUN_NAME)
    if queued:  # and one more waits for a worker
        queue_a_run(world, code)
    world.room[name] = made
    return made


def queue_a_run(world, code):
    """A run of room ``code`` waiting in this server's queue (behind a run training here, as Start leaves it)."""
    from mnist_cnn.training import TrainingConfig

    jobs = world.jobs
    with jobs._lock:  # the queue's own entry format (InProcessJobs.start): no run trains in these tests
        jobs._queue.append(_Waiting(-job_priority(code), next(jobs._order), code, TrainingConfig(), None, visitor_digest(visitor(1))))


# -- pages and cookies -----------------------------------------------------------------------


def open_page(jar, path, cookies, query_params=None):
    app = AppTest.from_file(path, default_timeout=120)
    app.query_params.update(query_params or {})
    jar.start(app, cookies)
    assert not app.exception, app.exception
    return app


def buttons(app, key=None, label=None):
    return [b for b in app.button if (key is None or b.key == key) and (label is None or b.label.startswith(label))]


def page_text(app):
    """Everything a browser is sent that a person could read, as one string."""
    parts = []
    for kind in ("markdown", "caption", "code", "info", "warning", "error", "success", "title", "subheader", "text",
                 "metric", "expander", "button", "checkbox", "text_input", "number_input"):
        for element in getattr(app, kind):
            parts += [str(getattr(element, attribute, "")) for attribute in ("value", "label")]
    for frame in app.dataframe:
        parts.append(frame.value.to_csv())
    parts += [str(element.proto) for element in app.get("html")]
    parts += [str(element.proto) for element in app.get("download_button")]
    return "\n".join(parts)


def count_line(app):
    return next(m.value for m in app.markdown if "in the class set" in m.value)


# -- the controls ----------------------------------------------------------------------------


def press(app, button):
    """Click ``button``; a disabled one too, as a crafted client that sends the click anyway."""
    button.proto.disabled = False
    button.click().run()
    assert not app.exception, app.exception


def try_button(app, key=None, label=None):
    """Press the button if the page has it; returns what the page offered ("absent", "disabled", "shown")."""
    found = buttons(app, key, label)
    if not found:
        return "absent"
    shown = "disabled" if found[0].proto.disabled else "shown"
    press(app, found[0])
    return shown


def try_start(app, world):
    """Start training, while room A has no live run and no waiting run: its teacher's Start is enabled then."""
    with start_enabled(world, world.room["A"].code):
        app.run()
        offered = try_button(app, label="Start training")
    app.run()  # the page as it is again, for the attacker's other controls
    return offered


@contextlib.contextmanager
def start_enabled(world, code):
    """Room ``code``'s live run over and its waiting run out of the queue for a while, then back."""
    with world.database.transaction() as connection:
        live = connection.execute(sa.select(LIVE_RUN.c.snapshot).where(LIVE_RUN.c.room == code)).scalar()
    set_live_snapshot(world, code, json.dumps({"state": "stopped"}))
    with world.jobs._lock:
        waiting = [run for run in world.jobs._queue if run.room == code]
        world.jobs._queue = [run for run in world.jobs._queue if run.room != code]
    try:
        yield
    finally:
        with world.jobs._lock:
            world.jobs._queue += waiting
        set_live_snapshot(world, code, live)


def set_live_snapshot(world, code, snapshot):
    if snapshot is None:
        return
    with world.database.transaction(writes=True) as connection:
        connection.execute(LIVE_RUN.update().where(LIVE_RUN.c.room == code).values(snapshot=snapshot))
    room_live_board(world.database, code)._read_at = float("-inf")  # read again now (as its own request_stop does)


def try_stop(app, world):
    return try_button(app, label="Stop training")


def try_class_model(app, world):
    """Select a run that is not the room's class model (the bundled example), then "Make this the class model"."""
    table = app.dataframe[0]
    folders = table.value["folder"].tolist()
    app.session_state[table.key] = {"selection": {"rows": [folders.index("")], "columns": [], "cells": []}}
    app.run()
    return try_button(app, label="Make this the class model")


def try_cancel_waiting(app, world):
    return try_button(app, key="cancel_waiting")


def try_delete_or_rename_run(app, world):
    """The Train page has no Delete or Rename for a saved run: the effect must be out of reach anyway."""
    found = [b for b in app.button if re.search(r"\b(delete|rename|remove)\b", b.label, re.IGNORECASE)]
    return "absent" if not found else try_button(app, label=found[0].label)


def tick_first(app, boxes):
    """Tick the first of ``boxes`` (checkboxes the page drew), if any, as a visitor would before the button."""
    if boxes:
        boxes[0].check()
        app.run()


def try_delete_selected(app, world):
    tick_first(app, [box for box in app.checkbox if box.label == "Select"])
    return try_button(app, key="class_gallery_page-delete-selected")


def try_delete_students(app, world):
    for frame in app.dataframe:
        if frame.key and frame.key.startswith("class-students"):  # the teacher's table of students: select one
            app.session_state[frame.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
            app.run()
            break
    return try_button(app, key="class-delete-students")


def try_clear_all(app, world):
    tick_first(app, [box for box in app.checkbox if box.key == "confirm_clear"])
    return try_button(app, label="Clear the class set")


def try_undo(app, world):
    return try_button(app, key="class-undo-button")


def try_digits_per_student(app, world):
    inputs = [field for field in app.number_input if field.key == "class-digits-per-student"]
    if not inputs:
        return "absent"
    shown = "disabled" if inputs[0].proto.disabled else "shown"
    inputs[0].proto.disabled = False
    inputs[0].set_value(int(inputs[0].value) + 5).run()
    return shown


def try_export_class_set(app, world):
    """The exports are of the class set the page counts: the browser's own room's (a student's right in it)."""
    return "shown" if app.get("download_button") else "absent"


def try_quiz_start(app, world):
    return try_button(app, key="quiz-next-button")


def try_quiz_reveal(app, world):
    return try_button(app, key="quiz-reveal-button")


def try_quiz_end(app, world):
    return try_button(app, key="quiz-end-button")


def try_quiz_vote(app, world):
    """A vote: a student's right in an open class; no vote reaches a class that ended, or another room's quiz."""
    return try_button(app, key="quiz-vote-4")


def try_sign_in_link(app, world):
    """Make a one-time sign-in link, and open it on another device: that device must not become A's teacher."""
    shown = try_button(app, key="teacher-sign-in-link")
    for code in app.code:
        found = re.search(f"{SIGN_IN_PARAMETER}=([A-Za-z0-9_-]+)", code.value)
        if found:
            world.extra.setdefault("links made", []).append(found.group(1))
    return shown


def try_pool(app, world):
    """Add the digits of another class this browser taught (B: every attacker holds B's keeper token) to this one."""
    return try_button(app, label="Add to class")


def try_lock(app, world):
    return try_button(app, key="teacher-lock")


def try_end_class(app, world):
    return try_button(app, key="teacher-end-class")


# (control, page, the driver); the teacher's corner is on the Train page. Lock and End the class last: they
# change the browser's own rights, and the same page serves the attacker's other controls before them.
CONTROLS = [
    ("start-training", TRAIN, try_start),
    ("stop", TRAIN, try_stop),
    ("stop-in-presenter-view", PRESENTER, try_stop),
    ("make-class-model", TRAIN, try_class_model),
    ("cancel-waiting-run", TRAIN, try_cancel_waiting),
    ("delete-or-rename-run", TRAIN, try_delete_or_rename_run),
    ("delete-selected-digits", CLASS, try_delete_selected),
    ("delete-students-digits", CLASS, try_delete_students),
    ("clear-class-set", CLASS, try_clear_all),
    ("undo", CLASS, try_undo),
    ("digits-per-student", CLASS, try_digits_per_student),
    ("export-class-set", CLASS, try_export_class_set),
    ("pool-into-class", CLASS, try_pool),
    ("quiz-start-round", CLASS, try_quiz_start),
    ("quiz-reveal", CLASS, try_quiz_reveal),
    ("quiz-end", CLASS, try_quiz_end),
    ("quiz-vote", CLASS, try_quiz_vote),
    ("make-sign-in-link", TRAIN, try_sign_in_link),
    ("lock", TRAIN, try_lock),
    ("end-the-class", TRAIN, try_end_class),
]
OWN_SESSION = {"lock", "end-the-class"}  # each on a page of its own, with a token of its own where it has one
# A student of a room gets its class set with every digit on the Class page (the gallery shows them all), so its
# exports too: for an attacker in room A the check is that the export is the room's the browser is in, no more.
# And a student of an open class votes in its quiz.
STUDENTS_MAY = {"export-class-set", "quiz-vote"}


# -- the attackers ---------------------------------------------------------------------------


def forged_signature(world):
    a = world.room["A"].code
    return f"{a}.{int(time.time() * 1000)}.{int(time.time()) + 3600}.{'0' * 16}.{'x' * 43}"


def b_keeper_as_a(world):
    b, a = world.room["B"], world.room["A"]
    return a.code + world.keeper("B").removeprefix(b.code)


def b_token_as_a(world):
    b, a = world.room["B"], world.room["A"]
    return a.code + b.token.removeprefix(b.code)


def altered_a_token(world):
    token = world.room["A"].token
    position = len(world.room["A"].code) + 3  # a digit of the issue time, in the signed part
    assert token[position].isdigit()
    return token[:position] + str((int(token[position]) + 1) % 10) + token[position + 1:]


def expired_a_token(world):
    room = world.rooms.find(world.room["A"].code)
    return world.rooms.issue_room_teacher_token(room, now=time.time() - ROOM_TOKEN_LIFETIME_SECONDS - 60)


def b_teacher(world, control):
    """The teacher of room B in B: a token of their own per Lock (which revokes it); "End the class" ends a room
    of their own made for it (B stays open for the other tests)."""
    if control == "end-the-class":
        room = world.rooms.create("setup-another-class")
        return {ROOM_COOKIE: room.code, ROOM_TEACHER_COOKIE: world.rooms.issue_room_teacher_token(room), VISITOR_COOKIE: visitor(2)}
    return {ROOM_COOKIE: world.room["B"].code, VISITOR_COOKIE: visitor(2),
            ROOM_TEACHER_COOKIE: world.b_tokens[control if control in OWN_SESSION else "pages"]}


@dataclasses.dataclass(frozen=True)
class Attacker:
    name: str
    cookies: object  # function(world, control) -> the browser's cookies
    target: str = "A"  # the room whose state must not change
    in_target: bool = True  # the browser is in the target room: its controls must be absent or disabled there
    passcode: bool = False  # the host set a teacher passcode


def in_a(**cookies):
    def make(world, control):
        values = {name: (value(world) if callable(value) else value) for name, value in cookies.items()}
        # Every browser in A also taught class B once (its keeper token): pooling B into A must still take A's teacher.
        return {ROOM_COOKIE: world.room["A"].code, VISITOR_COOKIE: visitor(9), TAUGHT_COOKIE: world.keeper("B"), **values}
    return make


ATTACKERS = [
    Attacker("a-student", in_a()),
    Attacker("b-teacher-in-b", lambda world, control: b_teacher(world, control), in_target=False),
    Attacker("b-token-in-a", in_a(**{ROOM_TEACHER_COOKIE: lambda world: world.room["B"].token})),
    Attacker("outsider", lambda world, control: {VISITOR_COOKIE: visitor(3)}, in_target=False),
    Attacker("outsider-with-passcode", lambda world, control: {VISITOR_COOKIE: visitor(3)}, in_target=False, passcode=True),
    Attacker("passcode-teacher-in-a", in_a(**{TEACHER_COOKIE: lambda world: issue_token(PASSCODE)}), passcode=True),
    Attacker("forged-signature", in_a(**{ROOM_TEACHER_COOKIE: forged_signature})),
    Attacker("b-token-prefix-edited", in_a(**{ROOM_TEACHER_COOKIE: b_token_as_a})),
    Attacker("altered-a-token", in_a(**{ROOM_TEACHER_COOKIE: altered_a_token})),
    Attacker("expired-a-token", in_a(**{ROOM_TEACHER_COOKIE: expired_a_token})),
    Attacker("a-keeper-as-teacher-token", in_a(**{ROOM_TEACHER_COOKIE: lambda world: world.keeper("A")})),
    Attacker("a-quiz-host-cookie", in_a(**{QUIZ_HOST_COOKIE: lambda world: world.room["A"].teacher_cookies[QUIZ_HOST_COOKIE]})),
    Attacker("a-token-after-lock", in_a(**{ROOM_TEACHER_COOKIE: lambda world: world.extra["locked token"]})),
    Attacker("c-token-after-end", lambda world, control: {**world.room["C"].teacher_cookies, VISITOR_COOKIE: visitor(4)},
             target="C"),
]


# -- the world, once per module --------------------------------------------------------------


@pytest.fixture(scope="module")
def module_patch():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.fixture(scope="module")
def jar(module_patch):
    jar = CookieJar(module_patch)
    CookieJar.active = jar
    yield jar
    CookieJar.active = None


@pytest.fixture(autouse=True)
def _isolated_runs_dir(world):
    """This module's tests share one runs folder and database (conftest's fixture of this name gives each test its own)."""
    yield


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_patch, jar):
    folder = tmp_path_factory.mktemp("room-security")
    url = f"sqlite:///{folder / 'class_set.sqlite'}"
    module_patch.setenv("MNIST_CNN_RUNS", str(folder / "runs"))
    module_patch.setenv("MNIST_CNN_DATA", str(folder / "data"))
    module_patch.setenv("MNIST_CNN_CLASS_DB_URL", url)
    module_patch.delenv(PASSCODE_ENVIRONMENT_VARIABLE, raising=False)
    for resource in (passcode_guard, revocations, sign_in_links):
        resource.clear()
    database = ClassSet(url)
    from ui.run_store import _in_process_jobs

    world = World(database, Rooms(database, rooms_per_client=100, rooms_per_server=100), (folder / "runs").resolve(),
                  _in_process_jobs(str(database.url), database))

    def start(jobs, config, class_data=None, room=DEFAULT_ROOM, starter=""):  # a spy: no run trains in these tests
        world.started.append((room, config))

    module_patch.setattr(InProcessJobs, "start", start)
    a = make_room(world, "A", jar)
    make_room(world, "B", jar, quiz=False, live_run=False)  # with a waiting run: B's teacher may cancel B's
    queue_a_run(world, DEFAULT_ROOM)  # the open studio has a waiting run too
    c = make_room(world, "C", jar)

    # A's teacher on a second device (its own token, from a one-time link) presses Lock: that token is replayed.
    second = {ROOM_COOKIE: a.code, ROOM_TEACHER_COOKIE: world.rooms.issue_room_teacher_token(world.rooms.find(a.code))}
    page = open_page(jar, TRAIN, second)
    page.button(key="teacher-sign-in-link").click().run()
    world.extra["link of locked token"] = re.search(f"{SIGN_IN_PARAMETER}=([A-Za-z0-9_-]+)", page.code[0].value).group(1)
    page.button(key="teacher-lock").click().run()
    assert ROOM_TEACHER_COOKIE not in jar.browser_cookies(page, second)
    world.extra["locked token"] = second[ROOM_TEACHER_COOKIE]

    # C's teacher makes a sign-in link, then ends the class: the token and the link are replayed.
    page = open_page(jar, TRAIN, c.teacher_cookies)
    page.button(key="teacher-sign-in-link").click().run()
    world.extra["link of ended class"] = re.search(f"{SIGN_IN_PARAMETER}=([A-Za-z0-9_-]+)", page.code[0].value).group(1)
    page.button(key="teacher-end-class").click().run()
    assert world.rooms.find(c.code) is None
    yield world
    database.dispose()


@pytest.fixture
def passcode(monkeypatch):
    monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, PASSCODE)


_sessions = {}  # (attacker, page) -> its AppTest session, shared by the attacker's tests of that page


def attacker_page(jar, world, attacker, control, page):
    path, query = PAGE_PATHS[page]
    if control in OWN_SESSION:
        return open_page(jar, path, attacker.cookies(world, control), query)
    key = (attacker.name, page)
    if key not in _sessions:
        _sessions[key] = open_page(jar, path, attacker.cookies(world, control), query)
    return _sessions[key]


# -- nothing of A shows in B or outside ------------------------------------------------------


VIEWERS = {
    "b-teacher": lambda world: {ROOM_COOKIE: world.room["B"].code, ROOM_TEACHER_COOKIE: world.room["B"].token},
    "b-student": lambda world: {ROOM_COOKIE: world.room["B"].code, VISITOR_COOKIE: STUDENT},
    "outsider": lambda world: {VISITOR_COOKIE: STUDENT},
    "outsider-passcode-teacher": lambda world: {TEACHER_COOKIE: issue_token(PASSCODE)},
    "c-teacher-after-end": lambda world: world.room["C"].teacher_cookies,  # through app.py: back in the open studio
    # Keeper tokens for A that are not: B's with its code edited, one character changed, A's teacher token.
    "b-teacher-with-b-keeper-edited-to-a": lambda world: {
        ROOM_COOKIE: world.room["B"].code, ROOM_TEACHER_COOKIE: world.room["B"].token, TAUGHT_COOKIE: b_keeper_as_a(world)},
    "outsider-with-altered-a-keeper": lambda world: {VISITOR_COOKIE: STUDENT, TAUGHT_COOKIE: altered(world.keeper("A"))},
    "outsider-with-a-teacher-token-as-keeper": lambda world: {VISITOR_COOKIE: STUDENT, TAUGHT_COOKIE: world.room["A"].token},
}


def altered(token):
    """``token`` with one character of its signature changed."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize("page", ["home", "train", "class"])
@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_nothing_of_room_a_shows_in_room_b_or_outside(world, jar, monkeypatch, viewer, page):
    if viewer.startswith("outsider-passcode"):
        monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, PASSCODE)
    a = world.room["A"]
    app = AppTest.from_file(APP, default_timeout=120)
    jar.start(app, VIEWERS[viewer](world))
    if page != "home":
        app.switch_page({"train": TRAIN, "class": CLASS}[page]).run()
    assert not app.exception, app.exception
    text = page_text(app)
    title = dataclasses.replace(read_saved_run(BUNDLED_RUN_DIR), name=RUN_NAMES["A"]).title()
    for secret in (a.code, a.token, RUN_NAMES["A"], title, LIVE_RUN_NAME):
        assert secret not in text
    if viewer.startswith("c-"):  # the ended class's browser was sent back to the open studio
        assert ROOM_COOKIE not in jar.browser_cookies(app, VIEWERS[viewer](world))
        assert RUN_NAMES["C"] not in text
    if page == "class":
        own = DIGITS["B"] if viewer.startswith("b-") else 0
        assert count_line(app).startswith(f"**{own} digit")
        assert "quiz-digit-image" not in text and not buttons(app, key="quiz-vote-3")  # A's quiz digit is not sent


# -- every control from every attacker -------------------------------------------------------


@pytest.mark.parametrize(
    ("control", "page", "attempt"), [pytest.param(*control, id=control[0]) for control in CONTROLS]
)
@pytest.mark.parametrize("attacker", [pytest.param(attacker, id=attacker.name) for attacker in ATTACKERS])
def test_no_control_of_room_a_works_for_anyone_but_its_teacher(world, jar, monkeypatch, attacker, control, page, attempt):
    if attacker.passcode:
        monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, PASSCODE)
    code = world.room[attacker.target].code
    before, quiz_before = world.state(code), quiz_round(world, code)
    app = attacker_page(jar, world, attacker, control, page)
    offered = attempt(app, world)
    students_may = attacker.in_target and control in STUDENTS_MAY
    if attacker.in_target and not students_may:
        assert offered in ("absent", "disabled"), f"{attacker.name} is offered {control} in room {attacker.target}"
    if students_may and attacker.target == "A":  # A is open: its students vote (their vote, nothing more, changes)
        changed = {part for part, rows in world.state(code).items() if rows != before[part]}
        assert changed <= {"quiz_votes", "quiz_state"}, f"{control} by {attacker.name} changed {changed}"  # the quiz's version
        assert quiz_round(world, code) == quiz_before
    else:
        assert world.state(code) == before, f"{control} by {attacker.name} changed room {attacker.target}"
    for link in world.extra.pop("links made", []):  # a link the attacker made signs nobody in as the target's teacher
        assert not teaches(jar, world, code, {}, link)


def quiz_round(world, code):
    view = Quiz(world.database, code).view()
    return view.round_number, view.revealed


def teaches(jar, world, code, cookies, link=None):
    """Whether a browser with ``cookies`` (opening ``link``, a one-time sign-in code) is then room ``code``'s teacher."""
    app = open_page(jar, TRAIN, cookies, {SIGN_IN_PARAMETER: link} if link else None)
    after = jar.browser_cookies(app, cookies)
    if after.get(ROOM_COOKIE) != code:
        return False
    return bool(buttons(open_page(jar, TRAIN, after), key="teacher-lock"))


@pytest.mark.parametrize("attacker", [pytest.param(attacker, id=attacker.name) for attacker in ATTACKERS])
def test_another_rooms_sign_in_link_makes_a_teacher_of_that_room_only(world, jar, monkeypatch, attacker):
    """B's one-time link, opened by the attacker's browser: it makes its holder B's teacher, in B, never A's."""
    if attacker.passcode:
        monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, PASSCODE)
    code = world.room[attacker.target].code
    before = world.state(code)
    cookies = attacker.cookies(world, "redeem")
    b = world.room["B"]
    link = sign_in_links().create(b.token)  # what B's "Make a one-time sign-in link" does
    after = jar.browser_cookies(open_page(jar, TRAIN, cookies, {SIGN_IN_PARAMETER: link}), cookies)
    assert after.get(ROOM_COOKIE) == b.code and after[ROOM_TEACHER_COOKIE].startswith(f"{b.code}.")
    assert not buttons(open_page(jar, TRAIN, {**after, ROOM_COOKIE: code}), key="teacher-lock")  # B's token in A
    assert world.state(code) == before


@pytest.mark.parametrize("spent", ["link of locked token", "link of ended class"])
def test_a_sign_in_link_made_before_lock_or_end_of_class_signs_nobody_in(world, jar, spent):
    for room in ("A", "C"):
        assert not teaches(jar, world, world.room[room].code, {}, world.extra[spent])


def test_undo_after_lock_or_from_another_room_restores_nothing(world, jar):
    """A teacher deletes digits, then Lock (on another tab): the Undo still on the page must not work. The teacher
    of B deletes in B, then the tab joins A: B's Undo must not touch A."""
    a = world.room["A"]
    device = {ROOM_COOKIE: a.code, ROOM_TEACHER_COOKIE: world.rooms.issue_room_teacher_token(world.rooms.find(a.code))}
    tab = open_page(jar, CLASS, device)
    assert try_clear_all(tab, world) == "shown"  # its Undo shows at the top of the page, for anyone
    other_tab = open_page(jar, TRAIN, device)
    other_tab.button(key="teacher-lock").click().run()
    deleted = world.state(a.code)
    tab.run()
    try_undo(tab, world)
    assert world.state(a.code) == deleted
    undo_the_deletion_directly(world, a.code)

    b = world.room["B"]
    before = world.state(a.code)
    tab = open_page(jar, CLASS, {ROOM_COOKIE: b.code, ROOM_TEACHER_COOKIE: world.b_tokens["undo"]})
    assert try_clear_all(tab, world) == "shown"
    tab.session_state[WRITTEN_KEY] = {ROOM_COOKIE: (a.code, time.time() + 3600)}  # the tab joins A (home page)
    tab.run()
    try_undo(tab, world)
    assert world.state(a.code) == before
    undo_the_deletion_directly(world, b.code)


def ask_to_stop(world, code, asked):
    with world.database.transaction(writes=True) as connection:
        connection.execute(LIVE_RUN.update().where(LIVE_RUN.c.room == code).values(stop_requested=asked))


def honour_the_stop(world, code):
    """What the server training the room's live run does at its next publish after a Stop: the run is stopped."""
    with world.database.transaction(writes=True) as connection:
        connection.execute(LIVE_RUN.update().where(LIVE_RUN.c.room == code).values(snapshot=json.dumps({"state": "stopped"})))
    time.sleep(READ_SECONDS + 0.1)  # every server reads the row again


def undo_the_deletion_directly(world, code):
    """Put the room's state back as it was (the teacher's own Undo, through classroom.*)."""
    with world.database.transaction(writes=True) as connection:
        connection.execute(CLASS_DIGITS.update().where(CLASS_DIGITS.c.room == code).values(deleted_at=None, deletion_id=None))


# -- the teacher can: the drivers above reach every control --------------------------------


def test_the_rooms_own_teacher_reaches_every_control_and_each_changes_the_room(world, jar):
    """In room D, made as A was, its teacher's page offers every control and each changes D's state (a vote: a
    student's page): so a control the attackers were not offered is absent for them, not missed by the test."""
    d = make_room(world, "D", jar)
    images, labels = load_test_set()
    source = world.rooms.create("setup-pool-source")  # another class of D's teacher, with digits D has not
    for i in (100, 101):
        world.database.in_room(source.code).add(images[i], int(labels[i]), int(labels[i]), 0.9, visitor(14))
    d.teacher_cookies[TAUGHT_COOKIE] = world.rooms.issue_keeper_token(source)
    expected_change = {
        "start-training": "runs started", "stop": "live_run", "stop-in-presenter-view": "live_run", "make-class-model": "class_choices",
        "cancel-waiting-run": "waiting runs", "delete-selected-digits": "class_digits", "delete-students-digits": "class_digits",
        "undo": "class_digits", "clear-class-set": "class_digits", "digits-per-student": "class_settings",
        "quiz-reveal": "quiz_state", "quiz-start-round": "quiz_state", "quiz-end": "quiz_state", "quiz-vote": "quiz_votes",
        "lock": "teacher_revocations", "end-the-class": "rooms", "pool-into-class": "class_digits",
    }
    order = ["stop-in-presenter-view", "stop", "make-class-model", "cancel-waiting-run", "start-training",
             "digits-per-student", "export-class-set", "pool-into-class", "delete-selected-digits", "undo", "delete-students-digits",
             "clear-class-set", "quiz-vote", "quiz-reveal", "quiz-start-round", "quiz-end", "delete-or-rename-run",
             "make-sign-in-link", "lock", "end-the-class"]
    drivers = {name: (page, attempt) for name, page, attempt in CONTROLS}
    assert set(order) == set(drivers)
    sessions = {}
    for name in order:
        page, attempt = drivers[name]
        cookies = d.teacher_cookies
        if name == "lock":  # a second device's token: the class stays this teacher's for End the class
            cookies = {**cookies, ROOM_TEACHER_COOKIE: world.rooms.issue_room_teacher_token(world.rooms.find(d.code))}
        if name == "quiz-vote":  # a student's control: the teacher's screen shows the vote count instead
            cookies = {ROOM_COOKIE: d.code, VISITOR_COOKIE: visitor(13)}
        app = sessions.get(page) if name not in OWN_SESSION | STUDENTS_MAY else None
        if app is None:
            app = open_page(jar, PAGE_PATHS[page][0], cookies, PAGE_PATHS[page][1])
            if name not in OWN_SESSION | STUDENTS_MAY:
                sessions[page] = app
        if name == "start-training":  # with D's live run over and its waiting run cancelled, Start is enabled
            app.run()
        before = world.state(d.code)
        offered = attempt(app, world)
        if name == "delete-or-rename-run":
            assert offered == "absent"  # the Train page has none: nothing to reach
            continue
        assert offered == "shown", f"the teacher is not offered {name}"
        if name == "make-sign-in-link":  # the link signs another device in as D's teacher
            assert teaches(jar, world, d.code, {}, world.extra.pop("links made")[0])
        after = world.state(d.code)
        if name in expected_change:
            changed = [part for part in before if before[part] != after[part]]
            assert expected_change[name] in changed, f"{name} changed {changed}"
        if name == "stop-in-presenter-view":  # taken back, so that the page's Stop is tried too
            ask_to_stop(world, d.code, False)
        if name == "stop":  # the server that trains honours the Stop
            honour_the_stop(world, d.code)

