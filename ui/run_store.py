"""Saved runs and the class model kept in the app's database (:class:`classroom.run_store.RunStore`),
one store per server, synced with the runs folder on every page run at most every few seconds."""
import streamlit as st

from classroom.class_set import ClassSetUnavailableError
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


def sync_saved_runs():
    """Bring runs saved by another server (or before a restart) into the runs folder, and runs of this
    folder into the database; at most every few seconds."""
    if (store := run_store()) is not None:
        store.sync()


def saved_runs_problem():
    """Why saved runs are not kept in the database right now, for the Train page ("" when they are)."""
    store = run_store()
    return NOT_A_DATABASE if store is None else store.problem
