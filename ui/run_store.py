"""Saved runs and the class model kept in the app's database (:class:`classroom.run_store.RunStore`),
one store per server and class room, synced with the runs folder on every page run at most every few
seconds; the room's run manager, and the server's training queue."""
import functools
import os
import threading

import streamlit as st

from classroom.class_set import DEFAULT_ROOM, ClassSetUnavailableError
from classroom.jobs import WORKER_MODE_ENV, InProcessJobs, QueuedJobs, keep_a_worker_running, place_in_queue, uses_queue
from classroom.room_runs import room_run_manager, room_run_store
from classroom.rooms import OPEN_STUDIO_MAX_IMAGES, may_control_run, open_studio_refusal, visitor_digest, whose_runs
from mnist_cnn.paths import runs_dir
from ui.class_set import database
from ui.identity import current_room, visitor_id
from ui.teacher import class_mode_on, teacher_rights

OPEN_STUDIO_RULE = (
    f"Outside a class anyone here may train, up to {OPEN_STUDIO_MAX_IMAGES:,} images in all (epochs × training images), "
    "and classes' runs go first. Only you can stop or cancel your run; others watch it. "
    "Start a class on the home page for longer runs and controls of your own."
)
NOT_A_DATABASE = "the app's database address is not a database URL"  # why there is no store (a bad setting)


def run_store():
    """The :class:`RunStore` of this browser's class room (one per server and room), or None when the
    database's address is not a database URL."""
    try:
        return room_run_store(database(), runs_dir().resolve(), current_room())
    except ClassSetUnavailableError:
        return None


def run_manager():
    """The run manager of this browser's class room: it saves every run into the room's rows as it trains,
    and shares the room's live run with every server on the database."""
    store = run_store()
    return _manager_for(None if store is None else store.database)(current_room())


def training_jobs():
    """How this server trains runs: queued for a worker on PostgreSQL (:class:`QueuedJobs`), else in this
    process, one at a time (:class:`InProcessJobs`); one per server, for every room."""
    store = run_store()
    if store is None:
        return _in_process_jobs("", None)
    if not uses_queue(store.database.url):
        return _in_process_jobs(str(store.database.url), store.database)
    return _queued_jobs(store.database.url.render_as_string(hide_password=False), store.database)


def _manager_for(database):
    """``manager_for(room)``: each room's run manager on ``database`` (the server's one when there is no database)."""
    if database is None:
        from classroom.run_manager import get_run_manager  # imports TensorFlow

        return lambda room: get_run_manager()
    return functools.partial(room_run_manager, database, runs_dir().resolve())


@st.cache_resource(show_spinner=False)
def _in_process_jobs(url, _database):
    return InProcessJobs(_manager_for(_database))


@st.cache_resource(show_spinner=False)
def _queued_jobs(url, _database):
    jobs = QueuedJobs(url, steps_per_call=_manager_for(_database)(DEFAULT_ROOM).steps_per_call)
    if os.environ.get(WORKER_MODE_ENV) != "separate":  # a server on its own (Community Cloud) trains what it queues
        threading.Thread(target=keep_a_worker_running, args=(url, _manager_for(_database), _database, threading.Event()),
                         name="mnist-worker", daemon=True).start()
    return jobs


def in_open_studio():
    """Whether this visitor is outside any class room on a deployment without a passcode: anyone may train,
    within :data:`~classroom.rooms.OPEN_STUDIO_MAX_IMAGES`, after every room's runs, and stops or cancels only
    their own."""
    return current_room() == DEFAULT_ROOM and not class_mode_on()


def own_runs():
    """Whose runs this visitor controls and sees waiting (:func:`~classroom.rooms.whose_runs`): their own in the
    open studio, else None (the room's)."""
    return whose_runs(in_open_studio(), visitor_digest(visitor_id()))


def controls_run(run_starter):
    """Whether this visitor may stop the run ``run_starter`` (a digest) started, or cancel it while it waits."""
    return may_control_run(teacher_rights(), own_runs(), run_starter)


def stop_live_run(manager):
    """Stop ``manager``'s live run when this visitor controls it, checked here and now (a page drawn earlier may
    still show Stop for a run that ended, with another's run live since); whether they may."""
    live = manager.snapshot()
    if not controls_run(live.starter):
        return False
    if live.run_dir is not None:
        manager.stop(run_name=live.run_dir.name)
    return True


def start_run(config, class_data=None):
    """Train ``config`` for this browser's class room, now or after the runs before it, as this visitor's run
    (errors as :meth:`InProcessJobs.start`; ValueError for a run too big for the open studio)."""
    if in_open_studio() and (refusal := open_studio_refusal(config.epochs, config.train_size)):
        raise ValueError(refusal)
    room = current_room()
    started = training_jobs().start(config, class_data=class_data, room=room, starter=visitor_digest(visitor_id()))
    if room != DEFAULT_ROOM and not class_mode_on() and (store := run_store()) is not None:
        # A visitor's run in the open studio never delays a class: it stops (keeping its last epoch's model).
        _manager_for(store.database)(DEFAULT_ROOM).stop()
    return started


def runs_ahead():
    """The runs (:class:`~classroom.jobs.QueuedRun`) this room's waiting run (in the open studio: this visitor's)
    waits for, or None when it has none waiting (also when the queue cannot be read: the page still shows the
    live run)."""
    store = run_store()
    if store is not None and store.problem:
        return None  # the database is down (the page says so): the queue, in it, would only keep the page waiting
    try:
        return place_in_queue(training_jobs().queue(), current_room(), own_runs())
    except ClassSetUnavailableError:
        return None


def cancel_waiting_runs():
    """Take this room's runs (in the open studio: this visitor's) that wait for a worker out of the queue (nothing
    when it cannot be reached)."""
    try:
        return training_jobs().cancel_waiting(current_room(), own_runs())
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
