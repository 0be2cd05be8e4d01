"""Alembic migrations of the app's database (classroom/schema.py, classroom/migrations), on SQLite and PostgreSQL."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from classroom.class_set import METADATA, ClassSet, ClassSetUnavailableError
from classroom.schema import HAND_MADE_REVISIONS, JOB_QUEUE_PREFIX, MIGRATIONS_DIR, head_revision, is_app_object
from mnist_cnn.data import load_test_set
from support.hand_made_schema import make_hand_made_database

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mnist_digits():
    images, labels = load_test_set()
    return images[:20], labels[:20]


def schema_snapshot(url):
    """Everything about the database's tables that a migration decides, as plain data, and the
    hand-made ``schema_version`` row."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        tables = {
            table: dict(
                columns=[(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)],
                primary_key=inspector.get_pk_constraint(table)["constrained_columns"],
                indexes=sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)),
                checks=sorted((c["name"], " ".join(c["sqltext"].split())) for c in inspector.get_check_constraints(table)),
                foreign_keys=inspector.get_foreign_keys(table),
            )
            for table in sorted(inspector.get_table_names())
    }
        versions = connection.execute(sa.text("SELECT version FROM schema_version")).scalars().all()
    engine.dispose()
    return tables, versions


def model_differences(url):
    """What Alembic's autogenerate would change to make the database match the app's tables (METADATA)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"include_name": is_app_object}), METADATA)
    engine.dispose()
    return differences


def drop_everything(url):
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # the job queue's functions and types too
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar()
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
        else:
            tables = sa.MetaData()
            tables.reflect(connection)
            tables.drop_all(connection)
    engine.dispose()


def test_the_chain_starts_at_the_hand_made_versions():
    # The three hand-made versions map onto the first three revisions, in order; 0004 hands over to Alembic.
    assert HAND_MADE_REVISIONS == {1: "0001", 2: "0002", 3: "0003"}
    chain = [script.revision for script in reversed(list(ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()))]
    assert chain[:4] == ["0001", "0002", "0003", "0004"] and chain[-1] == head_revision()
    assert (MIGRATIONS_DIR / "env.py").is_file() and not (PROJECT_DIR / "alembic.ini").exists()


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_hand_made_database_is_upgraded_in_place_and_ends_identical_to_a_fresh_one(class_set_url, mnist_digits, version):
    images, labels = mnist_digits
    make_hand_made_database(class_set_url, version, [(images[i], labels[i], f"student-{i % 2}") for i in range(4)])
    old = ClassSet(class_set_url)
    assert old.schema_revision() == head_revision()
    digits = old.digits()
    np.testing.assert_array_equal(digits.images, images[:4])
    assert digits.student_ids == ["student-0", "student-1", "student-0", "student-1"]
    old.set_digits_per_student(7)  # the tables of later versions are there and work
    old.revoke_teacher_token("token", time.time() + 60)
    assert old.count_wrong_passcode("client", time.time(), time.time() - 120)[0] == 1
    old.dispose()
    upgraded = schema_snapshot(class_set_url)
    assert model_differences(class_set_url) == []

    drop_everything(class_set_url)
    fresh = ClassSet(class_set_url)
    assert len(fresh) == 0 and fresh.schema_revision() == head_revision()
    fresh.dispose()
    assert schema_snapshot(class_set_url) == upgraded
    assert upgraded[1] == [4]  # a server from before Alembic (version 3) refuses it as "newer than this app"
    assert ("procrastinate_jobs" in upgraded[0]) == class_set_url.startswith("postgresql")  # the job queue: PostgreSQL only
    assert {table for table in upgraded[0] if not table.startswith(JOB_QUEUE_PREFIX)} == {
        "alembic_version", "class_choices", "class_digits", "class_settings", "live_run", "passcode_failures", "quiz_rounds",
        "quiz_state", "quiz_votes", "rooms", "runs", "schema_version", "teacher_revocations",
    }


def test_a_fresh_database_matches_the_models(class_set_url):
    ClassSet(class_set_url).count_by_label()
    assert model_differences(class_set_url) == []


def test_the_comparison_sees_a_schema_that_does_not_match_the_models(class_set_url):
    ClassSet(class_set_url).count_by_label()
    engine = sa.create_engine(class_set_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE class_settings ADD COLUMN note VARCHAR(10)"))
    engine.dispose()
    assert [difference[0] for difference in model_differences(class_set_url)] == ["remove_column"]


def test_a_hand_made_database_newer_than_version_3_is_refused(class_set_url):
    make_hand_made_database(class_set_url, 3)
    engine = sa.create_engine(class_set_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE schema_version SET version = 5"))
    engine.dispose()
    message = f"schema version 5, newer than this app's revision {head_revision()}: update the app"
    with pytest.raises(ClassSetUnavailableError, match=message):
        ClassSet(class_set_url).count_by_label()


SERVER_PROCESS = """
import sys, time
from pathlib import Path
import numpy as np
from classroom.class_set import ClassSet
url, number, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
server = ClassSet(url)
Path(f"{go}.ready-{number}").touch()
while not go.exists():
    time.sleep(0.005)
