"""Every piece of a class's state is its room's (revision 0010): two rooms on one database, on SQLite and on
PostgreSQL, never see or change each other's digits, settings, quiz, live run, runs, class model or teacher
sign-outs; the class without a room ("") keeps its rows from before rooms; a purged room leaves nothing."""
import shutil
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command

from classroom.class_set import (
    DEFAULT_ROOM,
    JOIN_CODE_LENGTH,
    LIVE_RUN,
    ROOM_OWNED_TABLES,
    ClassSet,
    StudentLimitError,
    csv_text,
    room_code,
)
from classroom.live_board import LiveBoard
from classroom.quiz import Quiz, QuizError
from classroom.rate_limit import RateLimitError
from classroom.rooms import CLOSED_ROOM_KEEP_SECONDS, Rooms
from classroom.run_store import RunStore, delete_room_folders, room_runs_dir
from classroom.runs import list_saved_runs
from classroom.schema import alembic_config, head_revision
from classroom.teacher import Revocations, TokenClaims
from mnist_cnn.paths import BUNDLED_RUN_DIR

ROOM_A, ROOM_B = "CDFHJK", "MNPQRT"
RUN = "20260101-000000-tutorial-aaaa"
SEVEN = np.eye(10)[7] * 0.9 + 0.01  # the network answers 7
TWO = np.eye(10)[2] * 0.9 + 0.01


def digit_image(column):
    image = np.zeros((28, 28), np.uint8)
    image[5:20, column] = 255
    return image


@pytest.fixture
def database(class_set_url):
    database = ClassSet(class_set_url, min_seconds_between_digits=0)
    yield database
    database.dispose()


def give(class_set, label, student):
    return class_set.add(digit_image(5 + label), label, label, 0.9, student)


def copy_bundled_run(runs_root, name=RUN):
    shutil.copytree(BUNDLED_RUN_DIR, runs_root / name)
    return runs_root / name


def test_the_room_owned_tables_are_every_table_of_a_class():
    assert sorted(table.name for table in ROOM_OWNED_TABLES) == [
        "class_choices", "class_digits", "class_settings", "live_run", "quiz_rounds", "quiz_state", "quiz_votes", "runs",
        "teacher_revocations",
    ]
    assert all(table.c.room.type.length == JOIN_CODE_LENGTH for table in ROOM_OWNED_TABLES)
    for not_a_room in (None, 3, "TOOLONGCODE"):
        with pytest.raises(ValueError):
            room_code(not_a_room)


def test_digits_given_in_one_room_are_not_counted_listed_deleted_or_undone_from_another(database):
    room_a, room_b = database.in_room(ROOM_A), database.in_room(ROOM_B)
    a_ids = [give(room_a, label, "ann") for label in (1, 2, 3)]
    b_id = give(room_b, 4, "ann")  # the same student id in another room: another student there
    assert (len(room_a), len(room_b), len(database)) == (3, 1, 0)
    assert list(room_b.count_by_label()) == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert list(room_b.digits().ids) == [b_id] and list(room_a.digits().ids) == a_ids
    assert csv_text(room_b.digits()).count("\n") == 2  # a header and its own digit

    assert room_b.delete_digits(a_ids).count == 0 and room_b.delete_students(["ann"]).count == 1
    assert room_b.clear().count == 0 and len(room_a) == 3
    deletion = room_a.delete_digits(a_ids[:1])
    assert room_b.undo(deletion.id) == 0 and len(room_a) == 2
    assert database.undo(deletion.id) == 0 and room_a.undo(deletion.id) == 1 and len(room_a) == 3


def test_each_room_has_its_own_allowance_per_student(database):
    room_a, room_b = database.in_room(ROOM_A), database.in_room(ROOM_B)
    room_a.set_digits_per_student(1)
    assert (room_a.digits_per_student(), room_b.digits_per_student(), database.digits_per_student()) == (1, 20, 20)
    room_b.set_digits_per_student(5)
    assert room_a.digits_per_student() == 1
    room_a.add(digit_image(9), 3, 3, 0.9, "ann", within_limit=True)
    with pytest.raises(StudentLimitError):
        room_a.add(digit_image(9), 3, 3, 0.9, "ann", within_limit=True)
    room_b.add(digit_image(9), 3, 3, 0.9, "ann", within_limit=True)  # ann's digit in A does not count in B
    assert (room_a.given_this_lesson("ann"), room_b.given_this_lesson("ann"), database.given_this_lesson("ann")) == (1, 1, 0)


