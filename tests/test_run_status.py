"""The Train page's words about runs, from plain snapshots and saved runs (no Streamlit, no training)."""
import time
from pathlib import Path

from classroom.run_manager import TIMED_BATCHES_FOR_ESTIMATE, WARM_UP_BATCHES, RunSnapshot
from classroom.runs import SavedRun
from mnist_cnn.run_folder import RUN_TIME_FORMAT, RunState
from mnist_cnn.run_record import EpochPoint, RunRecord
from mnist_cnn.training import BatchEvent, TrainingConfig
from ui.live_run import progress_text
from ui.run_status import saved_run_rows, status_line

CONFIG = TrainingConfig(epochs=5)


def batch(epoch, number, batches=10):
    return BatchEvent(epoch=epoch, epochs=5, batch=number, batches=batches, loss=0.1, accuracy=0.9, samples_per_second=1000.0,
                      elapsed_seconds=1.0)


def finished_run(test_accuracy, class_test_accuracy=None):
    return RunRecord(status=RunState.FINISHED, test_accuracy=test_accuracy, class_test_accuracy=class_test_accuracy)


def saved_run(name, path, status, config, test_accuracy=None, completed_epochs=0):
    """A listed run whose record has ``completed_epochs`` epochs."""
    record = RunRecord(status=status, config=config, test_accuracy=test_accuracy)
    for epoch in range(1, completed_epochs + 1):
        record.epoch_history.append(EpochPoint(epoch=epoch, loss=0.1, accuracy=0.9, val_loss=0.1, val_accuracy=0.9, seconds=1.0))
    return SavedRun(name, path, status, record)


def test_every_state_has_its_sentence():
    assert status_line(RunSnapshot()).startswith("Idle: no run is training")
    assert status_line(RunSnapshot(state=RunState.LOADING, config=CONFIG)) == "Loading the training set…"
    assert status_line(RunSnapshot(state=RunState.FAILED, message="no disk")) == "Failed: no disk"
    training = RunSnapshot(state=RunState.TRAINING, config=CONFIG, last_batch=batch(3, 4))
    assert status_line(training) == "Training epoch 3 of 5"
    stopping = RunSnapshot(state=RunState.STOPPING, config=CONFIG, last_batch=batch(3, 4))
    assert status_line(stopping) == "Stopping after this batch; Training epoch 3 of 5"
    stopped = RunSnapshot(state=RunState.STOPPED, config=CONFIG, last_batch=batch(2, 4), record=finished_run(0.9712))
    assert status_line(stopped) == "Stopped at epoch 2 of 5 (batch 4 of 10), test accuracy 97.12%"
    at_epoch_end = RunSnapshot(state=RunState.STOPPED, config=CONFIG, last_batch=batch(2, 10))
    assert status_line(at_epoch_end) == "Stopped at epoch 2 of 5"
    assert status_line(RunSnapshot(state=RunState.STOPPED, config=CONFIG)) == "Stopped before training began"
    finished = RunSnapshot(state=RunState.FINISHED, config=CONFIG, record=finished_run(0.99))
    assert status_line(finished) == "Finished 5 epochs, test accuracy 99.00%"


