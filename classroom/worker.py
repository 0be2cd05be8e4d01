"""A training worker: takes the runs that pages start from the job queue in the app's PostgreSQL database.

    python -m classroom worker [--database-url URL] [--runs FOLDER]

Run it on any machine that reaches the database (MNIST_CNN_CLASS_DB_URL, or ``--database-url``). It trains
one run at a time, in the order they were started, publishes each to the live board that every server
reads, saves it into the database epoch by epoch, and honours a Stop pressed on any server. Stop it with
Ctrl+C (SIGINT) or SIGTERM: a run it was training is left "interrupted" with its last epoch's model.
"""
import argparse
import functools
import gc
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter hides the worker's own lines

import psycopg  # noqa: E402
from procrastinate.exceptions import ConnectorException  # noqa: E402

from classroom.class_set import ClassSet, ClassSetUnavailableError, database_url  # noqa: E402
from classroom.jobs import run_worker, uses_queue  # noqa: E402
from classroom.room_runs import room_run_manager  # noqa: E402
from mnist_cnn.paths import runs_dir  # noqa: E402

NEEDS_POSTGRESQL = (
    "A worker takes runs from the job queue of a PostgreSQL database; with SQLite ({url}) every server trains "
    "its runs itself. Set MNIST_CNN_CLASS_DB_URL (or --database-url) to the app's PostgreSQL URL."
)


def room_managers(database, runs_root):
    """``manager_for(room)``: each room's run manager, saving into ``database`` and sharing its live run with
    every server on it."""
    import classroom.run_manager  # noqa: F401 - TensorFlow, imported before the first job

    gc.freeze()  # TensorFlow's objects out of the collector's scans, as a server does (ui/server_tuning.py)
    return functools.partial(room_run_manager, database, runs_root)


def build_parser(prog="python -m classroom worker"):
    parser = argparse.ArgumentParser(prog=prog, description="Train the runs that pages start, one at a time.")
    parser.add_argument("--database-url", default=None, help="the app's PostgreSQL URL (default: $MNIST_CNN_CLASS_DB_URL)")
    parser.add_argument("--runs", default=None, help="folder for the runs' files while they train (default: runs/ or $MNIST_CNN_RUNS)")
    return parser


def main(argv=None, prog="python -m classroom worker"):
    args = build_parser(prog).parse_args(argv)
    url = args.database_url or database_url()
    if not uses_queue(url):
        print("error: " + NEEDS_POSTGRESQL.format(url=url), file=sys.stderr)
        return 2
    try:
        database = ClassSet(url)
        database.schema_revision()  # migrates a new database (the queue's tables too) before the worker uses them
    except ClassSetUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # each job's start and end, from procrastinate
    print(f"Worker: training the runs queued in {database.location}.", flush=True)
    try:
        run_worker(url, room_managers(database, runs_dir() if args.runs is None else args.runs), database)
    except (ConnectorException, psycopg.Error, OSError) as error:
        print(f"error: the job queue's database cannot be reached: {error.__cause__ or error}", file=sys.stderr)
        return 2
    return 0
