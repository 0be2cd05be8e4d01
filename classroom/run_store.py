"""Saved runs and the class model kept in the database, so nothing trained is lost with the server's disk.

The runs folder stays the working copy: training writes it, the pages and ``python -m mnist_cnn evaluate``
read it. The database keeps each run's ``metrics.json`` and ``model.keras`` (a row of ``runs``) and the
class model's name (``class_choices``). :meth:`RunStore.sync` copies runs both ways by their last change:
a server started on an empty disk (Community Cloud after a restart) gets every run back, and run folders
from before the database go in on first start.

Runs belong to the room that trained them (rows keyed by (room, name)), and each room's runs have a folder
of their own: the runs folder itself for the class without a room (as before rooms), ``runs/.rooms/<code>``
for a room (:func:`room_runs_dir`; the dot keeps them out of the class's own list). Why not one shared folder
filtered by the room column: sync compares a folder with the room's rows, and a folder holding every room's
runs would look to each room like runs of its own not yet saved, copying them into its rows.
"""
import json
import os
import shutil
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from classroom.class_set import CLASS_CHOICES, DEFAULT_ROOM, RUNS, ClassSetUnavailableError, room_code
from mnist_cnn.run_folder import METRICS_FILE, MODEL_FILE, write_bytes_atomically

CLASS_MODEL_CHOICE = "class_model"
LEGACY_CLASS_MODEL_FILE = "class_model.json"  # where the class model was kept before the database
SYNC_SECONDS = 2.0  # how often a server looks for runs saved by another (pages call sync on every run)
CHOICE_SECONDS = 2.0  # how long a server trusts its copy of the class model's name
SAME_MOMENT_SECONDS = 0.001  # a row's time and its folder's metrics time differ by rounding only
ROOMS_FOLDER = ".rooms"  # in the runs folder: one folder per room for its runs


def delete_room_folders(runs_root, codes):
    """Delete the run folders of the rooms ``codes`` from this server's ``runs_root`` (their rows go with
    :func:`classroom.class_set.delete_rooms_data`; another server's leftovers go at its next sync)."""
    for code in codes:
        if room_code(code) != DEFAULT_ROOM:
            shutil.rmtree(room_runs_dir(runs_root, code), ignore_errors=True)


def room_runs_dir(runs_root, room=DEFAULT_ROOM):
    """The folder of ``room``'s runs in ``runs_root``: ``runs_root`` itself for the class without a room."""
    room = room_code(room)
    return Path(runs_root) if room == DEFAULT_ROOM else Path(runs_root) / ROOMS_FOLDER / room