def test_saved_run_rows_describe_each_run():
    bundled, live, broken, done = (Path(f"/runs/{name}") for name in ("bundled", "live", "broken", "done"))
    config = {"preset": "tutorial", "epochs": 3, "train_size": 5000, "optimizer": "sgd", "learning_rate": 0.01,
              "scale_pixels": False, "seed": 7}
    runs = [
        saved_run("bundled", bundled, RunState.FINISHED, {**config, "optimizer": "adam"}, 0.9925, 3),
        saved_run("live", live, RunState.TRAINING, config, completed_epochs=1),
        SavedRun("broken", broken, RunState.UNREADABLE, error="unreadable metrics.json: oops"),
        saved_run("done", done, RunState.STOPPED, config, 0.5, 2),
    ]
    rows = saved_run_rows(
        runs, live_run_dir=live, active_model_path=done / "model.keras", bundled_run_dir=bundled,
        class_model_path=live / "model.keras",
    )
    assert [row["run"] for row in rows] == ["bundled example", "Tutorial · 1 of 3 epochs", "broken", "Tutorial · 2 of 3 epochs · 50.0%"]
    assert [row["folder"] for row in rows] == ["", "live", "broken", "done"]  # the downloads' file names
    assert [row["status"] for row in rows] == ["finished", "training now", "unreadable", "stopped"]
    assert all(type(row["status"]) is str for row in rows)  # plain text for the table, not the enum
    assert [row["epochs"] for row in rows] == ["3 of 3", "1 of 3", "", "2 of 3"]
    assert [row["optimizer"] for row in rows] == ["Adam", "SGD", "", "SGD"]
    assert [row["test accuracy"] for row in rows] == ["99.25%", None, None, "50.00%"]
    assert [row["in use"] for row in rows] == ["", "", "", "✓"]
    assert [row["class model"] for row in rows] == ["", "✓", "", ""]
    assert rows[2]["note"] == "unreadable metrics.json: oops" and rows[2]["network"] == ""
    assert (rows[3]["images"], rows[3]["learning rate"], rows[3]["scaled"], rows[3]["seed"]) == (5000, 0.01, False, 7)


def timed_batch(done, seconds, batches=100, epochs=3):
    epoch, number = divmod(done - 1, batches)
    return BatchEvent(epoch=epoch + 1, epochs=epochs, batch=number + 1, batches=batches, loss=0.1, accuracy=0.9,
                      samples_per_second=1000.0, elapsed_seconds=seconds)


def test_the_time_left_is_estimated_only_from_a_steady_rate_after_a_few_batches():
    """The first batch traces and compiles the step (6 s here, then 0.2 s a batch): it said "672 s to go"."""
    first = RunSnapshot(state=RunState.TRAINING, config=CONFIG, last_batch=timed_batch(1, 6.0))
    assert first.remaining_seconds is None and "to go" not in progress_text(first)
    warm = (WARM_UP_BATCHES, 6.0 + 0.2 * (WARM_UP_BATCHES - 1))
    too_few = RunSnapshot(state=RunState.TRAINING, config=CONFIG, warmed_up_at=warm,
                          last_batch=timed_batch(WARM_UP_BATCHES + TIMED_BATCHES_FOR_ESTIMATE - 1, 7.5))
    assert too_few.remaining_seconds is None
    done = 50
    steady = RunSnapshot(state=RunState.TRAINING, config=CONFIG, warmed_up_at=warm,
                         last_batch=timed_batch(done, 6.0 + 0.2 * (done - 1)), elapsed_seconds=15.8)
    assert abs(steady.remaining_seconds - 0.2 * (300 - done)) < 1e-6  # 50 s, not 6 s x 250
    assert progress_text(steady).endswith("about 50 s to go")


def test_a_run_has_a_short_human_name_and_keeps_its_folder_name():
    config = {"preset": "tutorial", "epochs": 3}
    folder = Path("/runs/20261202-140512-tutorial-9e3e")
    finished = saved_run(folder.name, folder, RunState.FINISHED, config, 0.9891, 3)
    today, another_day = time.strptime("20261202-170000", RUN_TIME_FORMAT), time.strptime("20261203-090000", RUN_TIME_FORMAT)
    assert finished.title(now=today) == "Tutorial · 3 epochs · 98.9% · 14:05"
    assert finished.title(now=another_day) == "Tutorial · 3 epochs · 98.9% · 2 Dec 14:05"
    assert finished.title(now=time.strptime("20270105-090000", RUN_TIME_FORMAT)).endswith(" · 2 Dec 2026 14:05")
    stopped = saved_run(folder.name, folder, RunState.STOPPED, {"preset": "regularized", "epochs": 8}, 0.971, 1)
    assert stopped.title(now=today) == "Regularized · 1 of 8 epochs · 97.1% · 14:05"
    assert SavedRun("odd", Path("/runs/odd"), RunState.UNREADABLE, error="unreadable").title() == "odd"
