"""Rate limits in the database, so every server process on it keeps them and a restart does not reset them.

``passcode_failures``: the teacher passcode guard's count per client (a SHA-256 of its address, or of its
session on a loopback address): wrong passcodes in a row and when the last came, from which the client's
wait follows; a row goes once it has been idle for twice the longest wait. The students' one digit a second
needs no table: it is timed from their last digit's ``class_digits.created_at``.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "passcode_failures",
        sa.Column("client", sa.String(64), primary_key=True),  # a SHA-256 (hex) of the client's key: no address in clear
        sa.Column("failures", sa.Integer, nullable=False),  # wrong passcodes in a row
        sa.Column("last_failed_at", sa.Float, nullable=False),  # Unix seconds: shared by servers, so wall-clock time
    )


def downgrade():
    op.drop_table("passcode_failures")
