"""Every piece of a class's state belongs to a room (classroom/rooms.py): its digits, settings, teacher
sign-outs, runs, live run, class model, quiz, rounds and votes.

Each of those tables gets a ``room`` column, the room's join code, "" for the deployment's own class (no
room): every row from before rooms stays there. What was one row per database (``live_run``, ``quiz_state``,
id 1) is one row per room, and what had a name or number per database has it per room (``class_settings``
and ``class_choices`` by (room, name), ``runs`` by (room, name), ``quiz_rounds`` by (room, number),
``quiz_votes`` by (room, round, question, voter)). Keys change through ``batch_alter_table``: SQLite copies
the table into a new one, PostgreSQL alters it in place. A downgrade keeps the class without a room only.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NO_ROOM = ""  # the deployment's own class: every row from before rooms
# (table, its key before, its key now); "id" was the one row's key, always 1.
NEW_KEYS = [
    ("class_settings", ["name"], ["room", "name"]),
    ("runs", ["name"], ["room", "name"]),
    ("live_run", ["id"], ["room"]),
    ("class_choices", ["name"], ["room", "name"]),
    ("quiz_state", ["id"], ["room"]),
    ("quiz_rounds", ["number"], ["room", "number"]),
    ("quiz_votes", ["round_number", "question", "voter"], ["room", "round_number", "question", "voter"]),
]
UNKEYED = ["class_digits", "teacher_revocations"]  # rows with an id of their own: they only get the column


def _room_column():
    # String(6): the join code's length (classroom.class_set.JOIN_CODE_LENGTH when this revision was written).
    return sa.Column("room", sa.String(6), nullable=False, server_default=NO_ROOM)


def _primary_key_name(table):
    return f"{table}_pkey"  # PostgreSQL's name for a key made with its table; SQLite keeps none


def _rekeyed(table):
    # SQLite keeps no name for a primary key: the convention gives the reflected one PostgreSQL's, so one drop fits both.
    return op.batch_alter_table(table, naming_convention={"pk": "%(table_name)s_pkey"})


def upgrade():
    for table in UNKEYED:
        op.add_column(table, _room_column())
    op.drop_index("class_digits_by_student", table_name="class_digits")
    op.create_index("class_digits_by_room_student", "class_digits", ["room", "student_id", "created_at"])
    op.create_index("teacher_revocations_by_room", "teacher_revocations", ["room"])
    for table, old_key, new_key in NEW_KEYS:
        with _rekeyed(table) as batch:
            batch.add_column(_room_column())
            batch.drop_constraint(_primary_key_name(table), type_="primary")
            if old_key == ["id"]:
                batch.drop_column("id")
            batch.create_primary_key(_primary_key_name(table), new_key)


def downgrade():
    # One class per database before rooms: the rooms' rows have nowhere to go.
    for table in UNKEYED + [table for table, _, _ in NEW_KEYS]:
        op.execute(sa.text(f"DELETE FROM {table} WHERE room <> :no_room").bindparams(no_room=NO_ROOM))
    for table, old_key, _ in NEW_KEYS:
        with _rekeyed(table) as batch:
            batch.drop_constraint(_primary_key_name(table), type_="primary")
            if old_key == ["id"]:
                batch.add_column(sa.Column("id", sa.Integer, nullable=False, server_default="1"))
            batch.drop_column("room")
            batch.create_primary_key(_primary_key_name(table), old_key)
        if old_key == ["id"]:
            with op.batch_alter_table(table) as batch:
                batch.alter_column("id", server_default=None)
    op.drop_index("teacher_revocations_by_room", table_name="teacher_revocations")
    op.drop_index("class_digits_by_room_student", table_name="class_digits")
    op.create_index("class_digits_by_student", "class_digits", ["student_id", "created_at"])
    for table in UNKEYED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("room")
