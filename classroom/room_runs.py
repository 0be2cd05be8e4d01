"""Each room's runs in one process: its run store, live board and run manager, made once per process and
shared by the pages and the training worker (so a page of the server that trains sees the run first-hand).

No Streamlit here (the pages hold these through ``st.cache_resource`` in :mod:`ui.run_store`); the run
manager imports TensorFlow, so it is imported only by :func:`room_run_manager`.
"""
import threading

from classroom.live_board import LiveBoard
from classroom.run_store import RunStore

_lock = threading.Lock()
_stores, _boards = {}, {}


def _key(database, *parts):
    return (database.url.render_as_string(hide_password=False), *parts)


def room_run_store(database, runs_root, room):
    """The :class:`RunStore` of ``room``'s runs in ``runs_root`` (one per process, database and folder);
    its first sync brings back every run of the room (a server started on an empty disk)."""
    key = _key(database, str(runs_root), room)
    with _lock:
        store, new = _stores.get(key), key not in _stores
        if new:
            store = _stores[key] = RunStore(database, runs_root, room)
    if new:
        store.sync(force=True)  # before any page lists the room's runs
    return store


def room_live_board(database, room):
    """The :class:`LiveBoard` of ``room`` (one per process and database)."""
    key = _key(database, room)
    with _lock:
        board = _boards.get(key)
        if board is None:
            board = _boards[key] = LiveBoard(database, room)
        return board


def room_run_manager(database, runs_root, room):
    """The process's :class:`~classroom.run_manager.RunManager` of ``room``: it trains into the room's
    folder, saves into the room's rows and publishes on the room's live board."""
    from classroom.run_manager import get_run_manager  # imports TensorFlow

    store = room_run_store(database, runs_root, room)
    return get_run_manager(store.runs_root, on_saved=store.backup, board=room_live_board(database, room))
