"""The class's own handwriting: labelled 28x28 digits kept in a SQL database.

SQLite by default (one file, nothing to set up); any SQLAlchemy URL, e.g. a PostgreSQL server for
a host whose disk is wiped on restart. Stored per digit: the 28x28 uint8 image the network saw,
the label the student meant, the model's prediction and confidence then, a UTC timestamp and the
student's anonymous id (random, kept by their browser). No names, no raw canvas, no addresses.

A deletion only hides digits for :data:`UNDO_SECONDS` (so the teacher can undo it); the next write
after that removes them for good. Each student may give :meth:`ClassSet.digits_per_student` digits
a lesson (a setting kept in the database, so every server process and a restart see it), one a second.

The same database keeps the teacher's sign-outs (Lock, "sign out every device") and the passcode
guard's count of wrong passcodes per client, so they survive a restart, and the class quiz
(:mod:`classroom.quiz`), so every server process on it shows one quiz, and the class rooms
(:mod:`classroom.rooms`) with their join codes.
The schema is created or upgraded on first use by Alembic (:mod:`classroom.schema`, revisions in
``classroom/migrations/versions``); the tables below are the newest revision's, which a test compares
with a migrated database.
"""
import copy
import csv
import io
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from classroom import schema
from classroom.rate_limit import LESSON_SECONDS, MAX_PER_LESSON, MIN_SECONDS_BETWEEN, RateLimitError, require_spacing
from mnist_cnn.data import IMAGE_SHAPE, NUM_CLASSES, as_digit, as_uint8_image
from mnist_cnn.paths import PROJECT_DIR

DATABASE_URL_ENV = "MNIST_CNN_CLASS_DB_URL"
SQLITE_FILE = "class_set.sqlite"
BUSY_TIMEOUT_SECONDS = 5.0  # how long a write waits for a locked SQLite file before giving up
CONNECT_TIMEOUT_SECONDS = 5  # how long a page waits for a database server that does not answer
# After a failed connection, calls fail at once for this long instead of each waiting for the timeout.
RETRY_SECONDS = 15.0
STUDENT_ID_LENGTH = 64
JOIN_CODE_LENGTH = 6  # a class room's join code (classroom.rooms), short enough to read aloud and type on a phone
DEFAULT_ROOM = ""  # the deployment's own class, in no room: every row from before rooms, and the pages' room for now
# Drawings the student may give: "unsure" only once the student confirms the digit they meant.
ACCEPTED_VERDICTS = ("digit", "unsure")
UNDO_SECONDS = 60  # how long a deletion can be undone
DEFAULT_DIGITS_PER_STUDENT = 20  # a lesson's allowance per student until the teacher changes it
DIGITS_PER_STUDENT_SETTING = "digits_per_student"


class ClassSetUnavailableError(RuntimeError):
    """The database cannot be reached or is busy; the message is meant for the page."""


class StudentLimitError(RateLimitError):
    """The student has given this lesson's allowance of digits; the message is meant for the page."""


class ConfirmationNeeded(Exception):
    """The drawing goes in only once the student answers yes to ``question`` (the message)."""

    def __init__(self, question):
        super().__init__(question)
        self.question = question


def data_dir():
    """The folder for the app's own data, such as the class set's SQLite file (`MNIST_CNN_DATA`, else ./data)."""
    return Path(os.environ.get("MNIST_CNN_DATA", PROJECT_DIR / "data"))


def database_url(configured_url=None):
    """The class set's SQLAlchemy URL: ``MNIST_CNN_CLASS_DB_URL``, else ``configured_url`` (from the
    app's secrets), else SQLite in the data folder."""
    url = os.environ.get(DATABASE_URL_ENV) or configured_url
    if url:
        return str(url)
    return f"sqlite:///{data_dir() / SQLITE_FILE}"


def _room_column():
    # The room that owns the row (its join code); every query of a room's store filters by it.
    return sa.Column("room", sa.String(JOIN_CODE_LENGTH), nullable=False, server_default=DEFAULT_ROOM)


