"""The class set's database layer, on SQLite always and on PostgreSQL when one is available (always in CI)."""
import csv
import io
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from classroom.class_set import (
    DATABASE_URL_ENV,
    DEFAULT_DIGITS_PER_STUDENT,
    UNDO_SECONDS,
    ClassSet,
    ClassSetUnavailableError,
    ConfirmationNeeded,
    StudentLimitError,
    by_student,
    csv_text,
    database_url,
    give_to_class,
    npz_bytes,
)
from classroom.rate_limit import LESSON_SECONDS, MAX_PER_LESSON, RateLimitError
from classroom.schema import head_revision
from mnist_cnn.data import load_test_set
from mnist_cnn.evaluation import wilson_interval
from support.database import at_once, query
from support.hand_made_schema import make_hand_made_database


@pytest.fixture(scope="module")
def mnist_digits():
    images, labels = load_test_set()
    return images[:200], labels[:200]


@pytest.fixture
def class_set(class_set_url):
    digits = ClassSet(class_set_url)
    yield digits
    digits.dispose()


def add_test_digit(class_set, image, label, session="session-a"):
    return class_set.add(image, int(label), int(label), 0.9, session)


def test_added_digits_come_back_exactly_with_their_reading(class_set, mnist_digits):
    images, labels = mnist_digits
    before = datetime.now(UTC)
    ids = [class_set.add(images[i], int(labels[i]), (int(labels[i]) + 1) % 10, 0.25 + i / 100, f"s{i}") for i in range(5)]
    assert len(set(ids)) == 5
    digits = class_set.digits()
    assert list(digits.ids) == ids
    np.testing.assert_array_equal(digits.images, images[:5])
    assert digits.images.dtype == np.uint8 and digits.labels.dtype == np.uint8
    np.testing.assert_array_equal(digits.labels, labels[:5])
    np.testing.assert_array_equal(digits.predicted, (labels[:5].astype(int) + 1) % 10)
    np.testing.assert_allclose(digits.confidences, [0.25, 0.26, 0.27, 0.28, 0.29])
    assert digits.student_ids == ["s0", "s1", "s2", "s3", "s4"]
    for moment in digits.created_at:
        assert moment.tzinfo is not None and before - timedelta(seconds=5) <= moment <= datetime.now(UTC) + timedelta(seconds=5)
    x, y = class_set.images_and_labels()
    assert x.shape == (5, 28, 28) and y.shape == (5,)


def test_count_by_label_delete_and_clear(class_set, mnist_digits):
    images, labels = mnist_digits
    ids = [add_test_digit(class_set, images[i], labels[i]) for i in range(30)]
    np.testing.assert_array_equal(class_set.count_by_label(), np.bincount(labels[:30], minlength=10))
    assert len(class_set) == 30

    assert class_set.delete(ids[3]) is True
    assert class_set.delete(ids[3]) is False  # already gone
    expected = np.bincount(np.delete(labels[:30], 3), minlength=10)
    np.testing.assert_array_equal(class_set.count_by_label(), expected)
    assert ids[3] not in class_set.digits().ids

    assert class_set.clear().count == 29
    assert len(class_set) == 0
    assert class_set.digits().images.shape == (0, 28, 28)


