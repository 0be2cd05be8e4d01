"""Class set databases as the app left them before Alembic: its hand-made migration steps, frozen.

The app up to revision 0003 created its schema with these three steps and counted them in a
``schema_version`` table; :func:`make_hand_made_database` builds such a database at version 1, 2 or 3
so the tests can check that Alembic recognizes and upgrades it in place.
"""
from datetime import UTC, datetime

import sqlalchemy as sa


def _step_1(connection):
    sa.Table(
        "class_digits",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image", sa.LargeBinary, nullable=False),
        sa.Column("label", sa.SmallInteger, nullable=False),
        sa.Column("predicted", sa.SmallInteger, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.CheckConstraint("label BETWEEN 0 AND 9", name="label_is_a_digit"),
        sa.CheckConstraint("predicted BETWEEN 0 AND 9", name="predicted_is_a_digit"),
    ).create(connection)


def _step_2(connection):
    dialect = connection.dialect
    connection.execute(sa.text("ALTER TABLE class_digits RENAME COLUMN session_id TO student_id"))
    for name, kind in (("deleted_at", sa.DateTime(timezone=True)), ("deletion_id", sa.String(32))):
        connection.execute(sa.text(f"ALTER TABLE class_digits ADD COLUMN {name} {kind.compile(dialect=dialect)}"))
    connection.execute(sa.text("CREATE INDEX class_digits_by_student ON class_digits (student_id, created_at)"))
    sa.Table(
        "class_settings",
        sa.MetaData(),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    ).create(connection)


def _step_3(connection):
    sa.Table(
        "teacher_revocations",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_id", sa.String(32), nullable=True),
        sa.Column("issued_before", sa.Float, nullable=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    ).create(connection)


HAND_MADE_STEPS = (_step_1, _step_2, _step_3)


def make_hand_made_database(url, version, digits=()):
    """Create the schema at hand-made ``version`` (1-3) in the empty database at ``url``, with
    ``digits``: (image, label, student) triples (a version-1 row's student is its ``session_id``)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for step in HAND_MADE_STEPS[:version]:
            step(connection)
        connection.execute(sa.text("CREATE TABLE schema_version (version INTEGER NOT NULL)"))
        connection.execute(sa.text("INSERT INTO schema_version (version) VALUES (:version)"), {"version": version})
        student_column = "session_id" if version == 1 else "student_id"
        for image, label, student in digits:
            connection.execute(
                sa.text(f"INSERT INTO class_digits (image, label, predicted, confidence, created_at, {student_column}) "
                        "VALUES (:image, :label, :label, 0.9, :at, :student)"),
                dict(image=image.tobytes(), label=int(label), at=datetime.now(UTC), student=student),
            )
    engine.dispose()
