"""Alembic takes over from the hand-made migrations: ``schema_version`` stays, set to 4.

The hand-made code refused a database whose ``schema_version`` was above its own (3) with "newer
than this app: update the app". Setting it to 4 here, rather than dropping the table, makes a server
from before Alembic (an old process during a redeploy) refuse this database with that message
instead of trying to create the tables again. Nothing reads the number any more; later changes
leave it alone.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ALEMBIC_ERA_VERSION = 4


def upgrade():
    connection = op.get_bind()
    if not sa.inspect(connection).has_table("schema_version"):  # a database Alembic created from empty
        op.create_table("schema_version", sa.Column("version", sa.Integer, nullable=False))
    op.execute("DELETE FROM schema_version")
    op.execute(f"INSERT INTO schema_version (version) VALUES ({ALEMBIC_ERA_VERSION})")


def downgrade():
    op.execute("UPDATE schema_version SET version = 3")