def test_float_images_are_stored_as_uint8(class_set):
    image = np.zeros((28, 28), np.float32)
    image[10:18, 13:15] = 1.0
    image[9, 13] = 0.5
    class_set.add(image, 1, 1, 0.99, "s")
    stored = class_set.digits().images[0]
    assert stored[12, 13] == 255 and stored[9, 13] == 128 and stored[0, 0] == 0


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(label=10), "label must be a digit from 0 to 9"),
        (dict(label=-1), "label must be a digit from 0 to 9"),
        (dict(label=3.0), "label must be a digit"),
        (dict(label=True), "label must be a digit"),
        (dict(predicted=11), "prediction must be a digit"),
        (dict(confidence=1.5), "confidence must be a probability"),
        (dict(confidence=float("nan")), "confidence must be a probability"),
        (dict(image=np.zeros((28, 28), np.uint8)), "blank"),
        (dict(image=np.ones((20, 20), np.uint8)), "28 x 28"),
        (dict(image=np.full((28, 28), 2.0)), "from 0 to 1"),
        (dict(student_id=""), "student id"),
        (dict(student_id="x" * 65), "student id"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(class_set, mnist_digits, change, message):
    arguments = dict(image=mnist_digits[0][0], label=7, predicted=7, confidence=0.5, student_id="s")
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        class_set.add(**arguments)
    assert len(class_set) == 0


def test_schema_is_created_once_and_versioned(class_set_url, mnist_digits):
    first = ClassSet(class_set_url)
    add_test_digit(first, mnist_digits[0][0], 7)
    assert first.schema_revision() == head_revision()
    first.dispose()
    second = ClassSet(class_set_url)  # a restarted app finds the schema and the digits
    assert second.schema_revision() == head_revision()
    assert len(second) == 1
    engine = sa.create_engine(class_set_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
        # 4: a server from before Alembic (schema version 3) refuses this database as "newer than this app"
        assert connection.execute(sa.text("SELECT version FROM schema_version")).scalars().all() == [4]
    engine.dispose()
    second.dispose()


def test_a_database_from_a_newer_app_is_refused(class_set_url):
    ClassSet(class_set_url).count_by_label()
    engine = sa.create_engine(class_set_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d_from_the_future'"))
    engine.dispose()
    with pytest.raises(ClassSetUnavailableError, match="revision f00d_from_the_future, newer than this app's revision .*update the app"):
        ClassSet(class_set_url).count_by_label()


def test_least_collected_label_keeps_the_set_balanced(class_set, mnist_digits):
    images, labels = mnist_digits
    for digit in range(10):
        if digit != 4:
            add_test_digit(class_set, images[labels == digit][0], digit)
    assert class_set.least_collected_label() == 4
    add_test_digit(class_set, images[labels == 4][0], 4)
    prompts = {class_set.least_collected_label(np.random.default_rng(seed)) for seed in range(40)}
    assert prompts == set(range(10))  # a tie: any label, so a class is not all prompted the same digit


def test_export_npz_has_mnist_layout(class_set, mnist_digits):
    images, labels = mnist_digits
    for i in range(12):
        add_test_digit(class_set, images[i], labels[i])
    exported = np.load(io.BytesIO(npz_bytes(class_set.digits())))
    assert sorted(exported.files) == ["x", "y"]
    assert exported["x"].shape == (12, 28, 28) and exported["x"].dtype == np.uint8
    assert exported["y"].shape == (12,) and exported["y"].dtype == np.uint8
    np.testing.assert_array_equal(exported["x"], images[:12])
    np.testing.assert_array_equal(exported["y"], labels[:12])


def test_export_csv_one_row_per_digit_with_its_pixels(class_set, mnist_digits):
    images, labels = mnist_digits
    for i in range(3):
        add_test_digit(class_set, images[i], labels[i])
    rows = list(csv.DictReader(io.StringIO(csv_text(class_set.digits()))))
    assert len(rows) == 3
    assert [int(row["label"]) for row in rows] == list(labels[:3])
    pixels = np.array([[int(row[f"pixel{k}"]) for k in range(784)] for row in rows], np.uint8).reshape(3, 28, 28)
    np.testing.assert_array_equal(pixels, images[:3])
    assert datetime.fromisoformat(rows[0]["created_at"]).tzinfo is not None


def test_thirty_sessions_adding_at_once_lose_nothing(class_set, mnist_digits):
    images, labels = mnist_digits
    sessions, per_session = 30, 5

    def student(number):
        for k in range(per_session):
            i = (number * per_session + k) % len(labels)
            class_set.add(images[i], int(labels[i]), int(labels[i]), 0.5, f"student-{number}")

    assert at_once(student, sessions) == []
    digits = class_set.digits()
    assert len(digits) == sessions * per_session
    assert len(set(digits.ids.tolist())) == sessions * per_session
    for number in range(sessions):
        mine = [i for i, session in enumerate(digits.student_ids) if session == f"student-{number}"]
        assert len(mine) == per_session
        expected = [(number * per_session + k) % len(labels) for k in range(per_session)]
        np.testing.assert_array_equal(np.sort(digits.labels[mine]), np.sort(labels[expected]))


def test_servers_starting_together_create_the_schema_once(class_set_url, mnist_digits):
    """Several app processes (here: separate ClassSet objects, each with its own pool) using a new
    database at the same moment: one creates the schema, every digit is kept."""
    servers = [ClassSet(class_set_url) for _ in range(8)]
    errors = at_once(
        lambda number: add_test_digit(servers[number], mnist_digits[0][number], mnist_digits[1][number], f"server-{number}"),
        len(servers),
    )
    assert errors == []
    assert len(servers[0]) == len(servers)
    engine = sa.create_engine(class_set_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    engine.dispose()
    for server in servers:
        server.dispose()


def test_a_locked_sqlite_database_gives_a_clear_message(tmp_path, mnist_digits):
    path = tmp_path / "class_set.sqlite"
    class_set = ClassSet(f"sqlite:///{path}", busy_timeout=0.2)
    add_test_digit(class_set, mnist_digits[0][0], 7)
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ClassSetUnavailableError, match="busy .*Try again in a moment"):
            add_test_digit(class_set, mnist_digits[0][1], 2)
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()
    add_test_digit(class_set, mnist_digits[0][1], 2)  # free again
    assert len(class_set) == 2


def test_a_database_that_is_down_gives_a_clear_message(tmp_path):
    down = ClassSet("postgresql+psycopg://nobody@/class?host=" + str(tmp_path))  # no server listens on that socket
    with pytest.raises(ClassSetUnavailableError, match="postgresql database cannot be reached.*Try again in a moment"):
        down.count_by_label()
    unreadable = ClassSet(f"sqlite:///{tmp_path / 'not-a-folder'}")
    (tmp_path / "not-a-folder").mkdir()  # a folder where the file should be
    with pytest.raises(ClassSetUnavailableError, match="cannot be reached"):
        len(unreadable)


def test_location_names_the_store_but_never_the_password(tmp_path):
    assert ClassSet(f"sqlite:///{tmp_path / 'class_set.sqlite'}").location == "a SQLite file on this server (class_set.sqlite)"
    remote = ClassSet("postgresql+psycopg://teacher:s3cret@db.example.org:5432/classes")
    assert remote.location == "the postgresql database classes on db.example.org"
    assert "s3cret" not in repr(remote)


def test_not_a_url_is_a_clear_error():
    with pytest.raises(ClassSetUnavailableError, match="not a database URL"):
        ClassSet("class set please")


def test_database_url_prefers_the_environment_then_secrets_then_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path))
    assert database_url() == f"sqlite:///{tmp_path / 'class_set.sqlite'}"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv(DATABASE_URL_ENV, "sqlite:////elsewhere.sqlite")
    assert database_url("postgresql+psycopg://u@h/db") == "sqlite:////elsewhere.sqlite"


def test_default_class_set_is_a_sqlite_file_in_the_data_folder(monkeypatch, tmp_path, mnist_digits):
    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path / "app-data"))
    class_set = ClassSet()
    add_test_digit(class_set, mnist_digits[0][0], 7)
    assert (tmp_path / "app-data" / "class_set.sqlite").is_file()
    class_set.dispose()


