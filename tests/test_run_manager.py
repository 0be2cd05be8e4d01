import json
import threading
import time

import pytest

from classroom.run_manager import WARM_UP_BATCHES, RunAlreadyActiveError, RunManager, get_run_manager
from classroom.runs import list_saved_runs
from mnist_cnn.run_folder import METRICS_FILE, MODEL_FILE, RunState
from mnist_cnn.run_record import read_run_record
from mnist_cnn.training import TrainingConfig
from mnist_cnn.training_figures import record_figure, snapshot_figure
from support.waiting import wait_until
from ui.run_status import status_line


def tiny_config(**overrides):
    settings = dict(epochs=2, batch_size=100, train_size=1000, validation_split=0.2)
    settings.update(overrides)
    return TrainingConfig.for_preset("tutorial", **settings)


class GatedData:
    """A data loader that holds the run in 'loading' until released, to test concurrency deterministically."""

    def __init__(self, data):
        self.data, self.release = data, threading.Event()

    def __call__(self):
        assert self.release.wait(60)
        return self.data


def test_a_run_trains_in_the_background_and_is_saved(small_mnist, tmp_path):
    manager = RunManager(tmp_path, load_data=lambda: small_mnist)
    assert manager.snapshot().state == RunState.IDLE
    run_dir = manager.start(tiny_config())
    manager.wait(120)
    snapshot = manager.snapshot()
    assert snapshot.state == RunState.FINISHED and snapshot.run_dir == run_dir
    assert snapshot.batch_count == 16 and snapshot.completed_epochs == 2
    assert snapshot.warmed_up_at[0] == WARM_UP_BATCHES and snapshot.remaining_seconds == 0  # timed after the warm-up
    assert snapshot.record == read_run_record(run_dir)  # the live record is the one saved
    live, saved_figure = snapshot_figure(snapshot), record_figure(read_run_record(run_dir))
    assert [trace.to_plotly_json() for trace in live.data] == [trace.to_plotly_json() for trace in saved_figure.data]
    assert status_line(snapshot) == f"Finished 2 epochs, test accuracy {snapshot.record.test_accuracy:.2%}"
    [saved] = list_saved_runs(tmp_path, manager.snapshot())
    assert saved.path == run_dir and saved.status == RunState.FINISHED and saved.has_model


def test_only_one_run_at_a_time(small_mnist, tmp_path):
    data = GatedData(small_mnist)
    manager = RunManager(tmp_path, load_data=data)
    manager.start(tiny_config())
    with pytest.raises(RunAlreadyActiveError, match="already training"):
        manager.start(tiny_config())
    [listed] = list_saved_runs(tmp_path, manager.snapshot())  # before its first checkpoint, the live run is listed as such
    assert listed.readable and listed.status == RunState.LOADING and listed.record.config["epochs"] == 2
    data.release.set()
    manager.wait(120)
    manager.start(tiny_config(epochs=1))  # free again once it ended
    manager.wait(120)
    assert len(list_saved_runs(tmp_path, manager.snapshot())) == 2


def test_spectators_see_the_same_live_run(small_mnist, tmp_path):
    manager = RunManager(tmp_path, load_data=lambda: small_mnist)
    seen_versions = []
    manager.start(tiny_config(epochs=3))
    while manager.snapshot().active:
        seen_versions.append(manager.snapshot().version)
        time.sleep(0.05)
    assert len(set(seen_versions)) > 2  # the view moved while the run trained
    a, b = manager.snapshot(), manager.snapshot()
    assert a == b and a.record is b.record and a.batch_count == b.batch_count
    with pytest.raises(AttributeError):
        a.state = RunState.IDLE  # snapshots are immutable


