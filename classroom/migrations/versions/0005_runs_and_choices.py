"""Saved runs, the live run and the class model in the database: a server whose disk is wiped loses
nothing, and every server on the database shows the same run.

``runs``: one row per run folder: its ``metrics.json`` text and its ``model.keras`` bytes (None until
the first checkpoint); a deleted run keeps its row, marked, so servers with their own copy delete it too.
``live_run``: one row, the run training now as its server last published it (classroom.live_board).
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
        "live_run",
        sa.Column("id", sa.Integer, primary_key=True),  # always 1: one run trains at a time
        sa.Column("server_id", sa.String(32), nullable=False),  # the process that trains it
        sa.Column("run_name", sa.String(128), nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),  # JSON: state, settings, thinned history, last batch
        sa.Column("stop_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.Float, nullable=False),  # Unix seconds: a stale row is a dead server's
    )
    op.create_table(
        "class_choices",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade():
    op.drop_table("class_choices")
    op.drop_table("live_run")
    op.drop_table("runs")