# -- giving a drawing: verdicts and the rate limit ----------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def one_hot(digit, probability=0.9):
    probabilities = np.full(10, (1 - probability) / 9)
    probabilities[digit] = probability
    return probabilities


def test_give_to_class_stores_the_reading_and_refuses_blank_and_non_digits(tmp_path, mnist_digits):
    class_set = ClassSet(f"sqlite:///{tmp_path / 'c.sqlite'}")
    image = mnist_digits[0][0]
    new_id = give_to_class(class_set, "s", 1, "digit", image, one_hot(1, 0.8))
    digits = class_set.digits()
    assert list(digits.ids) == [new_id] and digits.labels[0] == 1 and digits.predicted[0] == 1
    assert digits.confidences[0] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="draw a digit"):
        give_to_class(class_set, "s", 7, "blank", None, None)
    for confirmed in (False, True):  # "not a digit" is refused, whatever the student says
        with pytest.raises(ValueError, match="does not see a digit"):
            give_to_class(class_set, "s", 7, "not a digit", image, one_hot(0, 0.87), confirmed=confirmed)
    with pytest.raises(ValueError, match="label must be a digit from 0 to 9"):
        give_to_class(class_set, "s", 12, "digit", image, one_hot(1))
    assert len(class_set) == 1


def test_an_unsure_drawing_or_a_label_against_a_confident_reading_goes_in_only_after_a_yes(tmp_path, mnist_digits):
    clock = WallClock()
    class_set = ClassSet(f"sqlite:///{tmp_path / 'c.sqlite'}", now=clock)
    image = mnist_digits[0][0]
    with pytest.raises(ConfirmationNeeded) as asked:
        give_to_class(class_set, "s", 3, "digit", image, one_hot(4, 0.95))
    assert asked.value.question == "The network reads 4: give it as 3?"
    with pytest.raises(ConfirmationNeeded, match="not sure this is a digit .*nearest is 4.* only if you drew a clear 4"):
        give_to_class(class_set, "s", 4, "unsure", image, one_hot(4, 0.5))  # even the digit it leans to
    assert len(class_set) == 0  # nothing went in without the answer
    give_to_class(class_set, "s", 3, "digit", image, one_hot(4, 0.95), confirmed=True)
    clock.advance(1)  # one digit a second
    give_to_class(class_set, "s", 4, "unsure", image, one_hot(4, 0.5), confirmed=True)
    assert list(class_set.digits().labels) == [3, 4]


