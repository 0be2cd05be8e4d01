"""A training run's folder: ``model.keras`` plus ``metrics.json``, checkpointed atomically after every epoch.

``metrics.json`` holds a :class:`~mnist_cnn.run_record.RunRecord`, read and written by that module.

What the training loop writes and ``python -m mnist_cnn evaluate`` loads; the saved runs a class sees
(listed, titled, exported) are ``classroom/runs.py``.
"""
import io
import json
import os
import secrets
import shutil
import tempfile
import time
import zipfile
from enum import StrEnum
from pathlib import Path

METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
RUN_TIME_FORMAT = "%Y%m%d-%H%M%S"  # a run folder's name starts with its start time
# Room a run needs: its checkpoint and the temp copy made while replacing it, its metrics, slack.
SPACE_NEEDED_PER_RUN = 64 * 1024 * 1024


class RunState(StrEnum):
    """Where a run is in its life; the lowercase values are what ``metrics.json`` stores as ``status``."""

    IDLE = "idle"  # no run yet on this server
    LOADING = "loading"
    TRAINING = "training"
    STOPPING = "stopping"
    FINISHED = "finished"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"  # saved as training, but the server that trained it is gone
    FAILED = "failed"
    UNREADABLE = "unreadable"  # a run folder whose metrics.json cannot be read


ACTIVE_STATES = frozenset({RunState.LOADING, RunState.TRAINING, RunState.STOPPING})


class RunsFolderError(OSError):
    """The runs folder cannot hold a new run (not writable, or the disk is too full)."""


def check_runs_folder(root, space_needed=SPACE_NEEDED_PER_RUN):
    """Raise :class:`RunsFolderError` unless a run can be saved under ``root``.

    Checked before training starts, so that a run is refused rather than lost at the end.
    """
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root) as probe:
            probe.write(b"probe")
    except OSError as error:
        raise RunsFolderError(
            f"Cannot save runs in {root}: {error.strerror or error}. Make the folder writable, "
            "or choose another one with the MNIST_CNN_RUNS environment variable."
        ) from error
    free = shutil.disk_usage(root).free
    if free < space_needed:
        raise RunsFolderError(
            f"Cannot save runs in {root}: expected at least {space_needed / 2**20:.0f} MB free, "
            f"got {free / 2**20:.0f} MB. Free some disk space or delete old runs."
        )


def write_json_atomically(data, path):
    """Write JSON through a temp file in the same folder and a rename, so readers never see half a file."""
    write_bytes_atomically(json.dumps(data, indent=1).encode(), path)


def write_bytes_atomically(data, path):
    """Write ``data`` through a temp file in the same folder and a rename, so readers never see half a file."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def new_run_dir(root, preset):
    """Create and return a fresh, uniquely named run folder under ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime(RUN_TIME_FORMAT)}-{preset}-{secrets.token_hex(2)}"
    run_dir = root / name
    run_dir.mkdir()
    return run_dir


def find_model_file(run_or_model):
    """A run folder or a ``.keras`` path, as the path of the model file."""
    path = Path(run_or_model)
    return path / MODEL_FILE if path.is_dir() else path


def run_zip_bytes(run_dir):
    """The run folder as a zip (``<run name>/model.keras`` and ``<run name>/metrics.json``), for a download."""
    run_dir = Path(run_dir)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # model.keras is a zip already: stored as it is (deflating it again took 0.14 s a page run for 7%).
        for name, compression in ((MODEL_FILE, zipfile.ZIP_STORED), (METRICS_FILE, zipfile.ZIP_DEFLATED)):
            if (run_dir / name).is_file():
                archive.write(run_dir / name, f"{run_dir.name}/{name}", compress_type=compression)
    return buffer.getvalue()


def unzip_run(zip_path, into):
    """Unpack a run's zip (from :func:`run_zip_bytes`) under the folder ``into``; returns the run folder.

    Raises ValueError for a zip that holds no run: anything but one folder with a ``model.keras``.
    """
    try:
        with zipfile.ZipFile(zip_path) as archive:
            names = archive.namelist()
            folders = {name.split("/")[0] for name in names}
            run_name = next(iter(folders)) if len(folders) == 1 else ""
            if run_name in ("", ".", "..") or "\\" in run_name or f"{run_name}/{MODEL_FILE}" not in names:
                raise ValueError(f"{zip_path} is not a run's zip: expected one folder with {MODEL_FILE} (and {METRICS_FILE})")
            for name in (MODEL_FILE, METRICS_FILE):
                if f"{run_name}/{name}" in names:  # only these two files, by name: nothing else is written
                    (Path(into) / run_name).mkdir(parents=True, exist_ok=True)
                    (Path(into) / run_name / name).write_bytes(archive.read(f"{run_name}/{name}"))
    except zipfile.BadZipFile as error:
        raise ValueError(f"{zip_path} is not a zip file: {error}") from error
    return Path(into) / run_name
