"""The database's schema history: Alembic revisions in ``classroom/migrations/versions``, applied on first use.

:func:`upgrade` brings a database to the newest revision inside the caller's transaction, one server
process at a time. A database from before Alembic (a ``schema_version`` table at 1, 2 or 3 and no
``alembic_version``) is first stamped at the revision equal to its version, then upgraded in place.
"""
import functools
import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
# The Alembic revision equal to each version of the hand-made migrations that came before it.
HAND_MADE_REVISIONS = {1: "0001", 2: "0002", 3: "0003"}
POSTGRESQL_LOCK_KEY = 1414  # pg_advisory_xact_lock: one server process migrates, the others wait and then see it done
# Alembic's `context` and `op` are module-wide proxies, so one migration at a time in a process.
_MIGRATION_LOCK = threading.Lock()


JOB_QUEUE_PREFIX = "procrastinate_"  # the job queue's tables (revision 0008) are procrastinate's, not the app's models


def is_app_object(name, kind, parents=None):
    """Alembic's ``include_name`` hook: autogenerate compares the app's tables, not the job queue's."""
    return kind != "table" or not name.startswith(JOB_QUEUE_PREFIX)


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer version of the app; the message is meant for people."""


def alembic_config(connection=None):
    """Alembic's configuration built in code (no alembic.ini): the migrations folder, and ``connection``
    for env.py to migrate (None: env.py connects to the app's database itself)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))  # the value is interpolated
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts():
    return ScriptDirectory.from_config(alembic_config())


def head_revision():
    """The newest revision this code knows."""
    return _scripts().get_current_head()


def current_revision(connection):
    """The revision the database is at (None for an empty database or one from before Alembic)."""
    return MigrationContext.configure(connection).get_current_revision()


def _hand_made_version(connection):
    if not sa.inspect(connection).has_table("schema_version"):
        return None
    return connection.execute(sa.text("SELECT MAX(version) FROM schema_version")).scalar()


def _too_new(found):
    return SchemaTooNewError(
        f"The class set's database has schema {found}, newer than this app's revision {head_revision()}: update the app."
    )


def upgrade(connection):
    """Bring the database on ``connection`` (in a transaction the caller commits) to :func:`head_revision`.

    On SQLite the caller's transaction must hold the write lock (BEGIN IMMEDIATE), so two processes
    never migrate at once; on PostgreSQL this takes an advisory lock until the transaction ends.
    Raises :class:`SchemaTooNewError` for a database at a revision this code does not know.
    """
    with _MIGRATION_LOCK:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRESQL_LOCK_KEY})
        if stamp_hand_made_version(connection) != _scripts().get_current_head():
            command.upgrade(alembic_config(connection), "head")


def stamp_hand_made_version(connection):
    """Stamp a database from before Alembic at the revision equal to its ``schema_version``; returns the
    database's revision (None when empty). Raises :class:`SchemaTooNewError` for a version or revision
    this code does not know."""
    scripts = _scripts()
    context = MigrationContext.configure(connection)
    revision = context.get_current_revision()
    if revision is None:
        version = _hand_made_version(connection)
        if version is not None and version not in HAND_MADE_REVISIONS and version != 0:
            raise _too_new(f"version {version}")
        if version in HAND_MADE_REVISIONS:
            revision = HAND_MADE_REVISIONS[version]
            context.stamp(scripts, revision)
    elif revision not in {script.revision for script in scripts.walk_revisions()}:
        raise _too_new(f"revision {revision}")
    return revision