class WallClock:
    """A settable UTC time of day for ClassSet(now=...)."""

    def __init__(self):
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


def test_the_per_student_limit_is_kept_in_the_database(class_set_url, mnist_digits):
    """Counted per student id in the database: a reload (same id), another server process or a restart
    (another ClassSet) does not reset it; the teacher's setting is shared the same way."""
    images, labels = mnist_digits
    clock = WallClock()
    server, other_server = ClassSet(class_set_url, now=clock), ClassSet(class_set_url, now=clock)
    assert server.digits_per_student() == DEFAULT_DIGITS_PER_STUDENT == 20
    server.set_digits_per_student(3)
    assert other_server.digits_per_student() == 3
    for i in range(3):
        clock.advance(10)
        (server if i % 2 else other_server).add(images[i], int(labels[i]), int(labels[i]), 0.9, "student-a", within_limit=True)
    clock.advance(10)
    for store in (server, other_server):
        with pytest.raises(StudentLimitError, match="given 3 digits this lesson"):
            store.add(images[5], int(labels[5]), int(labels[5]), 0.9, "student-a", within_limit=True)
    assert isinstance(StudentLimitError("x"), RateLimitError)  # the page shows both the same way
    other_server.add(images[5], int(labels[5]), int(labels[5]), 0.9, "student-b", within_limit=True)  # another student
    server.add(images[6], int(labels[6]), int(labels[6]), 0.9, "student-a")  # the limit is the give flow's, not the table's
    assert server.given_this_lesson("student-a") == 4 and server.given_this_lesson("student-b") == 1

    other_server.set_digits_per_student(5)  # the teacher raises it
    clock.advance(10)
    server.add(images[7], int(labels[7]), int(labels[7]), 0.9, "student-a", within_limit=True)
    clock.advance(10)
    with pytest.raises(StudentLimitError):
        server.add(images[8], int(labels[8]), int(labels[8]), 0.9, "student-a", within_limit=True)
    clock.advance(LESSON_SECONDS)  # the next lesson
    assert server.given_this_lesson("student-a") == 0
    server.add(images[8], int(labels[8]), int(labels[8]), 0.9, "student-a", within_limit=True)
    for bad in (0, MAX_PER_LESSON + 1, 2.5, True, "20"):
        with pytest.raises(ValueError, match="whole number from 1"):
            server.set_digits_per_student(bad)
    assert other_server.digits_per_student() == 5
    server.dispose()
    other_server.dispose()


def test_students_giving_at_once_never_pass_the_limit_together(class_set_url, mnist_digits):
    images, labels = mnist_digits
    servers = [ClassSet(class_set_url, min_seconds_between_digits=0) for _ in range(6)]  # the allowance alone
    servers[0].set_digits_per_student(4)
    start, refused, errors = threading.Barrier(len(servers)), [], []

    def give(number):
        try:
            start.wait()
            for k in range(3):
                try:
                    servers[number].add(images[k], int(labels[k]), int(labels[k]), 0.9, "one-phone", within_limit=True)
                except StudentLimitError:
                    refused.append(number)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=give, args=(n,)) for n in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(servers[0]) == 4 and len(refused) == 6 * 3 - 4
    for server in servers:
        server.dispose()


