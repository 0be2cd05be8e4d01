"""Saved runs and the class model kept in the app's database (:class:`classroom.run_store.RunStore`),
one store per server, synced with the runs folder on every page run at most every few seconds."""
import os
import threading

import streamlit as st

from classroom.class_set import ClassSetUnavailableError
from classroom.jobs import WORKER_MODE_ENV, InProcessJobs, QueuedJobs, keep_a_worker_running, uses_queue
from classroom.live_board import LiveBoard
from classroom.run_store import RunStore
from mnist_cnn.paths import runs_dir
from ui.class_set import class_set

NOT_A_DATABASE = "the app's database address is not a database URL"  # why there is no store (a bad setting)


@st.cache_resource(show_spinner=False)
def _shared_run_store(runs_root, url, _database):
    store = RunStore(_database, runs_root)
    store.sync(force=True)  # a server started on an empty disk gets every run back before any page lists them
    return store


def run_store():
    """The server's :class:`RunStore`, or None when the database's address is not a database URL."""
    try:
        database = class_set()
    except ClassSetUnavailableError:
        return None
    return _shared_run_store(str(runs_dir().resolve()), str(database.url), database)


@st.cache_resource(show_spinner=False)
def _shared_live_board(url, _database):
    return LiveBoard(_database)


def run_manager():
    """The server's run manager: it saves every run into the database as it trains, and shares the live
    run with every server on the database."""
    from classroom.run_manager import get_run_manager  # imports TensorFlow: only the pages that train need it

    store = run_store()
    if store is None:
        return get_run_manager()
    return get_run_manager(on_saved=store.backup, board=_shared_live_board(str(store.database.url), store.database))


def training_jobs():
    """How this server starts runs: queued for a worker on PostgreSQL (:class:`QueuedJobs`), else trained
    here (:class:`InProcessJobs`)."""
    manager, store = run_manager(), run_store()
    if store is None or not uses_queue(store.database.url):
        return InProcessJobs(manager)
    return _queued_jobs(store.database.url.render_as_string(hide_password=False), store.database, manager)


@st.cache_resource(show_spinner=False)
def _queued_jobs(url, _database, _manager):
    jobs = QueuedJobs(url, steps_per_call=_manager.steps_per_call)
    if os.environ.get(WORKER_MODE_ENV) != "separate":  # a server on its own (Community Cloud) trains what it queues
        threading.Thread(target=keep_a_worker_running, args=(url, _manager, _database, threading.Event()),
                         name="mnist-worker", daemon=True).start()
    return jobs


def waiting_runs():
    """How many runs wait for a worker (0 when the queue cannot be read: the page still shows the live run)."""
    store = run_store()
    if store is not None and store.problem:
        return 0  # the database is down (the page says so): the queue, in it, would only keep the page waiting
    try:
        return training_jobs().waiting()
    except ClassSetUnavailableError:
        return 0


def cancel_waiting_runs():
    """Take the runs that wait for a worker out of the queue (nothing when the queue cannot be reached)."""
    try:
        return training_jobs().cancel_waiting()
    except ClassSetUnavailableError:
        return 0


def sync_saved_runs():
    """Bring runs saved by another server (or before a restart) into the runs folder, and runs of this
    folder into the database; at most every few seconds."""
    if (store := run_store()) is not None:
        store.sync()


def saved_runs_problem():
    """Why saved runs are not kept in the database right now, for the Train page ("" when they are)."""
    store = run_store()
    return NOT_A_DATABASE if store is None else store.problem
