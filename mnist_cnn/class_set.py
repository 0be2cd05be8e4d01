"""The class's own handwriting: labelled 28x28 digits kept in a SQL database.

SQLite by default (one file, nothing to set up); any SQLAlchemy URL, e.g. a PostgreSQL server for
a host whose disk is wiped on restart. Stored per digit: the 28x28 uint8 image the network saw,
the label the student meant, the model's prediction and confidence then, a UTC timestamp and an
anonymous session id. No names, no raw canvas, no addresses.

The same database keeps the teacher's sign-outs (Lock, "sign out every device"), so they survive a
restart. The schema is created on first use and versioned: ``schema_version`` holds the number of
:data:`MIGRATIONS` applied, and a later change appends a step there.
"""
import csv
import io
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from mnist_cnn.data import IMAGE_SHAPE, NUM_CLASSES, as_digit, as_uint8_image
from mnist_cnn.paths import data_dir
from mnist_cnn.rate_limit import RateLimiter

DATABASE_URL_ENV = "MNIST_CNN_CLASS_DB_URL"
SQLITE_FILE = "class_set.sqlite"
BUSY_TIMEOUT_SECONDS = 5.0  # how long a write waits for a locked SQLite file before giving up
CONNECT_TIMEOUT_SECONDS = 5  # how long a page waits for a database server that does not answer
# After a failed connection, calls fail at once for this long instead of each waiting for the timeout.
RETRY_SECONDS = 15.0
SESSION_ID_LENGTH = 64
# Drawings the student may give: "unsure" still shows a digit, only the network doubts which.
ACCEPTED_VERDICTS = ("digit", "unsure")


class ClassSetUnavailableError(RuntimeError):
    """The database cannot be reached or is busy; the message is meant for the page."""


def database_url(configured_url=None):
    """The class set's SQLAlchemy URL: ``MNIST_CNN_CLASS_DB_URL``, else ``configured_url`` (from the
    app's secrets), else SQLite in the data folder."""
    url = os.environ.get(DATABASE_URL_ENV) or configured_url
    if url:
        return str(url)
    return f"sqlite:///{data_dir() / SQLITE_FILE}"


def _class_digits_table_v1(metadata):
    return sa.Table(
        "class_digits",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image", sa.LargeBinary, nullable=False),  # 784 bytes, row by row, 0 = background
        sa.Column("label", sa.SmallInteger, nullable=False),
        sa.Column("predicted", sa.SmallInteger, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.String(SESSION_ID_LENGTH), nullable=False),
        sa.CheckConstraint("label BETWEEN 0 AND 9", name="label_is_a_digit"),
        sa.CheckConstraint("predicted BETWEEN 0 AND 9", name="predicted_is_a_digit"),
    )


def _migrate_to_v1(connection):
    _class_digits_table_v1(sa.MetaData()).create(connection)


def _teacher_revocations_table_v2(metadata):
    # A row revokes one teacher token (Lock), or with no token_id every token issued before issued_before
    # ("sign out every device"); it may be forgotten after expires_at, when the tokens it names have expired.
    return sa.Table(
        "teacher_revocations",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_id", sa.String(32), nullable=True),
        sa.Column("issued_before", sa.Float, nullable=True),  # Unix seconds
        sa.Column("expires_at", sa.Float, nullable=False),  # Unix seconds
    )


def _migrate_to_v2(connection):
    _teacher_revocations_table_v2(sa.MetaData()).create(connection)


# Step n brings the schema from version n - 1 to n. Append, never edit: databases out there are at every version.
MIGRATIONS = (_migrate_to_v1, _migrate_to_v2)
SCHEMA_VERSION = len(MIGRATIONS)

_METADATA = sa.MetaData()
CLASS_DIGITS = _class_digits_table_v1(_METADATA)  # the table as the current schema has it
TEACHER_REVOCATIONS = _teacher_revocations_table_v2(_METADATA)
SCHEMA_VERSION_TABLE = sa.Table("schema_version", _METADATA, sa.Column("version", sa.Integer, nullable=False))


@dataclass(frozen=True)
class ClassDigits:
    """Digits of the class set as arrays, oldest first."""

    ids: np.ndarray  # int64
    images: np.ndarray  # (n, 28, 28) uint8
    labels: np.ndarray  # (n,) uint8
    predicted: np.ndarray  # (n,) uint8: the model's reading when the digit was given
    confidences: np.ndarray  # (n,) float
    created_at: list  # timezone-aware UTC datetimes
    session_ids: list

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


