"""The class quiz in the database, so every server process on it shows one quiz and a restart keeps it.

``quiz_state``: one row, the quiz as a whole: its open round (0: no quiz), a version that grows with every
change (each process re-reads rounds and votes only when it moved), and who runs it. ``quiz_rounds``: the
rounds of the running quiz; ``quiz_votes``: one row per voter, question and round (a changed vote replaces it).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    state = op.create_table(
        "quiz_state",
        sa.Column("id", sa.Integer, primary_key=True),  # always 1: one quiz per database
        sa.Column("round_number", sa.Integer, nullable=False),  # the open round; 0: no quiz running
        sa.Column("version", sa.Integer, nullable=False),  # grows with every change a screen shows
        sa.Column("host", sa.String(64), nullable=True),  # the host token of the visitor who runs it
        sa.Column("host_seen", sa.Float, nullable=False),  # Unix seconds: the host's page was last open then
    )
    op.bulk_insert(state, [{"id": 1, "round_number": 0, "version": 0, "host": None, "host_seen": 0.0}])
    op.create_table(
        "quiz_rounds",
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("image", sa.LargeBinary, nullable=False),  # 784 bytes, row by row, 0 = background
        sa.Column("probabilities", sa.LargeBinary, nullable=False),  # 10 little-endian float64: the network's answer
        sa.Column("label", sa.SmallInteger, nullable=True),  # None: unknown (a drawing)
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),  # which model answers, in words
        sa.Column("ask_truth", sa.Boolean, nullable=False),  # also asks "what digit is it really?"
        sa.Column("revealed", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),  # Unix seconds
    )
    op.create_table(
        "quiz_votes",
        sa.Column("round_number", sa.Integer, primary_key=True),
        sa.Column("question", sa.String(8), primary_key=True),  # "network" or "truth"
        sa.Column("voter", sa.String(64), primary_key=True),  # the browser's visitor id
        sa.Column("digit", sa.SmallInteger, nullable=False),
        sa.CheckConstraint("digit BETWEEN 0 AND 9", name="vote_is_a_digit"),
    )


def downgrade():
    op.drop_table("quiz_votes")
    op.drop_table("quiz_rounds")
    op.drop_table("quiz_state")