def test_a_students_digits_or_a_selection_go_in_one_action_and_come_back_with_undo(class_set_url, mnist_digits):
    images, labels = mnist_digits
    clock = WallClock()
    class_set = ClassSet(class_set_url, now=clock)
    ids = {student: [add_test_digit(class_set, images[i], labels[i], student) for i in range(k, k + 5)]
           for k, student in enumerate(["spammer", "careful", "other"])}
    deletion = class_set.delete_students(["spammer", "other"])
    assert deletion.count == 10 and len(class_set) == 5
    assert set(class_set.digits().student_ids) == {"careful"}
    assert class_set.given_this_lesson("spammer") == 0  # deleted digits free the student's allowance
    clock.advance(UNDO_SECONDS - 1)
    assert class_set.undo(deletion.id) == 10
    assert len(class_set) == 15 and class_set.digits().student_ids.count("spammer") == 5

    selection = class_set.delete_digits(ids["careful"][:2] + ids["other"][:1])
    assert selection.count == 3 and len(class_set) == 12
    assert not set(ids["careful"][:2]) & set(class_set.digits().ids.tolist())
    clock.advance(UNDO_SECONDS + 1)
    assert class_set.undo(selection.id) == 0  # too late: the write before it removed them for good
    assert len(class_set) == 12 and query(class_set_url, "SELECT COUNT(*) FROM class_digits") == [(12,)]
    assert class_set.undo("no-such-deletion") == 0

    everything = class_set.clear()
    assert everything.count == 12 and len(class_set) == 0
    assert class_set.undo(everything.id) == 12  # even Clear all can be undone for a minute
    class_set.dispose()


def test_pooling_copies_another_class_s_digits_once_and_leaves_that_class_as_it_was(class_set, mnist_digits):
    images, labels = mnist_digits
    first, second = class_set.in_room("KX7MFP"), class_set.in_room("TW4NCH")
    for i in range(4):
        add_test_digit(first, images[i], labels[i], session=f"student-{i % 2}")
    add_test_digit(second, images[0], labels[0], session="here")  # the same digit, already in the second class
    add_test_digit(first, images[5], labels[5], session="student-0")
    first.delete(first.digits().ids[-1])  # a deleted digit is not pooled

    assert second.pool_from("KX7MFP") == (3, 1)
    pooled = second.digits()
    assert len(pooled) == 4 and sorted(pooled.labels.tolist()) == sorted(labels[:4].tolist())
    assert sorted(pooled.student_ids) == ["here", "student-0", "student-1", "student-1"]
    assert second.pool_from("KX7MFP") == (0, 4)  # pooling again adds nothing
    assert len(first) == 4 and len(class_set) == 0  # the first class, and the class outside rooms, unchanged
    with pytest.raises(ValueError, match="itself"):
        first.pool_from("KX7MFP")


def test_by_student_groups_the_digits_newest_student_first(class_set, mnist_digits):
    images, labels = mnist_digits
    for i, student in enumerate(["a", "b", "a", "c", "a"]):
        add_test_digit(class_set, images[i], labels[i], student)
    digits = class_set.digits()
    predictions = digits.labels.astype(int).copy()
    predictions[0] = (predictions[0] + 1) % 10  # one of a's digits misread
    groups = by_student(digits, predictions)
    assert [group.student_id for group in groups] == ["a", "c", "b"]
    assert [list(group.indices) for group in groups] == [[4, 2, 0], [3], [1]]
    assert groups[0].read_right == 2 and groups[0].label_counts.sum() == 3
    np.testing.assert_array_equal(groups[0].label_counts, np.bincount(labels[[0, 2, 4]], minlength=10))
    assert groups[0].last_given == digits.created_at[4]


def test_wilson_interval_keeps_a_dozen_digits_from_looking_like_a_verdict():
    low, high = wilson_interval(12, 12)
    assert low == pytest.approx(12 / (12 + 1.96**2)) and high == 1.0  # 12 of 12: somewhere from 76% to 100%
    assert wilson_interval(9, 12) == pytest.approx((0.4677, 0.9111), abs=1e-4)  # the lesson's "75%"
    assert wilson_interval(0, 5) == pytest.approx((0.0, 0.4345), abs=1e-4)
    low, high = wilson_interval(9_925, 10_000)
    assert high - low < 0.004  # many digits: a narrow interval
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(13, 12)


