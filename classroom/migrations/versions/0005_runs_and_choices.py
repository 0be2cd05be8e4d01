"""Saved runs and the class model in the database, so a server whose disk is wiped loses neither.

``runs``: one row per run folder: its ``metrics.json`` text and its ``model.keras`` bytes (None until
the first checkpoint); a deleted run keeps its row, marked, so servers with their own copy delete it too.
``class_choices``: text settings every server shares, such as the class model.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "runs",
        sa.Column("name", sa.String(128), primary_key=True),  # the run folder's name
        sa.Column("record", sa.Text, nullable=False),  # metrics.json
        sa.Column("model", sa.LargeBinary, nullable=True),  # model.keras
        sa.Column("updated_at", sa.Float, nullable=False),  # Unix seconds: its metrics' time
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "class_choices",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade():
    op.drop_table("class_choices")
    op.drop_table("runs")
