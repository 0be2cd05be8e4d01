import numpy as np
import pytest

from classroom.run_manager import RunManager
from mnist_cnn.data import load_test_set
from mnist_cnn.model import build_model
from mnist_cnn.predict import Predictor
from mnist_cnn.prediction_wall import (
    CLASS_SAMPLE_SIZE,
    WALL_INDICES,
    PredictionWall,
    choose_wall_indices,
    class_sample_indices,
)
from mnist_cnn.training import BatchEvent, EpochEvent, TrainingConfig


def batch_event(batch, batches=100, epoch=1):
    return BatchEvent(epoch=epoch, epochs=2, batch=batch, batches=batches, loss=1.0, accuracy=0.5,
                      samples_per_second=1000.0, elapsed_seconds=1.0)


def epoch_event(epoch=1):
    return EpochEvent(epoch=epoch, epochs=2, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.5, seconds=1.0,
                      samples_per_second=1000.0, elapsed_seconds=1.0)


def test_the_wall_digits_follow_the_documented_rule(predictor):
    images, labels = load_test_set()
    probabilities = predictor.probabilities(images)
    true_class = probabilities[np.arange(len(labels)), labels]
    assert choose_wall_indices(labels, true_class) == WALL_INDICES
    assert len(WALL_INDICES) == 24 and len(set(WALL_INDICES)) == 24
    wall_labels = labels[list(WALL_INDICES)]
    assert set(wall_labels.tolist()) == set(range(10)) and list(wall_labels) == sorted(wall_labels)
    hard = [index for index in WALL_INDICES if probabilities[index].argmax() != labels[index]]
    assert len(hard) >= 3  # a mix: some digits even the trained network reads wrong


def test_class_sample_is_balanced_and_fixed():
    _, labels = load_test_set()
    sample = class_sample_indices(labels)
    assert np.bincount(labels[sample], minlength=10).tolist() == [CLASS_SAMPLE_SIZE] * 10
    assert np.array_equal(sample, class_sample_indices(labels))


@pytest.fixture(scope="module")
def untrained_model():
    import keras

    keras.utils.set_random_seed(0)
    return build_model("tutorial")


def test_wall_shows_the_models_guesses_at_most_every_refresh_and_class_accuracy_after_each_epoch(untrained_model):
    images, labels = load_test_set()
    clock = [0.0]
    wall = PredictionWall(images, labels, refresh_seconds=1.0, clock=lambda: clock[0])
    assert all(digit.guess is None for digit in wall.state.digits)

    state = wall.watch(untrained_model, batch_event(3))
    probabilities = Predictor(untrained_model).probabilities(images[list(WALL_INDICES)])
    assert [digit.guess for digit in state.digits] == probabilities.argmax(axis=1).tolist()
    assert [digit.confidence for digit in state.digits] == pytest.approx(probabilities.max(axis=1).tolist(), abs=1e-6)
    assert [digit.correct for digit in state.digits] == [d.guess == d.label for d in state.digits]
    assert state.correct_count == sum(d.guess == d.label for d in state.digits)
    assert state.progress_epochs == pytest.approx(0.03) and state.class_accuracy is None

    clock[0] += 0.5
    assert wall.watch(untrained_model, batch_event(4)) is None  # too soon: training goes on untouched
    clock[0] += 0.6
    assert wall.watch(untrained_model, batch_event(5)) is not None

    after_epoch = wall.watch(untrained_model, epoch_event(1))  # always, however soon
    sample = class_sample_indices(labels)
    correct = Predictor(untrained_model).probabilities(images[sample]).argmax(axis=1) == labels[sample]
    expected = [correct[labels[sample] == digit].mean() for digit in range(10)]
    assert after_epoch.class_accuracy == pytest.approx(expected)
    assert after_epoch.class_accuracy_epoch == 1 and after_epoch.progress_epochs == 1.0
    later = wall.watch(untrained_model, batch_event(50, epoch=2))
    assert later is None or later.class_accuracy == after_epoch.class_accuracy  # kept until the next epoch


def test_a_managed_run_keeps_its_wall_in_the_snapshot(small_mnist, tmp_path):
    manager = RunManager(tmp_path, load_data=lambda: small_mnist)
    config = TrainingConfig.for_preset("tutorial", epochs=1, batch_size=100, train_size=1000, validation_split=0.2)
    manager.start(config)
    manager.wait(120)
    snapshot = manager.snapshot()
    assert snapshot.state == "finished"
    wall = snapshot.wall
    assert [digit.index for digit in wall.digits] == list(WALL_INDICES)
    assert all(digit.guess is not None and 0 < digit.confidence <= 1 for digit in wall.digits)
    assert wall.class_accuracy_epoch == 1 and len(wall.class_accuracy) == 10
    assert RunManager(tmp_path, load_data=lambda: small_mnist, prediction_wall=False).snapshot().wall is None


def test_a_broken_wall_never_stops_the_run(small_mnist, tmp_path, monkeypatch):
    def broken(self, model, event):
        raise RuntimeError("wall bug")

    monkeypatch.setattr(PredictionWall, "watch", broken)
    manager = RunManager(tmp_path, load_data=lambda: small_mnist)
    config = TrainingConfig.for_preset("tutorial", epochs=1, batch_size=100, train_size=1000, validation_split=0.2)
    manager.start(config)
    manager.wait(120)
    assert manager.snapshot().state == "finished" and manager.snapshot().wall is None
