"""The job queue of training runs on PostgreSQL: procrastinate's own tables, types, functions and triggers,
as the pinned procrastinate version creates them (a later version's upgrade is its migration scripts, run
in a revision of their own). SQLite trains in the server's process and has no queue.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
from procrastinate.schema import SchemaManager

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Everything procrastinate creates is named procrastinate_*: the functions and types go with the tables.
DROP_PROCRASTINATE = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT oid::regprocedure AS signature FROM pg_proc
                WHERE proname LIKE 'procrastinate%' AND pronamespace = current_schema()::regnamespace LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT typname FROM pg_type
                WHERE typname LIKE 'procrastinate%' AND typtype = 'e' AND typnamespace = current_schema()::regnamespace LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END;
$$;
"""


def _run_script(sql):
    if op.get_context().dialect.name != "postgresql":
        return
    if op.get_context().as_sql:  # alembic upgrade --sql prints it
        op.execute(sql)
    else:  # the driver's own cursor without parameters: the script has many statements and literal % signs
        op.get_bind().connection.cursor().execute(sql)


def upgrade():
    _run_script(SchemaManager.get_schema())


def downgrade():
    _run_script(DROP_PROCRASTINATE)