def test_stop_takes_effect_within_a_batch(small_mnist, tmp_path):
    manager = RunManager(tmp_path, load_data=lambda: small_mnist)
    run_dir = manager.start(tiny_config(epochs=30, train_size=3000))
    wait_until(lambda: manager.snapshot().batch_count >= 3)
    batches_at_stop = manager.snapshot().batch_count
    assert manager.stop()
    manager.wait(60)
    snapshot = manager.snapshot()
    assert snapshot.state == RunState.STOPPED
    assert status_line(snapshot).startswith(f"Stopped at epoch {snapshot.last_batch.epoch} of 30")
    assert snapshot.batch_count - batches_at_stop <= 1
    assert not manager.stop()  # nothing left to stop
    assert read_run_record(run_dir).status == RunState.STOPPED and (run_dir / MODEL_FILE).is_file()


def test_a_stop_while_the_data_loads_leaves_no_empty_run_folder(small_mnist, tmp_path):
    data = GatedData(small_mnist)
    manager = RunManager(tmp_path, load_data=data)
    run_dir = manager.start(tiny_config())
    assert run_dir.is_dir() and manager.snapshot().state == RunState.LOADING
    assert manager.stop()
    data.release.set()
    manager.wait(60)
    snapshot = manager.snapshot()
    assert snapshot.state == RunState.STOPPED and status_line(snapshot) == "Stopped before training began"
    assert not run_dir.exists() and not [path for path in tmp_path.iterdir() if path.is_dir()]
    assert list_saved_runs(tmp_path, snapshot) == []


def test_run_survives_the_session_that_started_it(small_mnist, tmp_path):
    """The page script that started the run may end at once: the run is the manager's, not the page's."""
    manager = get_run_manager(tmp_path, load_data=lambda: small_mnist)
    starter = threading.Thread(target=lambda: manager.start(tiny_config(epochs=1)))
    starter.start()
    starter.join()
    assert get_run_manager(tmp_path) is manager  # every session gets the same manager
    manager.wait(120)
    assert manager.snapshot().state == RunState.FINISHED


def test_failed_data_loading_is_a_clear_message_not_a_crash(tmp_path):
    from mnist_cnn.data import MnistUnavailableError

    def offline():
        raise MnistUnavailableError("no network; set MNIST_NPZ")

    manager = RunManager(tmp_path, load_data=offline)
    manager.start(tiny_config())
    manager.wait(30)
    snapshot = manager.snapshot()
    assert snapshot.state == RunState.FAILED and "MNIST_NPZ" in snapshot.message
    assert status_line(snapshot).startswith("Failed: no network")


def test_bad_settings_are_rejected_before_anything_starts(tmp_path):
    manager = RunManager(tmp_path, load_data=lambda: pytest.fail("must not load data"))
    bad = TrainingConfig(epochs=10_000, batch_size=0)
    with pytest.raises(ValueError, match="epochs: expected an integer from 1 to 30, got 10000"):
        manager.start(bad)
    assert manager.snapshot().state == RunState.IDLE and not list(tmp_path.iterdir())


def test_corrupt_and_interrupted_runs_are_listed_without_breaking_the_rest(small_mnist, tmp_path):
    manager = RunManager(tmp_path, load_data=lambda: small_mnist)
    good = manager.start(tiny_config(epochs=1))
    manager.wait(120)
    (tmp_path / "20200101-000000-tutorial-dead").mkdir()
    (tmp_path / "20200101-000000-tutorial-dead" / METRICS_FILE).write_text('{"status": "trai')  # half written
    interrupted = tmp_path / "20200102-000000-tutorial-kill"
    interrupted.mkdir()
    metrics = json.loads((good / METRICS_FILE).read_text())
    metrics.update(status=RunState.TRAINING, completed_epochs=1)
    (interrupted / METRICS_FILE).write_text(json.dumps(metrics))

    runs = {run.name: run for run in list_saved_runs(tmp_path, manager.snapshot())}
    assert runs[good.name].status == RunState.FINISHED
    assert not runs["20200101-000000-tutorial-dead"].readable
    assert "unreadable metrics.json" in runs["20200101-000000-tutorial-dead"].error
    assert runs["20200102-000000-tutorial-kill"].status == RunState.INTERRUPTED
