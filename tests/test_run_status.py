"""The Train page's words about runs, from plain snapshots and saved runs (no Streamlit, no training)."""
from pathlib import Path

from mnist_cnn.run_manager import RunSnapshot
from mnist_cnn.runs import RunState, SavedRun
from mnist_cnn.training import BatchEvent, TrainingConfig
from ui.run_status import saved_run_rows, status_line

CONFIG = TrainingConfig(epochs=5)


def batch(epoch, number, batches=10):
    return BatchEvent(epoch, 5, number, batches, loss=0.1, accuracy=0.9, samples_per_second=1000.0, elapsed_seconds=1.0)


def test_every_state_has_its_sentence():
    assert status_line(RunSnapshot()).startswith("Idle: no run is training")
    assert status_line(RunSnapshot(state=RunState.LOADING, config=CONFIG)) == "Loading the training set…"
    assert status_line(RunSnapshot(state=RunState.FAILED, message="no disk")) == "Failed: no disk"
    training = RunSnapshot(state=RunState.TRAINING, config=CONFIG, last_batch=batch(3, 4))
    assert status_line(training) == "Training epoch 3 of 5"
    stopping = RunSnapshot(state=RunState.STOPPING, config=CONFIG, last_batch=batch(3, 4))
    assert status_line(stopping) == "Stopping after this batch; Training epoch 3 of 5"
    stopped = RunSnapshot(state=RunState.STOPPED, config=CONFIG, last_batch=batch(2, 4), test_accuracy=0.9712)
    assert status_line(stopped) == "Stopped at epoch 2 of 5 (batch 4 of 10), test accuracy 97.12%"
    at_epoch_end = RunSnapshot(state=RunState.STOPPED, config=CONFIG, last_batch=batch(2, 10))
    assert status_line(at_epoch_end) == "Stopped at epoch 2 of 5"
    assert status_line(RunSnapshot(state=RunState.STOPPED, config=CONFIG)) == "Stopped before training began"
    finished = RunSnapshot(state=RunState.FINISHED, config=CONFIG, test_accuracy=0.99)
    assert status_line(finished) == "Finished 5 epochs, test accuracy 99.00%"


def test_saved_run_rows_describe_each_run():
    bundled, live, broken, done = (Path(f"/runs/{name}") for name in ("bundled", "live", "broken", "done"))
    config = {"preset": "tutorial", "epochs": 3, "train_size": 5000, "optimizer": "sgd", "learning_rate": 0.01,
              "scale_pixels": False, "seed": 7}
    runs = [
        SavedRun("bundled", bundled, True, RunState.FINISHED, {**config, "optimizer": "adam"}, 0.9925, 3),
        SavedRun("live", live, True, RunState.TRAINING, config, completed_epochs=1),
        SavedRun("broken", broken, False, RunState.UNREADABLE, error="unreadable metrics.json: oops"),
        SavedRun("done", done, True, RunState.STOPPED, config, 0.5, 2),
    ]
    rows = saved_run_rows(
        runs, live_run_dir=live, active_model_path=done / "model.keras", bundled_run_dir=bundled,
        class_model_path=live / "model.keras",
    )
    assert [row["run"] for row in rows] == ["bundled example", "live", "broken", "done"]
    assert [row["status"] for row in rows] == ["finished", "training now", "unreadable", "stopped"]
    assert all(type(row["status"]) is str for row in rows)  # plain text for the table, not the enum
    assert [row["epochs"] for row in rows] == ["3 of 3", "1 of 3", "", "2 of 3"]
    assert [row["optimizer"] for row in rows] == ["Adam", "SGD", "", "SGD"]
    assert [row["test accuracy"] for row in rows] == ["99.25%", None, None, "50.00%"]
    assert [row["in use"] for row in rows] == ["", "", "", "✓"]
    assert [row["class model"] for row in rows] == ["", "✓", "", ""]
    assert rows[2]["note"] == "unreadable metrics.json: oops" and rows[2]["network"] == ""
    assert (rows[3]["images"], rows[3]["learning rate"], rows[3]["scaled"], rows[3]["seed"]) == (5000, 0.01, False, 7)
