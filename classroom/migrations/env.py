"""Alembic's entry point for the class set's database (see classroom/schema.py).

The app runs it through :func:`classroom.schema.upgrade` on its own connection, already in a
transaction and holding the lock. From the command line (``alembic`` in the project folder, configured
by ``[tool.alembic]`` in pyproject.toml) it connects to the app's database, ``MNIST_CNN_CLASS_DB_URL``
or else ``data/class_set.sqlite``.
"""
import sqlalchemy as sa
from alembic import context

from classroom.class_set import METADATA, database_url
from classroom.schema import is_app_object, stamp_hand_made_version


def run_migrations(connection):
    context.configure(connection=connection, target_metadata=METADATA, include_name=is_app_object)
    with context.begin_transaction():  # a no-op inside the app's transaction
        context.run_migrations()


if context.is_offline_mode():  # alembic upgrade --sql: the SQL as text, for a database administrator
    context.configure(url=database_url(), target_metadata=METADATA, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (app_connection := context.config.attributes.get("connection")) is not None:
    run_migrations(app_connection)
else:  # the command line: the app's database, a hand-made one stamped first as the app does
    engine = sa.create_engine(database_url())
    with engine.begin() as command_line_connection:
        stamp_hand_made_version(command_line_connection)
        run_migrations(command_line_connection)
    engine.dispose()