class ClassSet:
    """The class's labelled digits in the database at ``url`` (see :func:`database_url`).

    Nothing connects until first use; the schema is created or migrated then. Every database
    failure surfaces as :class:`ClassSetUnavailableError` with a message for people; bad input
    raises ValueError.
    """

    def __init__(self, url=None, busy_timeout=BUSY_TIMEOUT_SECONDS, retry_seconds=RETRY_SECONDS, clock=time.monotonic):
        try:
            self.url = sa.make_url(url or database_url())
        except sa_exc.ArgumentError as error:
            raise ClassSetUnavailableError(f"The class set's database address is not a database URL ({error}).") from error
        self.backend = self.url.get_backend_name()
        self._engine = self._create_engine(busy_timeout)
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self._retry_seconds, self._clock = retry_seconds, clock
        self._down_until, self._down_message = float("-inf"), ""

    @property
    def location(self):
        """Where the digits are kept, in words for the page (no password)."""
        if self.backend == "sqlite":
            return f"a SQLite file on this server ({os.path.basename(self.url.database or 'in memory')})"
        return f"the {self.backend} database {self.url.database or ''} on {self.url.host or 'a local socket'}"

    def __repr__(self):
        return f"ClassSet({self.url.render_as_string(hide_password=True)!r})"

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
        message = f"The class set's {self.backend} database {reason}. Drawing still works; try giving the digit again in a moment."
        if not busy:
            self._down_until, self._down_message = self._clock() + self._retry_seconds, message
        return ClassSetUnavailableError(message)

    def _transaction(self, writes=False):
        if self._clock() < self._down_until:  # known down: say so at once, a class of pages need not each wait
            raise ClassSetUnavailableError(self._down_message)
        self._ensure_schema()
        return _Transaction(self, writes)

    def _ensure_schema(self):
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            try:
                with self._engine.connect().execution_options(writes=True) as connection, connection.begin():
                    self._migrate(connection)
            except sa_exc.SQLAlchemyError as error:
                raise self._unavailable(error) from error
            self._schema_ready = True

    def _migrate(self, connection):
        if self.backend == "postgresql":  # one server process migrates; the others wait, then see it done
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(1414)"))
        SCHEMA_VERSION_TABLE.create(connection, checkfirst=True)
        version = connection.execute(sa.select(SCHEMA_VERSION_TABLE.c.version)).scalar()
        if version is None:
            connection.execute(SCHEMA_VERSION_TABLE.insert().values(version=0))
            version = 0
        if version > SCHEMA_VERSION:
            raise ClassSetUnavailableError(
                f"The class set's database has schema version {version}, newer than this app's {SCHEMA_VERSION}: update the app."
            )
        for step in MIGRATIONS[version:]:
            step(connection)
        if version < SCHEMA_VERSION:
            connection.execute(SCHEMA_VERSION_TABLE.update().values(version=SCHEMA_VERSION))

    def schema_version(self):
        with self._transaction() as connection:
            return connection.execute(sa.select(SCHEMA_VERSION_TABLE.c.version)).scalar_one()

    # -- writing ----------------------------------------------------------------------------

    def add(self, image, label, predicted, confidence, session_id):
        """Store one digit; returns its id. ``image``: 28x28 uint8 (or float in [0, 1])."""
        label = as_digit(label, "label")
        predicted = as_digit(predicted, "prediction")
        image = as_uint8_image(image)
        if not image.any():
            raise ValueError("The drawing is blank: draw a digit before giving it to the class set.")
        confidence = float(confidence)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"The confidence must be a probability from 0 to 1, got {confidence!r}.")
        if not isinstance(session_id, str) or not 0 < len(session_id) <= SESSION_ID_LENGTH:
            raise ValueError(f"The session id must be a string of 1 to {SESSION_ID_LENGTH} characters.")
        row = dict(
            image=image.tobytes(), label=label, predicted=predicted, confidence=confidence,
            created_at=datetime.now(UTC), session_id=session_id,
        )
        with self._transaction(writes=True) as connection:
            return connection.execute(CLASS_DIGITS.insert().values(**row).returning(CLASS_DIGITS.c.id)).scalar_one()

    def delete(self, digit_id):
        """Delete one digit; True if it was there."""
        with self._transaction(writes=True) as connection:
            return connection.execute(CLASS_DIGITS.delete().where(CLASS_DIGITS.c.id == int(digit_id))).rowcount > 0

    def clear(self):
        """Delete every digit; returns how many there were."""
        with self._transaction(writes=True) as connection:
            return connection.execute(CLASS_DIGITS.delete()).rowcount

    # -- reading ----------------------------------------------------------------------------

    def count_by_label(self):
        """(10,) int64: how many digits each label has."""
        with self._transaction() as connection:
            rows = connection.execute(sa.select(CLASS_DIGITS.c.label, sa.func.count()).group_by(CLASS_DIGITS.c.label)).all()
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
        with self._transaction() as connection:
            rows = connection.execute(sa.select(CLASS_DIGITS).order_by(CLASS_DIGITS.c.id)).all()
        return ClassDigits(
            ids=np.array([row.id for row in rows], np.int64),
            images=np.frombuffer(b"".join(row.image for row in rows), np.uint8).reshape(-1, *IMAGE_SHAPE).copy(),
            labels=np.array([row.label for row in rows], np.uint8),
            predicted=np.array([row.predicted for row in rows], np.uint8),
            confidences=np.array([row.confidence for row in rows], np.float64),
            created_at=[_as_utc(row.created_at) for row in rows],
            session_ids=[row.session_id for row in rows],
        )

    def images_and_labels(self):
        """``(x, y)``: (n, 28, 28) uint8 images and (n,) uint8 labels, MNIST's layout."""
        digits = self.digits()
        return digits.images, digits.labels

    # -- teacher sign-outs (the app's database keeps them through a restart: mnist_cnn.teacher.Revocations) --

    def revoke_teacher_token(self, token_id, expires_at):
        """Remember that the teacher token ``token_id`` (valid until ``expires_at``) was locked."""
        self._add_revocation(token_id=str(token_id), issued_before=None, expires_at=float(expires_at))

    def sign_out_teacher_tokens(self, before, expires_at):
        """Remember that every teacher token issued before ``before`` (Unix seconds) was signed out."""
        self._add_revocation(token_id=None, issued_before=float(before), expires_at=float(expires_at))

    def _add_revocation(self, **row):
        with self._transaction(writes=True) as connection:
            connection.execute(TEACHER_REVOCATIONS.delete().where(TEACHER_REVOCATIONS.c.expires_at < time.time()))
            connection.execute(TEACHER_REVOCATIONS.insert().values(**row))

    def teacher_revocations(self):
        """``(ids of locked tokens, the latest sign-out time or None)``."""
        with self._transaction() as connection:
            rows = connection.execute(sa.select(TEACHER_REVOCATIONS.c.token_id, TEACHER_REVOCATIONS.c.issued_before)).all()
        befores = [row.issued_before for row in rows if row.issued_before is not None]
        return {row.token_id for row in rows if row.token_id is not None}, max(befores, default=None)

    # -- export -----------------------------------------------------------------------------

    def export_npz(self):
        """``class_digits.npz`` as bytes (see :func:`npz_bytes`)."""
        return npz_bytes(self.digits())

    def export_csv(self):
        """The class set as CSV text (see :func:`csv_text`)."""
        return csv_text(self.digits())


