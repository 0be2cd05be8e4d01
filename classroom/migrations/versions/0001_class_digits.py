"""The class set's first schema (the hand-made migrations' version 1): one row a digit.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "class_digits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image", sa.LargeBinary, nullable=False),  # 784 bytes, row by row, 0 = background
        sa.Column("label", sa.SmallInteger, nullable=False),
        sa.Column("predicted", sa.SmallInteger, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.CheckConstraint("label BETWEEN 0 AND 9", name="label_is_a_digit"),
        sa.CheckConstraint("predicted BETWEEN 0 AND 9", name="predicted_is_a_digit"),
    )


def downgrade():
    op.drop_table("class_digits")
