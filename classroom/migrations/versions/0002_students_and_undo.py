"""``session_id`` becomes ``student_id`` (an id that survives reloads; a version-1 session is one
student); deletions that can be undone (``deleted_at`` and the ``deletion_id`` an undo names); the
per-class settings table. The hand-made migrations' version 2, statement for statement.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    # RENAME COLUMN in plain SQL: PostgreSQL and SQLite (3.25+) both have it, and no table is copied.
    op.execute("ALTER TABLE class_digits RENAME COLUMN session_id TO student_id")
    op.add_column("class_digits", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("class_digits", sa.Column("deletion_id", sa.String(32), nullable=True))
    op.create_index("class_digits_by_student", "class_digits", ["student_id", "created_at"])
    op.create_table(
        "class_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )


def downgrade():
    op.drop_table("class_settings")
    op.drop_index("class_digits_by_student", "class_digits")
    op.drop_column("class_digits", "deletion_id")
    op.drop_column("class_digits", "deleted_at")
    op.execute("ALTER TABLE class_digits RENAME COLUMN student_id TO session_id")
