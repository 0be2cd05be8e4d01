"""The Train page's words about runs: the live run's status line and the saved-runs table (no Streamlit)."""
import hashlib

from mnist_cnn.model import OPTIMIZER_TITLES
from mnist_cnn.paths import BUNDLED_RUN_DIR
from mnist_cnn.roofline import preset_training_flops, training_rate
from mnist_cnn.run_folder import RunState


def status_line(snapshot):
    """The run's state in one sentence, for the page's status line."""
    if snapshot.state == RunState.IDLE:
        return "Idle: no run is training. Choose settings and start one."
    if snapshot.state == RunState.LOADING:
        return "Loading the training set…"
    if snapshot.state == RunState.FAILED:
        return f"Failed: {snapshot.message}"
    epochs = snapshot.config.epochs
    if snapshot.state in (RunState.TRAINING, RunState.STOPPING):
        batch = snapshot.last_batch
        epoch = batch.epoch if batch else 1
        prefix = "Stopping after this batch; " if snapshot.state == RunState.STOPPING else ""
        return f"{prefix}Training epoch {epoch} of {epochs}"
    record = snapshot.record
    accuracy = "" if record.test_accuracy is None else f", test accuracy {record.test_accuracy:.2%}"
    if record.class_test_accuracy is not None:
        accuracy += f" on MNIST, {record.class_test_accuracy:.1%} on our held-out class digits"
    if snapshot.state == RunState.STOPPED:
        batch = snapshot.last_batch
        if batch is None:
            return f"Stopped before training began{accuracy}"
        where = "" if batch.batch == batch.batches else f" (batch {batch.batch} of {batch.batches})"
        return f"Stopped at epoch {batch.epoch} of {epochs}{where}{accuracy}"
    return f"Finished {epochs} epochs{accuracy}"


# For the queue's estimate only: the tutorial network trains at about this rate on a 2-core machine (docs/benchmarks.md).
ESTIMATED_SAMPLES_PER_SECOND = 5000


def queued_line(ahead, samples_per_second=ESTIMATED_SAMPLES_PER_SECOND):
    """The status line while this room's run waits behind the runs ``ahead`` (:class:`~classroom.jobs.QueuedRun`,
    training or waiting, of any room), with an estimate of the wait."""
    if not ahead:
        return "Queued: your run starts as soon as a training worker is free."
    others = f"{len(ahead)} other run" + ("" if len(ahead) == 1 else "s")
    minutes = sum(run.epochs * run.train_samples for run in ahead) / samples_per_second / 60
    wait = "in less than a minute" if minutes < 1 else f"in about {minutes:.0f} minute{'' if round(minutes) == 1 else 's'} at most"
    return f"Queued: your run starts after {others}, {wait}."


def machine_rate_line(snapshot, sgemm_gflops):
    """How hard the computer works on the last batch, in words a teacher can say; None before a batch.

    ``sgemm_gflops``: the machine's measured matrix-product rate (None: not measured, no share)."""
    batch = snapshot.last_batch
    if batch is None or snapshot.config is None:
        return None
    flops = preset_training_flops(snapshot.config.preset)
    multiply_adds = batch.samples_per_second * flops / 2 / 1e9
    line = f"The computer is doing {multiply_adds:,.0f} billion multiply-adds a second"
    if not sgemm_gflops:
        return line + "."
    _, share = training_rate(batch.samples_per_second, flops, sgemm_gflops)
    return line + f", {share:.0%} of its measured top speed."


def saved_run_rows(runs, live_run_dir=None, active_model_path=None, bundled_run_dir=BUNDLED_RUN_DIR, class_model_path=None):
    """One table row (a dict of column: value) per :class:`~classroom.runs.SavedRun`, in order.

    ``live_run_dir`` is the folder of the run training now (shown as such), ``active_model_path``
    the visitor's active model and ``class_model_path`` the class model's (both ticked).
    """
    return [_saved_run_row(run, live_run_dir, active_model_path, bundled_run_dir, class_model_path) for run in runs]


def _saved_run_row(run, live_run_dir, active_model_path, bundled_run_dir, class_model_path):
    record, config = run.record, run.record.config
    return {
        "run": "bundled example" if run.path == bundled_run_dir else run.title(),
        "status": "training now" if live_run_dir is not None and run.path == live_run_dir else str(run.status),
        "network": config.get("preset", ""),
        "epochs": f"{record.completed_epochs} of {config.get('epochs', '?')}" if run.readable else "",
        "images": config.get("train_size"),
        "optimizer": OPTIMIZER_TITLES.get(config.get("optimizer"), ""),
        "learning rate": config.get("learning_rate"),
        "scaled": config.get("scale_pixels"),
        "seed": config.get("seed"),
        "test accuracy": None if record.test_accuracy is None else f"{record.test_accuracy:.2%}",
        "our digits": None if record.class_test_accuracy is None else f"{record.class_test_accuracy:.1%}",
        "in use": "✓" if run.model_path == active_model_path else "",
        "class model": "✓" if class_model_path is not None and run.model_path == class_model_path else "",
        "note": run.error,
        "folder": "" if run.path == bundled_run_dir else run.name,  # the downloads' file name
    }


def runs_table_key(runs):
    """The saved-runs table's widget key, new whenever the list of runs changes.

    A keyed table keeps its selection as row positions; a run inserted above would shift it to a
    neighbour. A new key starts the table afresh, with the visitor's runs selected again by id.
    """
    digest = hashlib.sha1("\n".join(str(run.path) for run in runs).encode()).hexdigest()[:12]
    return f"runs-table-{digest}"


def rows_of_runs(runs, run_ids):
    """The table positions of the runs whose ids (their folder paths, as strings) are in ``run_ids``."""
    return [position for position, run in enumerate(runs) if str(run.path) in run_ids]