def test_a_digit_given_in_one_room_does_not_hold_up_the_next_in_another(class_set_url):
    moment = datetime.now(UTC)
    database = ClassSet(class_set_url, now=lambda: moment, min_seconds_between_digits=1.0)
    database.in_room(ROOM_A).add(digit_image(9), 3, 3, 0.9, "ann", within_limit=True)
    database.in_room(ROOM_B).add(digit_image(9), 3, 3, 0.9, "ann", within_limit=True)  # the same moment, another room
    with pytest.raises(RateLimitError):
        database.in_room(ROOM_A).add(digit_image(9), 3, 3, 0.9, "ann", within_limit=True)
    database.dispose()


def test_each_room_has_its_own_quiz(database):
    quiz_a, quiz_b, no_room = Quiz(database, ROOM_A), Quiz(database, ROOM_B), Quiz(database)
    assert quiz_a.start_round(digit_image(8), SEVEN, label=3, host="host-a") == 1
    assert quiz_b.view().round_number == 0 and no_room.view().round_number == 0
    with pytest.raises(QuizError, match="no quiz round open"):
        quiz_b.vote("ann", 7, 1)  # A's round is not B's
    assert quiz_b.may_control("student")  # A's host runs A only

    assert quiz_b.start_round(digit_image(12), TWO, host="host-b") == 1  # B's first round, as A's was
    quiz_a.vote("ann", 7, 1)
    quiz_a.vote("bob", 7, 1)
    quiz_b.vote("ann", 4, 1)
    assert (quiz_a.view("ann").my_vote, quiz_b.view("ann").my_vote) == (7, 4)
    assert (quiz_a.view().vote_count, quiz_b.view().vote_count) == (2, 1)
    with pytest.raises(QuizError, match="Only the teacher"):
        quiz_b.reveal("host-a")  # A's host token is nobody in B

    quiz_b.reveal("host-b")
    assert quiz_b.view().revealed and not quiz_a.view().revealed
    quiz_a.vote("ann", 2, 1)  # votes in A stay open
    quiz_a.reveal("host-a")
    assert (quiz_a.view("ann").my_score, quiz_b.view("ann").my_score) == ((0, 1), (0, 1))
    assert (quiz_a.view().class_score, quiz_b.view().class_score) == ((1, 2), (0, 1))

    quiz_a.end("host-a")
    assert quiz_a.view().round_number == 0 and quiz_b.view().round_number == 1 and quiz_b.view().revealed


def test_each_room_claims_and_stops_its_own_live_run(database):
    server_1_a, server_2_a = LiveBoard(database, ROOM_A), LiveBoard(database, ROOM_A)
    server_1_b, no_room = LiveBoard(database, ROOM_B), LiveBoard(database)
    assert server_1_a.claim("run-a")
    assert not server_2_a.claim("run-a2")  # one run at a time in a room
    assert server_1_b.claim("run-b") and no_room.claim("run-class")  # A's run does not block B or the class
    assert server_2_a.elsewhere().run_name == "run-a" and LiveBoard(database, ROOM_B).elsewhere().run_name == "run-b"
    assert not server_1_b.request_stop("run-a") and not no_room.request_stop("run-a")
    with database.transaction() as connection:
        stops = dict(connection.execute(sa.select(LIVE_RUN.c.room, LIVE_RUN.c.stop_requested)).all())
    assert stops == {ROOM_A: False, ROOM_B: False, DEFAULT_ROOM: False}
    assert server_2_a.request_stop("run-a")