def npz_bytes(digits):
    """``class_digits.npz`` as bytes: ``x`` (n, 28, 28) uint8 and ``y`` (n,) uint8, like MNIST."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=digits.images, y=digits.labels)
    return buffer.getvalue()


def csv_text(digits):
    """One digit a row: id, label, predicted, confidence, created_at (UTC ISO 8601), session_id, then
    pixel0 ... pixel783 (row by row, 0-255)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "label", "predicted", "confidence", "created_at", "session_id", *(f"pixel{i}" for i in range(784))])
    for i in range(len(digits)):
        writer.writerow([
            int(digits.ids[i]), int(digits.labels[i]), int(digits.predicted[i]), f"{digits.confidences[i]:.4f}",
            digits.created_at[i].isoformat(), digits.session_ids[i], *digits.images[i].reshape(-1).tolist(),
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


def give_to_class(class_set, limiter: RateLimiter, session_id, label, verdict, image, probabilities):
    """Add a drawing the network has read to the class set, with the digit the student meant.

    Refuses a blank or non-digit drawing and a label outside 0-9 (ValueError), a session that gives
    too often (:class:`~mnist_cnn.rate_limit.RateLimitError`); a database failure does not count
    against the session's allowance. Returns the new digit's id.
    """
    label = as_digit(label, "label")
    if verdict not in ACCEPTED_VERDICTS:
        what = "blank" if verdict == "blank" else "not a digit" if verdict == "not a digit" else f"read as {verdict!r}"
        raise ValueError(f"This drawing is {what}: only drawings of a digit go into the class set.")
    if image is None or probabilities is None:
        raise ValueError("This drawing is blank: only drawings of a digit go into the class set.")
    probabilities = np.asarray(probabilities, dtype=float).reshape(-1)
    if probabilities.shape != (NUM_CLASSES,):
        raise ValueError(f"Expected 10 probabilities, got {probabilities.size}.")
    predicted = int(probabilities.argmax())
    with limiter.admit(session_id):
        return class_set.add(image, label, predicted, float(probabilities[predicted]), session_id)
