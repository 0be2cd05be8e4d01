"""The saved runs a class sees: run folders listed for the Train page and titled.

A run folder's format (``model.keras`` plus ``metrics.json``) is the network's: ``mnist_cnn/run_folder.py``.
"""
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

from mnist_cnn.run_folder import ACTIVE_STATES, METRICS_FILE, MODEL_FILE, RUN_TIME_FORMAT, RunState
from mnist_cnn.run_record import RunRecord, read_run_record


@dataclass(frozen=True)
class SavedRun:
    """A run folder on disk, as listed on the Train page: its record, or why it cannot be read."""

    name: str
    path: Path
    status: str = ""  # the record's status, "interrupted" for a run whose server died, or "unreadable"
    record: RunRecord = field(default_factory=RunRecord)  # empty when unreadable
    error: str = ""  # why the run folder cannot be read

    @property
    def readable(self):
        return not self.error

    @property
    def model_path(self):
        return self.path / MODEL_FILE

    def title(self, now=None):
        """A short human name for the pages, e.g. "Tutorial · 3 epochs · 98.9% · 14:05" (the folder
        name stays for downloads); "1 of 8 epochs" for a run that stopped early."""
        if not self.readable:
            return self.name
        record = self.record
        epochs, done = record.config.get("epochs"), record.completed_epochs
        parts = [str(record.config.get("preset", "run")).capitalize()]
        if done == epochs:
            parts.append(f"{done} epoch{'' if done == 1 else 's'}")
        else:
            parts.append(f"{done} of {epochs} epochs")
        if record.test_accuracy is not None:
            parts.append(f"{record.test_accuracy:.1%}")
        if started := run_started(self.name):
            now = now or time.localtime()
            same_day, same_year = started[:3] == tuple(now)[:3], started[0] == now[0]
            parts.append(time.strftime("%H:%M" if same_day else "%-d %b %H:%M" if same_year else "%-d %b %Y %H:%M", started))
        return " · ".join(parts)

    @property
    def has_model(self):
        return self.model_path.is_file()


def run_started(folder_name):
    """When a run started, from its folder's name (see :func:`new_run_dir`) as a ``time.struct_time``, or None."""
    try:
        return time.strptime(folder_name[:15], RUN_TIME_FORMAT)
    except ValueError:
        return None


def run_title(run_dir):
    """The human name (:meth:`SavedRun.title`) of the run in ``run_dir``, cached until its metrics change."""
    metrics = Path(run_dir) / METRICS_FILE
    try:
        modified = metrics.stat().st_mtime_ns
    except OSError:
        modified = None
    return _run_title(Path(run_dir), modified)


def run_in_words(run_dir):
    """A run as a sentence names it, e.g. 'run “Tutorial · 3 epochs · 98.9% · 14:05”'."""
    return f"run “{run_title(run_dir)}”"


@functools.lru_cache(maxsize=256)
def _run_title(run_dir, modified):
    return read_saved_run(run_dir).title()


def read_saved_run(path, live_run_dir=None):
    """A :class:`SavedRun` from a run folder, never raising for a broken one."""
    path = Path(path)
    try:
        record = read_run_record(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return SavedRun(name=path.name, path=path, status=RunState.UNREADABLE, error=f"unreadable {METRICS_FILE}: {error}")
    status = record.status
    if status == RunState.TRAINING and path != live_run_dir:
        status = RunState.INTERRUPTED  # the server died mid-run; the last epoch's checkpoint remains
    return SavedRun(name=path.name, path=path, status=status, record=record)


def list_saved_runs(runs_root, live=None):
    """Saved runs under ``runs_root``, newest first, never raising for a broken folder.

    ``live`` is the snapshot of this server's current run (a ``RunSnapshot``), if any: while it has
    saved nothing yet it is described from memory; runs that died mid-training are "interrupted".
    """
    runs_root = Path(runs_root)
    if not runs_root.is_dir():
        return []
    live_run_dir = live.run_dir if live is not None and live.state in ACTIVE_STATES else None
    runs = []
    folders = (p for p in runs_root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for path in sorted(folders, reverse=True):
        if path != live_run_dir and not any(path.iterdir()):
            continue  # a run that died before it saved anything is not a run
        if path == live_run_dir and not (path / METRICS_FILE).exists():
            # Still loading its data (train() writes metrics.json as training starts): describe it from memory.
            runs.append(SavedRun(name=path.name, path=path, status=live.state, record=live.record))
        else:
            runs.append(read_saved_run(path, live_run_dir=live_run_dir))
    return runs