def test_a_version_1_database_is_upgraded_in_place(class_set_url, mnist_digits):
    """A class set made by the previous app (schema 1, a ``session_id`` per digit) keeps its digits:
    each old session becomes one student."""
    images, labels = mnist_digits
    make_hand_made_database(class_set_url, 1, [(images[i], labels[i], session) for i, session in enumerate(["old-a", "old-b", "old-a"])])
    class_set = ClassSet(class_set_url)
    assert class_set.schema_revision() == head_revision()
    digits = class_set.digits()
    assert digits.student_ids == ["old-a", "old-b", "old-a"]
    np.testing.assert_array_equal(digits.images, images[:3])
    assert class_set.given_this_lesson("old-a") == 2
    assert class_set.delete_students(["old-a"]).count == 2
    add_test_digit(class_set, images[3], labels[3], "new")
    assert class_set.digits().student_ids == ["old-b", "new"]
    class_set.dispose()


def test_one_digit_a_second_per_student_holds_across_servers_and_a_restart(class_set_url, mnist_digits):
    """Timed from the student's last digit in the database: another server process or a restart (another
    ClassSet) refuses a second digit within the second, with the wait left; another student is not held back."""
    images, labels = mnist_digits
    clock = WallClock()
    server, other_server = ClassSet(class_set_url, now=clock), ClassSet(class_set_url, now=clock)
    server.add(images[0], int(labels[0]), int(labels[0]), 0.9, "student-a", within_limit=True)
    with pytest.raises(RateLimitError, match=r"^One digit a second, please: wait 1\.0 s\.$"):
        other_server.add(images[1], int(labels[1]), int(labels[1]), 0.9, "student-a", within_limit=True)
    other_server.add(images[1], int(labels[1]), int(labels[1]), 0.9, "student-b", within_limit=True)
    clock.advance(0.6)
    restarted = ClassSet(class_set_url, now=clock)
    with pytest.raises(RateLimitError, match=r"^One digit a second, please: wait 0\.4 s\.$"):
        restarted.add(images[1], int(labels[1]), int(labels[1]), 0.9, "student-a", within_limit=True)
    clock.advance(0.4)
    restarted.add(images[1], int(labels[1]), int(labels[1]), 0.9, "student-a", within_limit=True)
    assert restarted.given_this_lesson("student-a") == 2  # the refusals left nothing behind
    for store in (server, other_server, restarted):
        store.dispose()


def test_servers_giving_at_once_let_one_digit_of_a_student_through(class_set_url, mnist_digits):
    images, labels = mnist_digits
    clock = WallClock()  # stopped: every give comes in the same instant
    servers = [ClassSet(class_set_url, now=clock) for _ in range(4)]
    for server in servers:
        server.schema_revision()  # migrated before the race
    errors = at_once(
        lambda number: servers[number].add(images[number], int(labels[number]), int(labels[number]), 0.9, "one-phone", within_limit=True),
        len(servers),
    )
    assert len(servers[0]) == 1
    assert [type(error) for error in errors] == [RateLimitError] * 3
    assert [str(error) for error in errors] == ["One digit a second, please: wait 1.0 s."] * 3
    for server in servers:
        server.dispose()


def test_a_failed_addition_does_not_count_against_the_student(tmp_path, mnist_digits):
    down = ClassSet("postgresql+psycopg://nobody@/class?host=" + str(tmp_path))
    with pytest.raises(ClassSetUnavailableError):
        give_to_class(down, "s", 7, "digit", mnist_digits[0][0], one_hot(7))
    working = ClassSet(f"sqlite:///{tmp_path / 'c.sqlite'}")
    give_to_class(working, "s", 7, "digit", mnist_digits[0][0], one_hot(7))  # no "wait a second"
    assert len(working) == 1


def test_a_database_found_down_is_not_asked_again_for_a_while(tmp_path):
    clock = FakeClock()
    down = ClassSet("postgresql+psycopg://nobody@/class?host=" + str(tmp_path), retry_seconds=15, clock=clock)
    attempts = []
    real_connect = down._engine.connect
    down._engine.connect = lambda: attempts.append(1) or real_connect()
    with pytest.raises(ClassSetUnavailableError, match="cannot be reached") as first:
        down.count_by_label()
    tried = len(attempts)
    assert tried >= 1
    clock.now += 10
    with pytest.raises(ClassSetUnavailableError) as again:
        down.count_by_label()
    assert str(again.value) == str(first.value) and len(attempts) == tried  # answered without a new connection
    clock.now += 6
    with pytest.raises(ClassSetUnavailableError):
        down.count_by_label()
    assert len(attempts) > tried  # after the pause it tries again
