"""The teacher's sign-outs, kept through a restart (the hand-made migrations' version 3).

A row revokes one teacher token (Lock), or with no token_id every token issued before issued_before
("sign out every device"); it may be forgotten after expires_at, when the tokens it names have expired.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "teacher_revocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_id", sa.String(32), nullable=True),
        sa.Column("issued_before", sa.Float, nullable=True),  # Unix seconds
        sa.Column("expires_at", sa.Float, nullable=False),  # Unix seconds
    )


def downgrade():
    op.drop_table("teacher_revocations")
