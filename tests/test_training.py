import dataclasses
import json
import threading

import numpy as np
import pytest

from mnist_cnn.model import load_model
from mnist_cnn.predict import Predictor
from mnist_cnn.run_record import EpochPoint, read_run_record
from mnist_cnn.training import BatchEvent, EpochEvent, TrainingConfig, split_training_data, train


def tiny_config(**overrides):
    settings = dict(epochs=2, batch_size=100, train_size=1000, validation_split=0.2, seed=3)
    settings.update(overrides)
    return TrainingConfig.for_preset("tutorial", **settings)


def test_config_starts_from_the_preset_defaults():
    config = TrainingConfig.for_preset("tutorial")
    assert (config.epochs, config.batch_size, config.optimizer, config.learning_rate) == (10, 128, "adam", 1e-3)
    assert config.fit_size + config.validation_size == 60000


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"epochs": 10_000}, "epochs: expected an integer from 1 to 30, got 10000"),
        ({"batch_size": 0}, "batch_size: expected an integer from 16 to 1024, got 0"),
        ({"learning_rate": -1.0}, "learning_rate: expected a number"),
        ({"learning_rate": float("nan")}, "learning_rate: expected a number"),
        ({"train_size": 70000}, "train_size: expected an integer from 1000 to 60000"),
        ({"epochs": 2.5}, "epochs: expected an integer"),
        ({"epochs": True}, "epochs: expected an integer"),
        ({"optimizer": "adagrad"}, "optimizer: expected one of"),
        ({"scale_pixels": "yes"}, "scale_pixels: expected True or False"),
    ],
)
def test_out_of_bounds_settings_are_rejected_with_expected_and_got(overrides, message):
    with pytest.raises(ValueError, match="Invalid training settings") as error:
        dataclasses.replace(TrainingConfig(), **overrides).validated()
    assert message in str(error.value)


def test_all_problems_are_reported_at_once():
    with pytest.raises(ValueError) as error:
        TrainingConfig(epochs=0, batch_size=0).validated()
    assert "epochs" in str(error.value) and "batch_size" in str(error.value)


def test_split_is_deterministic_disjoint_and_sized_by_the_config(small_mnist):
    (images, labels), _ = small_mnist
    config = tiny_config()
    (fit_x, fit_y), (val_x, val_y) = split_training_data(images, labels, config)
    assert (len(fit_x), len(val_x)) == (800, 200)
    again = split_training_data(images, labels, config)
    assert np.array_equal(again[0][0], fit_x) and np.array_equal(again[1][1], val_y)
    other_seed = split_training_data(images, labels, dataclasses.replace(config, seed=4))
    assert not np.array_equal(other_seed[0][0], fit_x)


def test_training_emits_batch_and_epoch_events_and_saves_a_run_folder(small_mnist, tmp_path):
    events = []
    result = train(tiny_config(), data=small_mnist, on_event=events.append, runs_root=tmp_path)

    batch_events = [event for event in events if isinstance(event, BatchEvent)]
    epoch_events = [event for event in events if isinstance(event, EpochEvent)]
    assert [(e.epoch, e.batch) for e in batch_events] == [(epoch, batch) for epoch in (1, 2) for batch in range(1, 9)]
    assert batch_events[-1].progress == pytest.approx(1.0)
    assert all(event.samples_per_second > 0 and 0 <= event.accuracy <= 1 for event in batch_events)
    assert [event.epoch for event in epoch_events] == [1, 2]
    assert epoch_events[1].loss < epoch_events[0].loss  # it learns

    metrics = json.loads((result.run_dir / "metrics.json").read_text())  # the stored format, as older versions read it
    assert metrics["status"] == "finished" and metrics["completed_epochs"] == 2
    assert metrics["config"]["seed"] == 3 and metrics["config"]["batch_size"] == 100
    assert len(metrics["batch_history"]["loss"]) == 16
    assert metrics["epoch_history"]["val_accuracy"] == [event.val_accuracy for event in epoch_events]
    assert metrics["test_size"] == 1000 and 0.5 < metrics["test_accuracy"] <= 1
    assert {"tensorflow", "keras", "numpy", "python"} <= set(metrics["versions"])
    assert metrics["wall_seconds"] > 0
    assert read_run_record(result.run_dir) == result.record
    assert list(result.record.epoch_history) == [  # the history's points are the events' points
        EpochPoint(**{name: getattr(event, name) for name in result.record.epoch_history.names}) for event in epoch_events
    ]

    saved = Predictor(load_model(result.run_dir / "model.keras"))
    test_images, test_labels = small_mnist[1]
    accuracy = (saved.probabilities(test_images).argmax(axis=1) == test_labels).mean()
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert not [p for p in result.run_dir.iterdir() if p.name.startswith(".tmp")]


