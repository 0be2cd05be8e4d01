"""The saved runs a class sees: run folders listed for the Train page, titled, and exported as CSV.

A run folder's format (``model.keras`` plus ``metrics.json``) is the network's: ``mnist_cnn/run_folder.py``.
"""
import csv
import dataclasses
import functools
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

from mnist_cnn.run_folder import ACTIVE_STATES, METRICS_FILE, MODEL_FILE, RUN_TIME_FORMAT, RunState, read_metrics


def metrics_csv(metrics):
    """The run's history as CSV: one row per batch, with the epoch's validation scores on its last batch."""
    batches, epochs = metrics.get("batch_history", {}), metrics.get("epoch_history", {})
    validation = {
        epoch: (loss, accuracy)
        for epoch, loss, accuracy in zip(epochs.get("epoch", []), epochs.get("val_loss", []), epochs.get("val_accuracy", []), strict=False)
    }
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["epoch", "batch", "loss", "accuracy", "val_loss", "val_accuracy"])
    rows = list(zip(batches.get("epoch", []), batches.get("batch", []), batches.get("loss", []), batches.get("accuracy", []), strict=False))
    for position, (epoch, batch, loss, accuracy) in enumerate(rows):
        last_of_epoch = position + 1 == len(rows) or rows[position + 1][0] != epoch
        val_loss, val_accuracy = validation.get(epoch, ("", "")) if last_of_epoch else ("", "")
        writer.writerow([epoch, batch, loss, accuracy, val_loss, val_accuracy])
    return output.getvalue()


@dataclass(frozen=True)
class SavedRun:
    """A run folder on disk, as listed on the Train page."""

    name: str
    path: Path
    readable: bool
    status: str = ""  # a RunState, or whatever an unknown version wrote
    config: dict = field(default_factory=dict)
    test_accuracy: float | None = None
    completed_epochs: int = 0
    wall_seconds: float | None = None
    error: str = ""
    class_test_accuracy: float | None = None  # on held-out class digits, for a run that trained on the class set

    @property
    def model_path(self):
        return self.path / MODEL_FILE

    def title(self, now=None):
        """A short human name for the pages, e.g. "Tutorial · 3 epochs · 98.9% · 14:05" (the folder
        name stays for downloads); "1 of 8 epochs" for a run that stopped early."""
        if not self.readable:
            return self.name
        epochs = self.config.get("epochs")
        done = self.completed_epochs
        parts = [str(self.config.get("preset", "run")).capitalize()]
        if done == epochs:
            parts.append(f"{done} epoch{'' if done == 1 else 's'}")
        else:
            parts.append(f"{done} of {epochs} epochs")
        if self.test_accuracy is not None:
            parts.append(f"{self.test_accuracy:.1%}")
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
        metrics = read_metrics(path)
        config = metrics["config"]
        status = metrics["status"]
        if not isinstance(config, dict) or not isinstance(status, str):
            raise ValueError("config or status has the wrong type")
        completed_epochs = int(metrics.get("completed_epochs", 0))
        test_accuracy, class_test_accuracy = metrics.get("test_accuracy"), metrics.get("class_test_accuracy")
        for name, value in (("test_accuracy", test_accuracy), ("class_test_accuracy", class_test_accuracy)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"expected {name} as a number, got {value!r}")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return SavedRun(
            name=path.name, path=path, readable=False, status=RunState.UNREADABLE,
            error=f"unreadable {METRICS_FILE}: {error}",
        )
    if status == RunState.TRAINING and path != live_run_dir:
        status = RunState.INTERRUPTED  # the server died mid-run; the last epoch's checkpoint remains
    return SavedRun(
        name=path.name,
        path=path,
        readable=True,
        status=status,
        config=config,
        test_accuracy=test_accuracy,
        completed_epochs=completed_epochs,
        wall_seconds=metrics.get("wall_seconds"),
        class_test_accuracy=class_test_accuracy,
    )


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
            # Still loading data or in its first epoch: describe it from memory.
            runs.append(
                SavedRun(name=path.name, path=path, readable=True, status=live.state, config=dataclasses.asdict(live.config))
            )
        else:
            runs.append(read_saved_run(path, live_run_dir=live_run_dir))
    return runs
