"""Class rooms: many classes on one deployment, each joined with a short code (classroom/rooms.py).

``rooms``: one row a room, its join code the key; when it was created and last active, when it closed
(None while open; a closed room's data stays exportable for a while, then the room is purged), the random
secret its teacher tokens are signed with, and a SHA-256 of the creating client's key (never the address
in clear), from which the limits on creating rooms are counted. Nothing else changes: the pages do not use
rooms yet.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rooms",
        sa.Column("code", sa.String(6), primary_key=True),  # the join code
        sa.Column("created_at", sa.Float, nullable=False),  # Unix seconds: shared by servers, so wall-clock time
        sa.Column("last_active_at", sa.Float, nullable=False),  # Unix seconds
        sa.Column("closed_at", sa.Float, nullable=True),  # Unix seconds; None while the room is open
        sa.Column("teacher_secret", sa.String(64), nullable=False),  # hex of 32 random bytes
        sa.Column("creator", sa.String(64), nullable=False),  # a SHA-256 (hex) of the creating client's key
    )
    op.create_index("rooms_by_creator", "rooms", ["creator", "created_at"])
    op.create_index("rooms_by_creation", "rooms", ["created_at"])


def downgrade():
    op.drop_table("rooms")  # its indexes go with it