def test_same_seed_gives_the_same_run(small_mnist, tmp_path):
    first = train(tiny_config(epochs=1), data=small_mnist, runs_root=tmp_path)
    second = train(tiny_config(epochs=1), data=small_mnist, runs_root=tmp_path)
    assert first.run_dir != second.run_dir
    np.testing.assert_allclose(
        first.record.batch_history.column("loss"), second.record.batch_history.column("loss"), rtol=1e-4
    )


def test_stop_request_ends_the_run_between_batches_and_keeps_the_model(small_mnist, tmp_path):
    stop = threading.Event()
    seen = []

    def stop_after_third_batch(event):
        seen.append(event)
        if isinstance(event, BatchEvent) and event.batch == 3:
            stop.set()

    config = tiny_config(epochs=3, steps_per_call=1)
    result = train(config, data=small_mnist, on_event=stop_after_third_batch, stop_requested=stop, runs_root=tmp_path)
    assert [event.batch for event in seen] == [1, 2, 3]  # nothing ran after the request
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["status"] == "stopped" and metrics["completed_epochs"] == 0
    assert "test_accuracy" in metrics
    assert load_model(result.run_dir / "model.keras").output_shape == (None, 10)


def test_a_stop_during_an_epochs_last_compiled_call_keeps_that_epochs_record(small_mnist, tmp_path):
    """The last call of epoch 1 trains batches 5-8; a stop that arrives while it runs must not drop the
    epoch its model already holds (the table's "1 of 2" and "Stopped at epoch 1" must agree)."""
    stop = threading.Event()
    seen = []

    def stop_during_the_last_call(event):
        seen.append(event)
        if isinstance(event, BatchEvent) and (event.epoch, event.batch) == (1, 5):
            stop.set()

    config = tiny_config(epochs=2, batch_size=100, train_size=1000, validation_split=0.2, steps_per_call=4)
    result = train(config, data=small_mnist, on_event=stop_during_the_last_call, stop_requested=stop, runs_root=tmp_path)
    assert [type(event).__name__ for event in seen] == ["BatchEvent"] * 8 + ["EpochEvent"]  # epoch 2 never began
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["status"] == "stopped" and metrics["completed_epochs"] == 1
    assert metrics["epoch_history"]["epoch"] == [1] and len(metrics["batch_history"]["batch"]) == 8


def test_unscaled_pixels_with_sgd_reproduce_the_tutorials_failure(small_mnist, tmp_path):
    broken = tiny_config(epochs=1, train_size=3000, optimizer="sgd", learning_rate=0.01, scale_pixels=False)
    fixed = tiny_config(epochs=1, train_size=3000, optimizer="adam", scale_pixels=True)
    broken_accuracy = train(broken, data=small_mnist, runs_root=tmp_path).record.test_accuracy
    fixed_accuracy = train(fixed, data=small_mnist, runs_root=tmp_path).record.test_accuracy
    assert broken_accuracy < 0.3 < 0.7 < fixed_accuracy


def test_unwritable_runs_folder_refuses_to_start_before_training(small_mnist, tmp_path):
    from mnist_cnn.run_folder import RunsFolderError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    events = []
    with pytest.raises(RunsFolderError, match="Cannot save runs in"):
        train(tiny_config(), data=small_mnist, on_event=events.append, runs_root=blocker / "runs")
    assert events == []


def test_full_disk_refuses_to_start(small_mnist, tmp_path, monkeypatch):
    import shutil

    from mnist_cnn.run_folder import RunsFolderError

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(RunsFolderError, match="expected at least 64 MB free, got 1 MB"):
        train(tiny_config(), data=small_mnist, runs_root=tmp_path)


def test_a_finished_run_leaves_its_training_images_to_the_garbage_collector(small_mnist, tmp_path, monkeypatch):
    """A server trains run after run: each run's images (47 MB for the full set) must go when it ends."""
    import gc
    import weakref

    import tensorflow as tf

    config = tiny_config(epochs=1)
    made, original_constant = [], tf.constant

    def constant(value, *args, **kwargs):  # note every tensor made from the training images
        tensor = original_constant(value, *args, **kwargs)
        if getattr(value, "shape", None) == (config.fit_size, 28, 28):
            made.append(weakref.ref(tensor))
        return tensor

    monkeypatch.setattr(tf, "constant", constant)
    train(config, data=small_mnist, run_dir=tmp_path)
    monkeypatch.undo()
    gc.collect()
    assert made, "the training loop no longer makes a tensor of its images: update this test"
    assert all(ref() is None for ref in made)
