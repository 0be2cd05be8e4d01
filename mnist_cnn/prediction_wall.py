"""The prediction wall: fixed test digits and the live network's guess for each, while a run trains.

The digits are chosen once, by a fixed rule on the bundled test set (:func:`choose_wall_indices`):
the first two test images of every class (20 ordinary digits), plus the 4 test digits on which the
bundled model puts the least probability on the right answer (hard ones: even a trained network
struggles with them). ``WALL_INDICES`` holds the result, sorted by label; a test checks it against
the rule. After each epoch the wall also shows test accuracy per digit class, on a fixed balanced
subset of the test set (the first ``CLASS_SAMPLE_SIZE`` images of each class) that costs little
training time.

Everything runs in the training thread through :meth:`PredictionWall.watch`, so no other thread
touches the model while it trains; the result is a plain, immutable :class:`WallState`.
"""
import time
from dataclasses import dataclass

import numpy as np

from mnist_cnn.predict import Predictor
from mnist_cnn.training import EpochEvent

ORDINARY_PER_CLASS = 2
HARD_DIGITS = 4
WALL_INDICES = (3, 10, 2, 5, 1, 35, 18, 30, 4, 6, 2130, 8, 15, 2597, 11, 21, 1014, 3422, 0, 17, 61, 84, 7, 9)
CLASS_SAMPLE_SIZE = 100  # test images per digit class for the per-class accuracy
REFRESH_SECONDS = 1.5  # the wall's guesses are at most this old (plus one compiled call): under 2 s


def choose_wall_indices(labels, true_class_probabilities):
    """The wall's test indices by the documented rule, sorted by (label, index).

    ``true_class_probabilities``: the bundled model's probability of each test image's true label.
    """
    labels = np.asarray(labels)
    ordinary = [int(index) for digit in range(10) for index in np.flatnonzero(labels == digit)[:ORDINARY_PER_CLASS]]
    hard = [int(index) for index in np.argsort(true_class_probabilities, kind="stable") if index not in ordinary]
    chosen = ordinary + hard[:HARD_DIGITS]
    return tuple(sorted(chosen, key=lambda index: (int(labels[index]), index)))


def class_sample_indices(labels, per_class=CLASS_SAMPLE_SIZE):
    """The first ``per_class`` test indices of each digit class, in test-set order."""
    labels = np.asarray(labels)
    return np.sort(np.concatenate([np.flatnonzero(labels == digit)[:per_class] for digit in range(10)]))


@dataclass(frozen=True)
class WallDigit:
    index: int  # in the test set
    label: int
    guess: int | None = None  # None until the network has guessed
    confidence: float | None = None  # the network's probability of its guess

    @property
    def correct(self):
        return self.guess is not None and self.guess == self.label


@dataclass(frozen=True)
class WallState:
    """The wall at one moment of a run: plain data, shared by every viewer."""

    digits: tuple
    progress_epochs: float | None = None  # when the guesses were made, in epochs (None: not yet)
    class_accuracy: tuple | None = None  # test accuracy of digits 0-9, after the last completed epoch
    class_accuracy_epoch: int | None = None

    @property
    def correct_count(self):
        return sum(digit.correct for digit in self.digits)


def empty_wall(labels, indices=WALL_INDICES):
    """The wall's digits with no guesses yet (before a run, or while its data loads)."""
    return WallState(digits=tuple(WallDigit(index=int(i), label=int(labels[i])) for i in indices))


class PredictionWall:
    """Computes :class:`WallState` from the live model, called from the training loop.

    ``images``/``labels``: the test set (uint8). ``clock`` is for tests.
    """

    def __init__(self, images, labels, indices=WALL_INDICES, refresh_seconds=REFRESH_SECONDS,
                 per_class=CLASS_SAMPLE_SIZE, clock=time.monotonic):
        self.indices = tuple(int(i) for i in indices)
        self.wall_images = images[list(self.indices)]
        self.wall_labels = np.asarray(labels)[list(self.indices)].astype(int)
        sample = class_sample_indices(labels, per_class)
        self.sample_images, self.sample_labels = images[sample], np.asarray(labels)[sample].astype(int)
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._guessed_at = None
        self._predictor = None
        self._model = None
        self.state = empty_wall(labels, self.indices)

    def watch(self, model, event):
        """Called in the training thread with the model and the last event (a batch or an epoch).

        Returns a new :class:`WallState` when it computed one (at most every ``refresh_seconds``,
        and after every epoch with per-class accuracy), else None."""
        at_epoch_end = isinstance(event, EpochEvent)
        now = self._clock()
        if not at_epoch_end and self._guessed_at is not None and now - self._guessed_at < self.refresh_seconds:
            return None
        predictor = self._predictor_for(model)
        probabilities = predictor.probabilities(self.wall_images)
        guesses = probabilities.argmax(axis=1)
        digits = tuple(
            WallDigit(index=index, label=int(label), guess=int(guess), confidence=float(row[guess]))
            for index, label, guess, row in zip(self.indices, self.wall_labels, guesses, probabilities, strict=True)
        )
        class_accuracy, class_epoch = self.state.class_accuracy, self.state.class_accuracy_epoch
        if at_epoch_end:
            correct = predictor.probabilities(self.sample_images).argmax(axis=1) == self.sample_labels
            class_accuracy = tuple(float(correct[self.sample_labels == digit].mean()) for digit in range(10))
            class_epoch = event.epoch
            progress = float(event.epoch)
        else:
            progress = event.epochs_done
        self._guessed_at = self._clock()
        self.state = WallState(digits=digits, progress_epochs=progress, class_accuracy=class_accuracy,
                               class_accuracy_epoch=class_epoch)
        return self.state

    def _predictor_for(self, model):
        if self._model is not model:
            self._predictor, self._model = Predictor(model), model
        return self._predictor