class RunStore:
    """The runs of ``room`` (a join code; DEFAULT_ROOM: the class without a room) in its folder of
    ``runs_root`` (:func:`room_runs_dir`, kept as :attr:`runs_root`), mirrored in ``database`` (a
    :class:`~classroom.class_set.ClassSet`), with the room's class model.

    Every database failure raises :class:`ClassSetUnavailableError` except in :meth:`sync`, which keeps
    the reason in :attr:`problem` (the pages say it) and leaves the folder as it is. Thread-safe.
    """

    def __init__(self, database, runs_root, room=DEFAULT_ROOM, sync_seconds=SYNC_SECONDS, clock=time.monotonic):
        self.database, self.room = database, room_code(room)
        self.runs_root = room_runs_dir(runs_root, self.room)
        self._class_model = (CLASS_CHOICES.c.room == self.room) & (CLASS_CHOICES.c.name == CLASS_MODEL_CHOICE)
        self.problem = ""  # why the last sync failed, for the pages; "" when it worked
        self._sync_seconds, self._clock = sync_seconds, clock
        self._sync_lock = threading.Lock()
        self._synced_at = float("-inf")
        self._seen_on_disk = set()  # run folders here at the last sync: one gone since was deleted
        self._seen_in_database = set()  # the room's rows at the last sync: one gone since went with its purged room
        self._synced_once = False
        self._choice, self._choice_read_at = None, float("-inf")

    # -- runs -------------------------------------------------------------------------------

    def save(self, run_dir):
        """Copy the run folder ``run_dir`` (its metrics and, once saved, its model) into the database."""
        run_dir = Path(run_dir)
        metrics = run_dir / METRICS_FILE
        changed_at, record = metrics.stat().st_mtime, metrics.read_text()  # the row's version is the folder's
        model_path = run_dir / MODEL_FILE
        model = model_path.read_bytes() if model_path.is_file() else None
        row = {"record": record, "model": model, "updated_at": changed_at, "deleted": False}
        with self.database.transaction(writes=True) as connection:
            updated = connection.execute(RUNS.update().where(self._run(run_dir.name)).values(**row)).rowcount
            if not updated:
                connection.execute(RUNS.insert().values(room=self.room, name=run_dir.name, **row))

    def backup(self, run_dir):
        """:meth:`save` for the training loop: a database that is down is noted in :attr:`problem`, never
        raised (the folder has the run; the next save or sync copies it)."""
        try:
            self.save(run_dir)
        except ClassSetUnavailableError as error:
            self.problem = str(error)

    def _run(self, name):
        """The condition for the room's row of the run ``name`` (every statement keeps to the room's rows)."""
        return (RUNS.c.room == self.room) & (RUNS.c.name == name)

    def delete(self, name):
        """Mark the run ``name`` deleted (its model goes): every server deletes its folder at its next sync."""
        with self.database.transaction(writes=True) as connection:
            connection.execute(RUNS.update().where(self._run(name)).values(model=None, deleted=True))

    def _rows(self):
        """``{name: (when it last changed (its metrics' time, Unix seconds), deleted)}`` for every row."""
        with self.database.transaction() as connection:
            rows = connection.execute(sa.select(RUNS.c.name, RUNS.c.updated_at, RUNS.c.deleted).where(RUNS.c.room == self.room)).all()
        return {row.name: (row.updated_at, row.deleted) for row in rows}

    def record(self, name):
        """The saved ``metrics.json`` text of the run ``name``, or None before its first save."""
        with self.database.transaction() as connection:  # (no row is no outage: scalar_one would report one)
            return connection.execute(sa.select(RUNS.c.record).where(self._run(name))).scalar()

    def restore(self, name):
        """Write the run ``name`` from the database into the runs folder (a new folder, or newer files)."""
        with self.database.transaction() as connection:
            row = connection.execute(sa.select(RUNS).where(self._run(name))).one()
        run_dir = self.runs_root / name
        run_dir.mkdir(parents=True, exist_ok=True)
        if row.model is not None:
            write_bytes_atomically(row.model, run_dir / MODEL_FILE)
        metrics = run_dir / METRICS_FILE
        write_bytes_atomically(row.record.encode(), metrics)  # last: a folder with metrics is a whole run
        os.utime(metrics, (row.updated_at, row.updated_at))  # the same moment as the row: not copied back

    def sync(self, force=False):
        """Copy runs between the folder and the database, whichever side changed last; at most every
        ``sync_seconds`` unless ``force``. A run training here is written to the folder first and then
        saved, so its row is never the newer side.

        Returns the names restored from the database. Never raises for a database that is down.
        """
        if not self._sync_lock.acquire(blocking=force):
            return []  # another page of this server is syncing right now
        try:
            if not force and self._clock() - self._synced_at < self._sync_seconds:
                return []
            self._synced_at = self._clock()
            restored = self._sync()
            self.problem = ""
            return restored
        except ClassSetUnavailableError as error:
            self.problem = str(error)
            return []
        finally:
            self._sync_lock.release()

    def _sync(self):
        in_database, on_disk = self._rows(), self._folders()
        self._import_legacy_class_model()
        restored = []
        for name in sorted(set(in_database) | set(on_disk)):
            database_time, deleted = in_database.get(name, (None, False))
            disk_time = on_disk.get(name)
            try:
                if deleted:
                    if disk_time is not None:
                        shutil.rmtree(self.runs_root / name, ignore_errors=True)  # deleted on another server
                elif disk_time is None and name in self._seen_on_disk:
                    self.delete(name)  # its folder was deleted since the last sync
                elif database_time is None and self._left_by_a_purged_room(name):
                    shutil.rmtree(self.runs_root / name, ignore_errors=True)
                elif disk_time is not None and (database_time is None or disk_time > database_time + SAME_MOMENT_SECONDS):
                    self.save(self.runs_root / name)
                elif database_time is not None and (disk_time is None or database_time > disk_time + SAME_MOMENT_SECONDS):
                    self.restore(name)
                    restored.append(name)
            except (OSError, ValueError):  # a broken folder (the Train page lists it as unreadable) stays as it is
                continue
        self._seen_on_disk = set(self._folders())
        self._seen_in_database, self._synced_once = set(in_database), True
        return restored

    def _left_by_a_purged_room(self, name):
        """Whether the folder ``name``, on disk with no row, is a purged room's run rather than one trained here
        and not saved yet: its row went since the last sync (rows go only with their room), or it was here before
        this store's first sync in a room (a room has no runs from before the database: an earlier room with the
        same code left it). Copied in, it would show in the new room with that code."""
        return name in self._seen_in_database or (self.room != DEFAULT_ROOM and not self._synced_once)

    def _folders(self):
        """Run folders with metrics, and when their metrics last changed (Unix seconds)."""
        if not self.runs_root.is_dir():
            return {}
        folders = {}
        for path in self.runs_root.iterdir():
            try:
                if path.is_dir() and not path.name.startswith("."):
                    folders[path.name] = (path / METRICS_FILE).stat().st_mtime
            except OSError:
                continue  # no metrics yet (a run that is starting) or unreadable: nothing to copy
        return folders

    # -- the class model --------------------------------------------------------------------

    def class_model_name(self):
        """The name of the room's class model's run, or None when none is set (read at most every CHOICE_SECONDS)."""
        if self._clock() - self._choice_read_at >= CHOICE_SECONDS:
            with self.database.transaction() as connection:
                self._choice = connection.execute(sa.select(CLASS_CHOICES.c.value).where(self._class_model)).scalar()
            self._choice_read_at = self._clock()
        return self._choice

    def set_class_model_name(self, name):
        """Make the run ``name`` the room's class model for every server on this database; None clears it."""
        with self.database.transaction(writes=True) as connection:
            connection.execute(CLASS_CHOICES.delete().where(self._class_model))
            if name is not None:
                connection.execute(CLASS_CHOICES.insert().values(room=self.room, name=CLASS_MODEL_CHOICE, value=str(name)))
        self._choice, self._choice_read_at = name, self._clock()

    def _import_legacy_class_model(self):
        """A class model set in ``runs/class_model.json`` before the database kept it goes in once."""
        legacy = self.runs_root / LEGACY_CLASS_MODEL_FILE
        if not legacy.is_file():
            return
        try:
            name = json.loads(legacy.read_text()).get("run")
        except (OSError, ValueError, AttributeError):
            name = None
        if isinstance(name, str) and self.class_model_name() is None:
            self.set_class_model_name(name)
        legacy.unlink(missing_ok=True)