def test_two_servers_claiming_a_new_rooms_first_run_at_once_get_one_run(class_set_url):
    databases = [ClassSet(class_set_url) for _ in range(2)]
    for database in databases:
        database.schema_revision()  # migrated before the race
    boards = [LiveBoard(database, ROOM_A) for database in databases]
    barrier, claimed = threading.Barrier(2), []

    def claim(board, name):
        barrier.wait()
        claimed.append(board.claim(name))

    threads = [threading.Thread(target=claim, args=(board, f"run-{i}")) for i, board in enumerate(boards)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == [False, True]
    for database in databases:
        database.dispose()


def test_runs_saved_in_a_room_are_listed_and_kept_in_that_room_only(database, tmp_path):
    store_a, store_b = RunStore(database, tmp_path / "server", ROOM_A), RunStore(database, tmp_path / "server", ROOM_B)
    class_store = RunStore(database, tmp_path / "server")
    assert store_a.runs_root == room_runs_dir(tmp_path / "server", ROOM_A) != class_store.runs_root == tmp_path / "server"
    run = copy_bundled_run(store_a.runs_root)
    store_a.save(run)
    assert store_b.sync(force=True) == [] and class_store.sync(force=True) == []
    assert store_b.record(RUN) is None and class_store.record(RUN) is None
    assert list_saved_runs(store_b.runs_root) == [] and list_saved_runs(class_store.runs_root) == []  # no room's folder shows

    store_b.delete(RUN)  # B has no such run: A's stays
    other_server_a = RunStore(database, tmp_path / "other-server", ROOM_A)
    assert other_server_a.sync(force=True) == [RUN] and (other_server_a.runs_root / RUN).is_dir()

    same_name_in_b = copy_bundled_run(store_b.runs_root)
    (same_name_in_b / "metrics.json").write_text('{"status": "b"}')
    store_b.save(same_name_in_b)
    assert store_b.record(RUN) == '{"status": "b"}' and store_a.record(RUN) == (run / "metrics.json").read_text()


def test_the_class_model_chosen_in_a_room_is_that_rooms_only(database, tmp_path):
    store_a, store_b = RunStore(database, tmp_path, ROOM_A), RunStore(database, tmp_path, ROOM_B)
    class_store = RunStore(database, tmp_path)
    store_a.set_class_model_name(RUN)
    class_store.set_class_model_name("the-class-run")
    assert RunStore(database, tmp_path, ROOM_B).class_model_name() is None  # a fresh read, not a copy
    assert RunStore(database, tmp_path, ROOM_A).class_model_name() == RUN
    store_b.set_class_model_name("b-run")
    store_b.set_class_model_name(None)
    assert (RunStore(database, tmp_path, ROOM_A).class_model_name(), RunStore(database, tmp_path).class_model_name()) == (
        RUN, "the-class-run")


def test_signing_out_every_device_in_a_room_revokes_no_other_rooms_tokens(database):
    now = time.time()
    token = TokenClaims("token-id", issued_at=now - 60, expires_at=int(now + 3600))

    def revocations(room):
        return Revocations(lambda: database.in_room(room), refresh_seconds=0)

    revocations(ROOM_A).revoke_all(now)
    revocations(ROOM_B).revoke(TokenClaims("b-token", now - 60, int(now + 3600)))
    assert revocations(ROOM_A).is_revoked(token)  # read back from the database, as another server would
    assert not revocations(ROOM_B).is_revoked(token) and not revocations(DEFAULT_ROOM).is_revoked(token)
    assert database.in_room(ROOM_A).teacher_revocations()[0] == set()
    assert database.in_room(ROOM_B).teacher_revocations() == ({"b-token"}, None)


def fill_every_table(database, room, runs_root):
    """A row of ``room`` in every room-owned table."""
    class_set = database.in_room(room)
    give(class_set, 5, "ann")
    class_set.set_digits_per_student(9)
    class_set.sign_out_teacher_tokens(time.time(), time.time() + 3600)
    store = RunStore(database, runs_root, room)
    store.save(copy_bundled_run(store.runs_root))
    store.set_class_model_name(RUN)
    LiveBoard(database, room).claim("live")
    quiz = Quiz(database, room)
    quiz.start_round(digit_image(4), SEVEN, host="host")
    quiz.vote("ann", 7, 1)


def rows_per_room(database):
    with database.transaction() as connection:
        return {
            table.name: dict(connection.execute(sa.select(table.c.room, sa.func.count()).group_by(table.c.room)).all())
            for table in ROOM_OWNED_TABLES
        }


def test_purging_a_closed_room_deletes_all_its_rows_and_no_other_rooms(database, tmp_path):
    now = [1_800_000_000.0]
    rooms = Rooms(database, clock=lambda: now[0])
    closed, kept = rooms.create("teacher-1"), rooms.create("teacher-2")
    for room in (closed.code, kept.code, DEFAULT_ROOM):
        fill_every_table(database, room, tmp_path / "runs")
    assert all(counts == {closed.code: counts[kept.code], kept.code: counts[kept.code], DEFAULT_ROOM: counts[kept.code]}
               for counts in rows_per_room(database).values())
    rooms.close(closed.code)
    now[0] += CLOSED_ROOM_KEEP_SECONDS + 1
    assert rooms.purge_closed() == [closed.code]
    left = rows_per_room(database)
    assert all(closed.code not in counts and kept.code in counts and DEFAULT_ROOM in counts for counts in left.values()), left
    assert Quiz(database, kept.code).view().vote_count == 1 and len(database.in_room(kept.code)) == 1


def test_a_purged_rooms_runs_never_reach_a_new_room_with_its_code(database, tmp_path):
    now = [1_800_000_000.0]
    rooms = Rooms(database, clock=lambda: now[0], new_code=lambda: ROOM_A,
                  purge_hooks=[lambda connection, codes: delete_room_folders(tmp_path / "purging-server", codes)])
    old_room = rooms.create("teacher-1")
    purging, running, restarted = (RunStore(database, tmp_path / server, ROOM_A)
                                   for server in ("purging-server", "running-server", "restarted-server"))
    purging.save(copy_bundled_run(purging.runs_root))
    assert running.sync(force=True) == [RUN] and restarted.sync(force=True) == [RUN]
    rooms.close(old_room.code)
    now[0] += CLOSED_ROOM_KEEP_SECONDS + 1
    assert rooms.purge_closed() == [ROOM_A] and not purging.runs_root.exists()

    rooms.create("teacher-2")  # the same code, a new class
    running.sync(force=True)  # its store was open through the purge: the run went with its row
    after_restart = RunStore(database, tmp_path / "restarted-server", ROOM_A)  # a new store finds the folder on disk
    after_restart.sync(force=True)
    assert RunStore(database, tmp_path / "new", ROOM_A).sync(force=True) == []
    assert list_saved_runs(running.runs_root) == list_saved_runs(after_restart.runs_root) == []
    assert rows_per_room(database)["runs"] == {}


def test_upgrading_a_database_from_0009_keeps_its_rows_in_the_class_without_a_room(class_set_url):
    engine = sa.create_engine(class_set_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0009")
        for statement in (
            "INSERT INTO class_digits (image, label, predicted, confidence, created_at, student_id)"
            " VALUES (:image, 3, 3, 0.9, :now, 'ann')",
            "INSERT INTO class_settings (name, value) VALUES ('digits_per_student', 7)",
            "INSERT INTO teacher_revocations (token_id, issued_before, expires_at) VALUES ('locked', NULL, 9e9)",
            "INSERT INTO runs (name, record, updated_at) VALUES ('old-run', '{}', 1.0)",
            "INSERT INTO class_choices (name, value) VALUES ('class_model', 'old-run')",
            "INSERT INTO live_run (id, server_id, run_name, snapshot, updated_at)"
            " VALUES (1, 's', 'old-run', '{\"state\": \"finished\"}', 1.0)",
            "UPDATE quiz_state SET round_number = 1, version = 3",
            "INSERT INTO quiz_rounds (number, image, probabilities, label, source, model, ask_truth, revealed, created_at)"
            " VALUES (1, :image, :probabilities, 3, 'old', 'bundled', false, false, 1.0)",
            "INSERT INTO quiz_votes (round_number, question, voter, digit) VALUES (1, 'network', 'ann', 7)",
        ):
            connection.execute(sa.text(statement), {
                "image": digit_image(7).tobytes(), "now": datetime.now(UTC),
                "probabilities": SEVEN.astype("<f8").tobytes(),
            })
    engine.dispose()

    database = ClassSet(class_set_url)
    assert database.schema_revision() == head_revision()
    assert database.digits().student_ids == ["ann"] and database.digits_per_student() == 7
    assert database.teacher_revocations() == ({"locked"}, None)
    assert RunStore(database, "unused").record("old-run") == "{}" and RunStore(database, "unused").class_model_name() == "old-run"
    assert LiveBoard(database).elsewhere().run_name == "old-run"
    view = Quiz(database).view("ann")
    assert (view.round_number, view.version, view.my_vote) == (1, 3, 7)
    room = database.in_room(ROOM_A)
    assert len(room) == 0 and room.digits_per_student() == 20 and Quiz(database, ROOM_A).view().round_number == 0
    assert RunStore(database, "unused", ROOM_A).record("old-run") is None and LiveBoard(database, ROOM_A).elsewhere() is None
    database.dispose()


def test_a_downgrade_keeps_the_class_without_a_room_and_upgrades_again(database):
    give(database, 1, "ann")
    give(database.in_room(ROOM_A), 2, "bob")
    Quiz(database, ROOM_A).start_round(digit_image(3), SEVEN, host="host")
    LiveBoard(database).claim("class-run")
    database.dispose()
    engine = sa.create_engine(database.url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0009")
        assert connection.execute(sa.text("SELECT student_id FROM class_digits")).scalars().all() == ["ann"]
        assert connection.execute(sa.text("SELECT id, run_name FROM live_run")).all() == [(1, "class-run")]
        assert connection.execute(sa.text("SELECT id, round_number FROM quiz_state")).all() == [(1, 0)]
        command.upgrade(alembic_config(connection), "head")
    engine.dispose()
    again = ClassSet(database.url.render_as_string(hide_password=False))
    assert again.digits().student_ids == ["ann"] and len(again.in_room(ROOM_A)) == 0
    with again.transaction() as connection:
        assert connection.execute(sa.select(LIVE_RUN.c.room, LIVE_RUN.c.run_name)).all() == [(DEFAULT_ROOM, "class-run")]
    again.dispose()