def _class_digits_table(metadata):
    """A digit given, hidden by a deletion (``deleted_at``, ``deletion_id``) until it is purged or undone."""
    return sa.Table(
        "class_digits",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _room_column(),
        sa.Column("image", sa.LargeBinary, nullable=False),  # 784 bytes, row by row, 0 = background
        sa.Column("label", sa.SmallInteger, nullable=False),
        sa.Column("predicted", sa.SmallInteger, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("student_id", sa.String(STUDENT_ID_LENGTH), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deletion_id", sa.String(32), nullable=True),
        sa.CheckConstraint("label BETWEEN 0 AND 9", name="label_is_a_digit"),
        sa.CheckConstraint("predicted BETWEEN 0 AND 9", name="predicted_is_a_digit"),
        sa.Index("class_digits_by_room_student", "room", "student_id", "created_at"),
    )


def _class_settings_table(metadata):
    return sa.Table(
        "class_settings",
        metadata,
        _room_column(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("room", "name"),
    )


def _teacher_revocations_table(metadata):
    # A row revokes one teacher token (Lock), or with no token_id every token issued before issued_before
    # ("sign out every device"); it may be forgotten after expires_at, when the tokens it names have expired.
    return sa.Table(
        "teacher_revocations",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _room_column(),
        sa.Column("token_id", sa.String(32), nullable=True),
        sa.Column("issued_before", sa.Float, nullable=True),  # Unix seconds
        sa.Column("expires_at", sa.Float, nullable=False),  # Unix seconds
        sa.Index("teacher_revocations_by_room", "room"),
    )


def _passcode_failures_table(metadata):
    # Wrong teacher passcodes in a row from one client (classroom.teacher.PasscodeGuard); a row goes once it is idle.
    return sa.Table(
        "passcode_failures",
        metadata,
        sa.Column("client", sa.String(64), primary_key=True),  # a SHA-256 of the client's key: no address in clear
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failed_at", sa.Float, nullable=False),  # Unix seconds
    )


def _runs_table(metadata):
    # A saved run: its folder's metrics.json and model.keras (None before the first checkpoint), see classroom.run_store.
    return sa.Table(
        "runs",
        metadata,
        _room_column(),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("model", sa.LargeBinary, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("room", "name"),
    )


def _live_run_table(metadata):
    # The run training now in a room, as its server last published it (classroom.live_board); one row a room.
    return sa.Table(
        "live_run",
        metadata,
        sa.Column("room", sa.String(JOIN_CODE_LENGTH), primary_key=True, server_default=DEFAULT_ROOM),
        sa.Column("server_id", sa.String(32), nullable=False),
        sa.Column("run_name", sa.String(128), nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.Column("stop_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def _class_choices_table(metadata):
    # Text settings of a room every server shares, such as its class model (classroom.class_model).
    return sa.Table(
        "class_choices",
        metadata,
        _room_column(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("room", "name"),
    )


def _quiz_state_table(metadata):
    # One row a room: its quiz as a whole (classroom.quiz); round 0 (or no row yet) means no quiz is running.
    return sa.Table(
        "quiz_state",
        metadata,
        sa.Column("room", sa.String(JOIN_CODE_LENGTH), primary_key=True, server_default=DEFAULT_ROOM),
        sa.Column("round_number", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),  # grows with every change a screen shows
        sa.Column("host", sa.String(64), nullable=True),  # the host token of the visitor who runs it
        sa.Column("host_seen", sa.Float, nullable=False),  # Unix seconds
    )


def _quiz_rounds_table(metadata):
    return sa.Table(
        "quiz_rounds",
        metadata,
        _room_column(),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("image", sa.LargeBinary, nullable=False),  # 784 bytes, row by row, 0 = background
        sa.Column("probabilities", sa.LargeBinary, nullable=False),  # 10 little-endian float64
        sa.Column("label", sa.SmallInteger, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("ask_truth", sa.Boolean, nullable=False),
        sa.Column("revealed", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),  # Unix seconds
        sa.PrimaryKeyConstraint("room", "number"),
    )


def _quiz_votes_table(metadata):
    # One vote per room, round, question ("network" or "truth") and voter: a changed vote replaces it.
    return sa.Table(
        "quiz_votes",
        metadata,
        _room_column(),
        sa.Column("round_number", sa.Integer, nullable=False),
        sa.Column("question", sa.String(8), nullable=False),
        sa.Column("voter", sa.String(STUDENT_ID_LENGTH), nullable=False),
        sa.Column("digit", sa.SmallInteger, nullable=False),
        sa.CheckConstraint("digit BETWEEN 0 AND 9", name="vote_is_a_digit"),
        sa.PrimaryKeyConstraint("room", "round_number", "question", "voter"),
    )


def _rooms_table(metadata):
    # A class room (classroom.rooms): its join code, its activity, when it closed, and the secret its teacher tokens are signed with.
    return sa.Table(
        "rooms",
        metadata,
        sa.Column("code", sa.String(JOIN_CODE_LENGTH), primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),  # Unix seconds: shared by servers, so wall-clock time
        sa.Column("last_active_at", sa.Float, nullable=False),  # Unix seconds
        sa.Column("closed_at", sa.Float, nullable=True),  # Unix seconds; None while the room is open
        sa.Column("teacher_secret", sa.String(64), nullable=False),  # hex of 32 random bytes
        sa.Column("creator", sa.String(64), nullable=False),  # a SHA-256 (hex) of the creating client's key: no address in clear
        sa.Index("rooms_by_creator", "creator", "created_at"),  # the per-client limit on creating rooms
        sa.Index("rooms_by_creation", "created_at"),  # the server-wide limit
    )


METADATA = sa.MetaData()  # the schema at the newest Alembic revision (its autogenerate compares against this)
CLASS_DIGITS = _class_digits_table(METADATA)
CLASS_SETTINGS = _class_settings_table(METADATA)
TEACHER_REVOCATIONS = _teacher_revocations_table(METADATA)
PASSCODE_FAILURES = _passcode_failures_table(METADATA)
RUNS = _runs_table(METADATA)
CLASS_CHOICES = _class_choices_table(METADATA)
LIVE_RUN = _live_run_table(METADATA)
QUIZ_STATE = _quiz_state_table(METADATA)
QUIZ_ROUNDS = _quiz_rounds_table(METADATA)
QUIZ_VOTES = _quiz_votes_table(METADATA)
ROOMS = _rooms_table(METADATA)
# Left from the hand-made migrations, at 4, so a server from before Alembic refuses this database (revision 0004).
SCHEMA_VERSION_TABLE = sa.Table("schema_version", METADATA, sa.Column("version", sa.Integer, nullable=False))
# Every table whose rows belong to a room (its ``room`` column): a purged room's rows go from each of them.
ROOM_OWNED_TABLES = tuple(table for table in METADATA.sorted_tables if "room" in table.c)
_LIVE = CLASS_DIGITS.c.deleted_at.is_(None)  # not deleted (deleted digits wait UNDO_SECONDS for an undo)


@dataclass(frozen=True)
class Deletion:
    """Digits deleted in one action: ``id`` undoes it (:meth:`ClassSet.undo`) until UNDO_SECONDS after ``deleted_at``."""

    id: str
    count: int
    deleted_at: datetime


@dataclass(frozen=True)
class ClassDigits:
    """Digits of the class set as arrays, oldest first."""

    ids: np.ndarray  # int64
    images: np.ndarray  # (n, 28, 28) uint8
    labels: np.ndarray  # (n,) uint8
    predicted: np.ndarray  # (n,) uint8: the model's reading when the digit was given
    confidences: np.ndarray  # (n,) float
    created_at: list  # timezone-aware UTC datetimes
    student_ids: list  # anonymous

    def __len__(self):
        return len(self.ids)


def _use_write_ahead_log(dbapi_connection, busy_timeout):
    """Switch a SQLite file to WAL (kept in the file), waiting out other connections switching it too.

    SQLite answers "database is locked" at once, without its busy timeout, to a connection that asks
    for WAL while another one holds the file: several servers opening a new class set at once.
    """
    give_up_at = time.monotonic() + busy_timeout
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > give_up_at:
                raise
            time.sleep(0.01)


def room_code(room):
    """``room`` checked as a room's key in the tables: DEFAULT_ROOM or a join code (ValueError otherwise)."""
    if not isinstance(room, str) or len(room) > JOIN_CODE_LENGTH:
        raise ValueError(f"A room is its join code of {JOIN_CODE_LENGTH} characters, or {DEFAULT_ROOM!r} for none; got {room!r}.")
    return room


def dialect_insert(connection, table):
    """An INSERT into ``table`` that can say what to do on a conflict (PostgreSQL's or SQLite's own)."""
    return (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(table)


def delete_rooms_data(connection, codes):
    """Delete every row of the rooms ``codes`` from every room-owned table, on ``connection`` (in the caller's
    transaction): the purge hook of :class:`classroom.rooms.Rooms`. The class without a room is never purged."""
    codes = [room_code(code) for code in codes if code != DEFAULT_ROOM]
    if codes:
        for table in ROOM_OWNED_TABLES:
            connection.execute(table.delete().where(table.c.room.in_(codes)))


class _Health:
    """What every room's view of one database shares: whether its schema is ready, and until when it is known down."""

    def __init__(self):
        self.schema_ready = False
        self.down_until, self.down_message = float("-inf"), ""


class ClassSet:
    """The class's labelled digits in the database at ``url`` (see :func:`database_url`).

    A ``ClassSet`` serves one room (:attr:`room`, DEFAULT_ROOM unless made by :meth:`in_room`): its
    digits, digits-per-student setting and teacher sign-outs are that room's alone. The passcode guard's
    counts are per client, the same in every room. Nothing connects until first use; the schema is
    created or migrated then. Every database failure surfaces as :class:`ClassSetUnavailableError` with
    a message for people; bad input raises ValueError.
    """

    def __init__(self, url=None, busy_timeout=BUSY_TIMEOUT_SECONDS, retry_seconds=RETRY_SECONDS, clock=time.monotonic,
                 now=lambda: datetime.now(UTC), min_seconds_between_digits=MIN_SECONDS_BETWEEN):
        try:
            self.url = sa.make_url(url or database_url())
        except sa_exc.ArgumentError as error:
            raise ClassSetUnavailableError(f"The class set's database address is not a database URL ({error}).") from error
        self.backend = self.url.get_backend_name()
        self._engine = self._create_engine(busy_timeout)
        self._schema_lock = threading.Lock()
        self._health = _Health()
        self._retry_seconds, self._clock = retry_seconds, clock
        self._now = now  # UTC time of day, for timestamps, the lesson window, the spacing of digits and undo (tests inject one)
        self.min_seconds_between_digits = min_seconds_between_digits
        self.room = DEFAULT_ROOM

    def in_room(self, room):
        """This database as the class set of ``room`` (a join code; DEFAULT_ROOM: the class without a room):
        the same connections and schema, every digit, setting and sign-out read and written in that room only."""
        view = copy.copy(self)  # shares the engine, the schema lock and the health; only the room differs
        view.room = room_code(room)
        return view

    @property
    def location(self):
        """Where the digits are kept, in words for the page (no password)."""
        if self.backend == "sqlite":
            return f"a SQLite file on this server ({os.path.basename(self.url.database or 'in memory')})"
        return f"the {self.backend} database {self.url.database or ''} on {self.url.host or 'a local socket'}"

    def __repr__(self):
        room = f".in_room({self.room!r})" if self.room != DEFAULT_ROOM else ""
        return f"ClassSet({self.url.render_as_string(hide_password=True)!r}){room}"

    def _create_engine(self, busy_timeout):
        if self.backend == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(self.url.database)), exist_ok=True)
            engine = sa.create_engine(self.url, connect_args={"timeout": busy_timeout, "check_same_thread": False})

            @sa.event.listens_for(engine, "connect")
            def _on_connect(dbapi_connection, _record):
                dbapi_connection.isolation_level = None  # SQLAlchemy's recipe: we emit BEGIN ourselves
                _use_write_ahead_log(dbapi_connection, busy_timeout)  # readers do not wait for writers
                # In WAL mode NORMAL never corrupts the file; a power cut may lose the last digits given.
                dbapi_connection.execute("PRAGMA synchronous=NORMAL")

            @sa.event.listens_for(engine, "begin")
            def _on_begin(connection):
                # IMMEDIATE takes the write lock up front, so a read-then-write never deadlocks.
                connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get("writes") else "BEGIN")

            return engine
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if self.backend == "postgresql" else {}
        return sa.create_engine(self.url, pool_pre_ping=True, connect_args=connect_args)

    def dispose(self):
        """Close the pooled connections."""
        self._engine.dispose()

    # -- connections and schema -------------------------------------------------------------

    def _unavailable(self, error):
        lines = str(getattr(error, "orig", None) or error).strip().splitlines()
        text = lines[0] if lines else type(error).__name__
        busy = "locked" in text or "busy" in text
        reason = "is busy (another writer holds it locked)" if busy else f"cannot be reached ({text})"
        message = f"The class set's {self.backend} database {reason}. Try again in a moment."
        if not busy:
            self._health.down_until, self._health.down_message = self._clock() + self._retry_seconds, message
        return ClassSetUnavailableError(message)

    def transaction(self, writes=False):
        """``with``: a connection in a transaction on this database (``writes``: taking SQLite's write lock
        up front); database failures raise :class:`ClassSetUnavailableError`."""
        if self._clock() < self._health.down_until:  # known down: say so at once, a class of pages need not each wait
            raise ClassSetUnavailableError(self._health.down_message)
        self._ensure_schema()
        return _Transaction(self, writes)

    def _ensure_schema(self):
        if self._health.schema_ready:
            return
        with self._schema_lock:
            if self._health.schema_ready:
                return
            try:
                with self._engine.connect().execution_options(writes=True) as connection, connection.begin():
                    self._migrate(connection)
            except sa_exc.SQLAlchemyError as error:
                raise self._unavailable(error) from error
            self._health.schema_ready = True

    def _migrate(self, connection):
        try:
            schema.upgrade(connection)
        except schema.SchemaTooNewError as error:
            raise ClassSetUnavailableError(str(error)) from error

    def schema_revision(self):
        """The Alembic revision the database is at (:func:`classroom.schema.head_revision` once in use)."""
        with self.transaction() as connection:
            return schema.current_revision(connection)

    # -- writing ----------------------------------------------------------------------------

    def add(self, image, label, predicted, confidence, student_id, within_limit=False):
        """Store one digit; returns its id. ``image``: 28x28 uint8 (or float in [0, 1]).

        ``within_limit``: refuse (:class:`~classroom.rate_limit.RateLimitError`) a digit less than
        ``min_seconds_between_digits`` after the student's last one, and (:class:`StudentLimitError`) once
        ``student_id`` has given :meth:`digits_per_student` digits in the last ``LESSON_SECONDS``, both
        read in the same transaction as the insert, so two servers cannot both let a digit through.
        """
        label = as_digit(label, "label")
        predicted = as_digit(predicted, "prediction")
        image = as_uint8_image(image)
        if not image.any():
            raise ValueError("The drawing is blank: draw a digit before giving it to the class set.")
        confidence = float(confidence)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"The confidence must be a probability from 0 to 1, got {confidence!r}.")
        if not isinstance(student_id, str) or not 0 < len(student_id) <= STUDENT_ID_LENGTH:
            raise ValueError(f"The student id must be a string of 1 to {STUDENT_ID_LENGTH} characters.")
        now = self._now()
        row = dict(
            room=self.room, image=image.tobytes(), label=label, predicted=predicted, confidence=confidence, created_at=now,
            student_id=student_id,
        )
        with self.transaction(writes=True) as connection:
            self._purge(connection, now)
            if within_limit:
                if self.backend == "postgresql":  # one give at a time per student (SQLite's writes are serial anyway)
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(1415, hashtext(:room || :student))"),
                                       {"room": self.room, "student": student_id})
                last_given = self._last_given(connection, student_id)
                if last_given is not None:
                    require_spacing((now - last_given).total_seconds(), self.min_seconds_between_digits)
                limit = self._setting(connection, DIGITS_PER_STUDENT_SETTING, DEFAULT_DIGITS_PER_STUDENT)
                if self._given_this_lesson(connection, student_id, now) >= limit:
                    raise StudentLimitError(
                        f"You have given {limit} digits this lesson, the most each student may give. Thank you! "
                        "The teacher can raise the limit."
                    )
            return connection.execute(CLASS_DIGITS.insert().values(**row).returning(CLASS_DIGITS.c.id)).scalar_one()

    def pool_from(self, room):
        """Copy the digits of class ``room`` into this room's class set, each with its label, reading, time and
        student, and none this room already has (the same image and label): pooling twice adds nothing. Returns
        ``(added, already_here)``. Whoever calls it checked that the caller keeps both rooms."""
        source = self.in_room(room)
        if source.room == self.room:
            raise ValueError("A class set cannot be pooled with itself: pick another class.")
        columns = ("image", "label", "predicted", "confidence", "created_at", "student_id")
        with self.transaction(writes=True) as connection:
            self._purge(connection, self._now())
            here = {(row.image, row.label) for row in connection.execute(
                sa.select(CLASS_DIGITS.c.image, CLASS_DIGITS.c.label).where(self._live_digits))}
            rows = connection.execute(
                sa.select(*(CLASS_DIGITS.c[name] for name in columns)).where(source._live_digits).order_by(CLASS_DIGITS.c.id)
            ).all()
            new = []
            for row in rows:
                if (row.image, row.label) not in here:
                    here.add((row.image, row.label))
                    new.append({"room": self.room, **{name: getattr(row, name) for name in columns}})
            if new:
                connection.execute(CLASS_DIGITS.insert(), new)
        return len(new), len(rows) - len(new)

    def _delete_where(self, condition):
        """Hide the digits matching ``condition`` for UNDO_SECONDS; returns the :class:`Deletion`."""
        now = self._now()
        deletion_id = uuid.uuid4().hex
        with self.transaction(writes=True) as connection:
            self._purge(connection, now)
            count = connection.execute(
                CLASS_DIGITS.update().where(self._live_digits, condition).values(deleted_at=now, deletion_id=deletion_id)
            ).rowcount
        return Deletion(deletion_id, count, now)

    def delete_digits(self, digit_ids):
        """Delete the digits with these ids in one action (undoable for UNDO_SECONDS); a :class:`Deletion`."""
        return self._delete_where(CLASS_DIGITS.c.id.in_([int(digit_id) for digit_id in digit_ids]))

    def delete_students(self, student_ids):
        """Delete every digit of these students in one action (undoable for UNDO_SECONDS); a :class:`Deletion`."""
        return self._delete_where(CLASS_DIGITS.c.student_id.in_([str(student) for student in student_ids]))

    def delete(self, digit_id):
        """Delete one digit (undoable for UNDO_SECONDS); True if it was there."""
        return self.delete_digits([digit_id]).count > 0

    def clear(self):
        """Delete every digit (undoable for UNDO_SECONDS); a :class:`Deletion`."""
        return self._delete_where(sa.true())

    def undo(self, deletion_id):
        """Bring back the digits of a deletion made less than UNDO_SECONDS ago; returns how many came back
        (0 when it is too late or there is no such deletion)."""
        now = self._now()
        with self.transaction(writes=True) as connection:
            self._purge(connection, now)
            return connection.execute(
                CLASS_DIGITS.update().where(self._in_room(CLASS_DIGITS), CLASS_DIGITS.c.deletion_id == str(deletion_id))
                .values(deleted_at=None, deletion_id=None)
            ).rowcount

    def _purge(self, connection, now):
        # Deletions older than the undo window go for good: the next write after it removes them.
        connection.execute(CLASS_DIGITS.delete().where(
            self._in_room(CLASS_DIGITS), CLASS_DIGITS.c.deleted_at <= now - timedelta(seconds=UNDO_SECONDS)
        ))

    # -- the per-student allowance ----------------------------------------------------------

    def _in_room(self, table):
        """The condition that keeps ``table``'s rows to this room's."""
        return table.c.room == self.room

    @property
    def _live_digits(self):
        return sa.and_(self._in_room(CLASS_DIGITS), _LIVE)

    def _setting(self, connection, name, default):
        value = connection.execute(
            sa.select(CLASS_SETTINGS.c.value).where(self._in_room(CLASS_SETTINGS), CLASS_SETTINGS.c.name == name)
        ).scalar()
        return default if value is None else int(value)

    def digits_per_student(self):
        """How many digits each student may give a lesson (the teacher's setting, else DEFAULT_DIGITS_PER_STUDENT)."""
        with self.transaction() as connection:
            return self._setting(connection, DIGITS_PER_STUDENT_SETTING, DEFAULT_DIGITS_PER_STUDENT)

    def set_digits_per_student(self, limit):
        """Set the allowance, 1 to MAX_PER_LESSON digits per student a lesson, for every server using this database."""
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or not 1 <= limit <= MAX_PER_LESSON:
            raise ValueError(f"The digits per student must be a whole number from 1 to {MAX_PER_LESSON}, got {limit!r}.")
        with self.transaction(writes=True) as connection:
            updated = connection.execute(
                CLASS_SETTINGS.update().where(self._in_room(CLASS_SETTINGS), CLASS_SETTINGS.c.name == DIGITS_PER_STUDENT_SETTING)
                .values(value=int(limit))
            ).rowcount
            if not updated:
                connection.execute(CLASS_SETTINGS.insert().values(room=self.room, name=DIGITS_PER_STUDENT_SETTING, value=int(limit)))

    def _given_this_lesson(self, connection, student_id, now):
        since = now - timedelta(seconds=LESSON_SECONDS)
        query = sa.select(sa.func.count()).where(
            self._live_digits, CLASS_DIGITS.c.student_id == student_id, CLASS_DIGITS.c.created_at > since
        )
        return connection.execute(query).scalar_one()

    def _last_given(self, connection, student_id):
        # Deleted digits count too: a deletion is purged UNDO_SECONDS after it, long after the spacing's second.
        last = connection.execute(
            sa.select(sa.func.max(CLASS_DIGITS.c.created_at)).where(self._in_room(CLASS_DIGITS), CLASS_DIGITS.c.student_id == student_id)
        ).scalar()
        return None if last is None else _as_utc(last)

    def given_this_lesson(self, student_id):
        """How many of the student's digits from the last LESSON_SECONDS are in the class set."""
        with self.transaction() as connection:
            return self._given_this_lesson(connection, student_id, self._now())

    # -- reading ----------------------------------------------------------------------------

    def count_by_label(self):
        """(10,) int64: how many digits each label has."""
        with self.transaction() as connection:
            rows = connection.execute(
                sa.select(CLASS_DIGITS.c.label, sa.func.count()).where(self._live_digits).group_by(CLASS_DIGITS.c.label)
            ).all()
        counts = np.zeros(NUM_CLASSES, np.int64)
        for label, count in rows:
            counts[label] = count
        return counts

    def __len__(self):
        return int(self.count_by_label().sum())

    def least_collected_label(self, rng=None):
        """The label with the fewest digits (a random one of them on a tie): the next prompt."""
        counts = self.count_by_label()
        fewest = np.flatnonzero(counts == counts.min())
        return int((rng or np.random.default_rng()).choice(fewest))

    def digits(self):
        """Every digit with its reading, oldest first, as :class:`ClassDigits`."""
        with self.transaction() as connection:
            rows = connection.execute(sa.select(CLASS_DIGITS).where(self._live_digits).order_by(CLASS_DIGITS.c.id)).all()
        return ClassDigits(
            ids=np.array([row.id for row in rows], np.int64),
            images=np.frombuffer(b"".join(row.image for row in rows), np.uint8).reshape(-1, *IMAGE_SHAPE).copy(),
            labels=np.array([row.label for row in rows], np.uint8),
            predicted=np.array([row.predicted for row in rows], np.uint8),
            confidences=np.array([row.confidence for row in rows], np.float64),
            created_at=[_as_utc(row.created_at) for row in rows],
            student_ids=[row.student_id for row in rows],
        )

    def images_and_labels(self):
        """``(x, y)``: (n, 28, 28) uint8 images and (n,) uint8 labels, MNIST's layout."""
        digits = self.digits()
        return digits.images, digits.labels

    # -- the room's teacher sign-outs (the app's database keeps them through a restart: classroom.teacher.Revocations) --

    def revoke_teacher_token(self, token_id, expires_at):
        """Remember that the teacher token ``token_id`` (valid until ``expires_at``) was locked."""
        self._add_revocation(token_id=str(token_id), issued_before=None, expires_at=float(expires_at))

    def sign_out_teacher_tokens(self, before, expires_at):
        """Remember that every teacher token issued before ``before`` (Unix seconds) was signed out."""
        self._add_revocation(token_id=None, issued_before=float(before), expires_at=float(expires_at))

    def _add_revocation(self, **row):
        with self.transaction(writes=True) as connection:
            connection.execute(
                TEACHER_REVOCATIONS.delete().where(self._in_room(TEACHER_REVOCATIONS), TEACHER_REVOCATIONS.c.expires_at < time.time())
            )
            connection.execute(TEACHER_REVOCATIONS.insert().values(room=self.room, **row))

    def teacher_revocations(self):
        """``(ids of locked tokens, the latest sign-out time or None)``."""
        with self.transaction() as connection:
            rows = connection.execute(
                sa.select(TEACHER_REVOCATIONS.c.token_id, TEACHER_REVOCATIONS.c.issued_before).where(self._in_room(TEACHER_REVOCATIONS))
            ).all()
        befores = [row.issued_before for row in rows if row.issued_before is not None]
        return {row.token_id for row in rows if row.token_id is not None}, max(befores, default=None)

    # -- the passcode guard's wrong passcodes per client (classroom.teacher.PasscodeGuard) ----------

    def passcode_failures(self, client):
        """``(wrong passcodes in a row, Unix time of the last)`` from ``client``; ``(0, None)`` when none is kept."""
        with self.transaction() as connection:
            row = connection.execute(
                sa.select(PASSCODE_FAILURES.c.failures, PASSCODE_FAILURES.c.last_failed_at).where(PASSCODE_FAILURES.c.client == client)
            ).first()
        return (0, None) if row is None else (row.failures, row.last_failed_at)

    def count_wrong_passcode(self, client, now, forget_before):
        """One more wrong passcode from ``client`` at ``now`` (Unix seconds), after forgetting every client
        whose last one came before ``forget_before``; returns the client's new :meth:`passcode_failures`."""
        with self.transaction(writes=True) as connection:
            statement = dialect_insert(connection, PASSCODE_FAILURES).values(client=client, failures=1, last_failed_at=now)
            statement = statement.on_conflict_do_update(  # one statement: two servers counting at once both count
                index_elements=[PASSCODE_FAILURES.c.client], set_={"failures": PASSCODE_FAILURES.c.failures + 1, "last_failed_at": now},
            )
            connection.execute(PASSCODE_FAILURES.delete().where(PASSCODE_FAILURES.c.last_failed_at < forget_before))
            row = connection.execute(statement.returning(PASSCODE_FAILURES.c.failures, PASSCODE_FAILURES.c.last_failed_at)).one()
        return row.failures, row.last_failed_at

    def forget_passcode_failures(self, client):
        """``client`` typed the right passcode: its wrong ones no longer count."""
        with self.transaction(writes=True) as connection:
            connection.execute(PASSCODE_FAILURES.delete().where(PASSCODE_FAILURES.c.client == client))


def npz_bytes(digits):
    """``class_digits.npz`` as bytes: ``x`` (n, 28, 28) uint8 and ``y`` (n,) uint8, like MNIST."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=digits.images, y=digits.labels)
    return buffer.getvalue()


def csv_text(digits):
    """One digit a row: id, label, predicted, confidence, created_at (UTC ISO 8601), student_id, then
    pixel0 ... pixel783 (row by row, 0-255)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "label", "predicted", "confidence", "created_at", "student_id", *(f"pixel{i}" for i in range(784))])
    for i in range(len(digits)):
        writer.writerow([
            int(digits.ids[i]), int(digits.labels[i]), int(digits.predicted[i]), f"{digits.confidences[i]:.4f}",
            digits.created_at[i].isoformat(), digits.student_ids[i], *digits.images[i].reshape(-1).tolist(),
        ])
    return buffer.getvalue()


class _Transaction:
    """``with``: a connection in a transaction; database errors become ClassSetUnavailableError."""

    def __init__(self, class_set, writes):
        self._class_set, self._writes = class_set, writes

    def __enter__(self):
        try:
            self._connection = self._class_set._engine.connect().execution_options(writes=self._writes)
            self._transaction = self._connection.begin()
        except sa_exc.SQLAlchemyError as error:
            if getattr(self, "_connection", None) is not None:
                self._connection.close()
            raise self._class_set._unavailable(error) from error
        return self._connection

    def __exit__(self, kind, error, traceback):
        try:
            if kind is None:
                self._transaction.commit()
            else:
                self._transaction.rollback()
        except sa_exc.SQLAlchemyError as commit_error:
            if kind is None:
                raise self._class_set._unavailable(commit_error) from commit_error
        finally:
            self._connection.close()
        if isinstance(error, sa_exc.SQLAlchemyError):
            raise self._class_set._unavailable(error) from error
        return False


def _as_utc(moment):
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def refusal(verdict):
    """Why a drawing read as ``verdict`` never goes into the class set, for the page; None when it may."""
    if verdict in ACCEPTED_VERDICTS:
        return None
    if verdict == "not a digit":
        return "Not for the class set: the network does not see a digit here. Draw one digit, 0 to 9."
    return "Nothing to give yet: draw a digit, then tap the digit you meant."


def confirmation_question(verdict, guess, label):
    """What the student must answer yes to before a drawing read as ``verdict`` (most likely digit
    ``guess``) goes in as ``label``; None when it goes in at once. ValueError for a drawing that never
    goes in (see :func:`refusal`) or a label outside 0-9.
    """
    label = as_digit(label, "label")
    reason = refusal(verdict)
    if reason:
        raise ValueError(reason)
    if verdict == "unsure":
        return f"The network is not sure this is a digit (the nearest is {guess}). Give it as {label} only if you drew a clear {label}."
    if guess != label:
        return f"The network reads {guess}: give it as {label}?"
    return None


def give_to_class(class_set, student_id, label, verdict, image, probabilities, confirmed=False):
    """Add a drawing the network has read to the class set, with the digit the student meant.

    Refuses a blank or non-digit drawing and a label outside 0-9 (ValueError); raises
    :class:`ConfirmationNeeded` for an "unsure" drawing or a label other than the confident reading
    unless ``confirmed``; refuses a student who gives too often or has given the lesson's allowance
    (:class:`~classroom.rate_limit.RateLimitError`, counted in the database by :meth:`ClassSet.add`).
    Returns the new digit's id.
    """
    if image is None or probabilities is None:
        verdict = "blank"
    probabilities = None if probabilities is None else np.asarray(probabilities, dtype=float).reshape(-1)
    if probabilities is not None and probabilities.shape != (NUM_CLASSES,):
        raise ValueError(f"Expected 10 probabilities, got {probabilities.size}.")
    predicted = None if probabilities is None else int(probabilities.argmax())
    question = confirmation_question(verdict, predicted, label)
    if question and not confirmed:
        raise ConfirmationNeeded(question)
    return class_set.add(image, label, predicted, float(probabilities[predicted]), student_id, within_limit=True)


@dataclass(frozen=True)
class StudentDigits:
    """One student's digits in the class set: ``indices`` into a :class:`ClassDigits`, newest first."""

    student_id: str
    indices: np.ndarray
    label_counts: np.ndarray  # (10,)
    read_right: int  # how many the network reads as the label meant
    last_given: datetime


def by_student(digits, predictions):
    """The class set's digits grouped by student, the student who gave last first."""
    predictions = np.asarray(predictions)
    groups = {}
    for i in range(len(digits) - 1, -1, -1):  # newest first
        groups.setdefault(digits.student_ids[i], []).append(i)
    return [
        StudentDigits(
            student, np.array(indices, np.int64), np.bincount(digits.labels[indices], minlength=NUM_CLASSES),
            int((predictions[indices] == digits.labels[indices]).sum()), digits.created_at[indices[0]],
        )
        for student, indices in groups.items()
    ]