image = np.zeros((28, 28), np.uint8)
image[5:20, 10 + number] = 255
server.add(image, number, number, 0.5, f"process-{number}")
"""


def test_server_processes_starting_together_upgrade_an_old_database_once(class_set_url, mnist_digits, tmp_path):
    """Separate processes (each with its own Alembic proxies and pool) first use a version-1 database at
    the same moment: one upgrades it, the others wait for that and then write; nothing is lost."""
    images, labels = mnist_digits
    make_hand_made_database(class_set_url, 1, [(images[i], labels[i], "old") for i in range(3)])
    go, count = tmp_path / "go", 3
    processes = [
        subprocess.Popen([sys.executable, "-c", SERVER_PROCESS, class_set_url, str(number), str(go)], cwd=PROJECT_DIR,
                         stderr=subprocess.PIPE, text=True)
        for number in range(count)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready-*"))) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    go.touch()
    errors = [process.communicate(timeout=60)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * count, errors
    class_set = ClassSet(class_set_url)
    assert class_set.schema_revision() == head_revision()
    assert sorted(class_set.digits().student_ids) == ["old"] * 3 + [f"process-{number}" for number in range(count)]
    class_set.dispose()
    engine = sa.create_engine(class_set_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    engine.dispose()


def test_alembic_revision_on_the_command_line_adds_the_next_step(tmp_path):
    """docs/database.md's way to add a migration: ``alembic revision`` with pyproject.toml's [tool.alembic]
    (run here on a copy of the project's configuration and migrations) writes a revision after the head
    that ruff accepts."""
    shutil.copy(PROJECT_DIR / "pyproject.toml", tmp_path)
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "classroom" / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    alembic = Path(sys.executable).with_name("alembic")
    result = subprocess.run([alembic, "revision", "-m", "Runs in the database", "--rev-id", "9999"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (written,) = (tmp_path / "classroom" / "migrations" / "versions").glob("9999_*.py")
    assert written.name == "9999_runs_in_the_database.py"
    scripts = ScriptDirectory(str(tmp_path / "classroom" / "migrations"))
    assert scripts.get_current_head() == "9999" and scripts.get_revision("9999").down_revision == head_revision()
    ruff = subprocess.run([Path(sys.executable).with_name("ruff"), "check", "--config", PROJECT_DIR / "pyproject.toml", written],
                          capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout


def test_the_command_line_upgrades_a_hand_made_database_like_the_app(tmp_path, mnist_digits):
    """``alembic upgrade head`` in the project folder stamps a hand-made database and upgrades it;
    ``alembic check`` then finds nothing to change (env.py compares with the app's tables)."""
    images, labels = mnist_digits
    url = f"sqlite:///{tmp_path / 'class_set.sqlite'}"
    make_hand_made_database(url, 2, [(images[0], labels[0], "old")])
    alembic = Path(sys.executable).with_name("alembic")
    environment = {**os.environ, "MNIST_CNN_CLASS_DB_URL": url}
    for arguments in (["upgrade", "head"], ["check"]):
        result = subprocess.run([alembic, *arguments], cwd=PROJECT_DIR, env=environment, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr
    class_set = ClassSet(url)
    assert class_set.schema_revision() == head_revision() and class_set.digits().student_ids == ["old"]
    class_set.dispose()
