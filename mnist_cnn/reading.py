"""Putting a drawing into words honestly: a digit, "unsure", "not a digit", or nothing drawn.

A softmax always names one of ten digits, however far the drawing is from every digit: a dot reads as
a 9 at 100%. :func:`read_drawing` checks two things before it claims a digit:

- the drawing's shape on the canvas: a dot, or one straight stroke lying more than 45 degrees from
  vertical (an upright stroke is a 1), is not a digit, whatever the network says;
- how far the network's last hidden layer (the input of its final Dense layer) is from where drawn
  digits lie: a Mahalanobis distance to the nearest of the ten class means, with one covariance
  shared by the classes (Lee et al. 2018, "A simple unified framework for detecting out-of-distribution
  samples"). The means and covariance are fitted for each model, once, on 4,000 even-numbered MNIST
  test digits as the network sees them after being drawn on the canvas (``assets/reference_digits.npz``),
  and the thresholds are quantiles of the distances of 1,000 others, so they suit any model the visitor picks.
"""
import threading
import weakref
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from mnist_cnn.paths import REFERENCE_DIGITS_PATH
from mnist_cnn.predict import as_model_input
from mnist_cnn.preprocess import INK_THRESHOLD, MIN_CONTRAST, canvas_to_mnist, ink_map, stroke_width

VERDICTS = ("digit", "unsure", "not a digit", "blank")
# Below this top probability the page says "not sure" instead of claiming a digit.
CONFIDENT_PROBABILITY = 0.6
# Every fifth reference digit is held out to set the thresholds; the others are fitted on.
HELD_OUT_EVERY = 5
# A drawing farther from every digit class than this share of held-out drawn digits is "unsure" ...
UNSURE_QUANTILE = 0.99
# ... and "not a digit" when it is this many times farther than that.
NOT_A_DIGIT_FACTOR = 1.5
# Covariance eigenvalues are pulled this far towards their mean: 1,000 features from 4,000 digits.
SHRINKAGE = 0.05
# A drawing whose longest side is less than this many pen widths is a dot.
DOT_MAX_SPAN = 3.0
# One stroke is straight when no ink lies farther than this many pen widths from its axis.
STRAIGHT_MAX_OFFSET = 0.9
# Degrees from vertical: a straight stroke leaning less is a 1 (99.9% of MNIST's test 1s lean less than 45).
ONE_MAX_TILT = 45.0


@dataclass(frozen=True)
class Reading:
    digit: int
    probability: float
    runner_up: int
    runner_up_probability: float

    @property
    def confident(self):
        return self.probability >= CONFIDENT_PROBABILITY


def read_probabilities(probabilities):
    """The most and second most likely digits of one (10,) probability vector."""
    probabilities = np.asarray(probabilities, dtype=float).reshape(-1)
    if probabilities.shape != (10,):
        raise ValueError(f"Expected 10 probabilities, got {probabilities.size}.")
    second, first = np.argsort(probabilities)[-2:]
    return Reading(int(first), float(probabilities[first]), int(second), float(probabilities[second]))


@dataclass(frozen=True)
class DrawingReading:
    """What the page shows for one drawing; ``verdict`` is one of :data:`VERDICTS`."""

    verdict: str
    digit: int | None  # only for "digit"
    guess: int | None  # the most likely digit, None when blank
    probabilities: np.ndarray | None  # (10,), None when blank
    image: np.ndarray | None  # the 28x28 float [0, 1] image the network saw, None when blank
    message: str
    # Distance to the nearest digit class, in units of the "unsure" threshold (above 1: unlike drawn digits).
    distance: float | None = None
    shape: str | None = None  # "a dot" or "a line" when the shape alone says it is not a digit


def signed_sqrt(features):
    # ReLU features are skewed (many zeros, a long tail); a square root makes them closer to Gaussian.
    return tf.sign(features) * tf.sqrt(tf.abs(features))


def _classifier_layer(model):
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise ValueError(f"Expected a model ending in a Dense layer, got none in {model.name!r}.")
    return dense[-1]


class DrawingReader:
    """One model's probabilities and distance from drawn digits, fitted once on the reference digits."""

    def __init__(self, model, reference_images, reference_labels):
        classifier = _classifier_layer(model)
        extractor = keras.Model(model.inputs[0], [classifier.input, model.layers[-1].output])
        features, _ = _in_batches(lambda batch: extractor(batch, training=False), reference_images)
        # The linear algebra runs in TensorFlow: numpy's multi-threaded OpenBLAS took 20 s instead of
        # 1 s for this eigendecomposition on a busy 2-core machine.
        features = signed_sqrt(tf.constant(features, tf.float64))
        held_out_mask = np.arange(len(features)) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
        fit, held_out = tf.boolean_mask(features, ~held_out_mask), tf.boolean_mask(features, held_out_mask)
        labels = np.asarray(reference_labels, np.int64)[~held_out_mask]
        means = tf.stack([tf.reduce_mean(tf.boolean_mask(fit, labels == digit), axis=0) for digit in range(10)])
        residuals = fit - tf.gather(means, labels)
        eigenvalues, eigenvectors = tf.linalg.eigh(tf.transpose(residuals) @ residuals / len(residuals))
        eigenvalues = tf.maximum(eigenvalues, 0)
        eigenvalues = (1 - SHRINKAGE) * eigenvalues + SHRINKAGE * tf.reduce_mean(eigenvalues)
        whiten = eigenvectors / tf.sqrt(eigenvalues)
        whitened_means = means @ whiten
        held_out_distances = _nearest_squared_distances(held_out @ whiten, whitened_means).numpy()
        scale = np.quantile(held_out_distances, UNSURE_QUANTILE)
        self.held_out_distances = held_out_distances / scale  # for thresholds at other quantiles
        # Distances come out in units of the "unsure" threshold; one graph for the forward pass and the
        # distance, as numpy's threads next to TensorFlow's cost ~30 ms a drawing on a busy machine.
        whiten = tf.cast(whiten / np.sqrt(scale), tf.float32)
        whitened_means = tf.cast(whitened_means / np.sqrt(scale), tf.float32)

        def read(batch):
            hidden, probabilities = extractor(batch, training=False)
            return _nearest_squared_distances(signed_sqrt(hidden) @ whiten, whitened_means), probabilities

        self._read = tf.function(read, input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)])
        self._read.get_concrete_function()  # traced now, not on a visitor's first drawing

    def distances_and_probabilities(self, images):
        """Distances (n,) in units of the "unsure" threshold and probabilities (n, 10) of images
        accepted by :func:`~mnist_cnn.predict.as_model_input`."""
        return _in_batches(self._read, images)


def _in_batches(function, images, batch_size=500):
    batch = as_model_input(images)
    outputs = [function(batch[start : start + batch_size]) for start in range(0, len(batch), batch_size)]
    return tuple(np.concatenate([np.asarray(output[part]) for output in outputs]) for part in range(2))


def _nearest_squared_distances(whitened, whitened_means):
    squared = (
        tf.reduce_sum(whitened**2, axis=1, keepdims=True)
        - 2 * whitened @ tf.transpose(whitened_means)
        + tf.reduce_sum(whitened_means**2, axis=1)
    )
    return tf.reduce_min(squared, axis=1)


_readers = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def drawing_reader(predictor):
    """The :class:`DrawingReader` of a predictor's model, fitted on first use (about a second) and cached."""
    with _readers_lock:  # a class drawing its first digits together fits once
        reader = _readers.get(predictor.model)
        if reader is None:
            with np.load(REFERENCE_DIGITS_PATH) as reference:
                reader = DrawingReader(predictor.model, reference["images"], reference["labels"])
            _readers[predictor.model] = reader
        return reader


def drawing_shape(rgba):
    """"a dot", "a line" (one straight stroke leaning more than ONE_MAX_TILT) or None, from the canvas's ink."""
    ink = ink_map(rgba)
    if ink.max() < MIN_CONTRAST:
        return None
    mask = ink / ink.max() > INK_THRESHOLD
    rows, columns = np.nonzero(mask)
    if len(rows) < 2:
        return None
    width = stroke_width(mask)
    if max(np.ptp(rows), np.ptp(columns)) + 1 < DOT_MAX_SPAN * width:
        return "a dot"
    points = np.stack([columns, -rows], axis=1).astype(np.float64)
    points -= points.mean(axis=0)
    _, axes = np.linalg.eigh(points.T @ points)
    along, across = axes[:, 1], axes[:, 0]
    straight = np.abs(points @ across).max() <= STRAIGHT_MAX_OFFSET * width
    tilt = np.degrees(np.arctan2(abs(along[0]), abs(along[1])))
    return "a line" if straight and tilt > ONE_MAX_TILT else None


def read_drawing(rgba, predictor):
    """Read an RGBA canvas (uint8, height x width x 4) with a :class:`~mnist_cnn.predict.Predictor`.

    Raises ``TypeError``/``ValueError`` for something that is not an RGBA canvas.
    """
    image = canvas_to_mnist(rgba)
    if image is None:
        return DrawingReading("blank", None, None, None, None, "Nothing drawn yet: draw one digit, 0 to 9.")
    distances, probabilities = drawing_reader(predictor).distances_and_probabilities(image)
    return judge(image, probabilities[0], float(distances[0]), drawing_shape(rgba))


def judge(image, probabilities, distance, shape, unsure_distance=1.0):
    """The reading of a drawn ``image`` from its probabilities, its distance from drawn digits and its
    shape (see :func:`drawing_shape`); ``unsure_distance`` moves the threshold (for the benchmark's sweep)."""
    reading = read_probabilities(probabilities)
    guess = reading.digit

    def verdict(name, message, digit=None):
        return DrawingReading(name, digit, guess, probabilities, image, message, distance, shape)

    if shape:
        return verdict("not a digit", f"That looks like {shape}, not a digit. Draw one digit, 0 to 9.")
    nearest = f"{'an' if guess == 8 else 'a'} {guess}"
    if distance > NOT_A_DIGIT_FACTOR * unsure_distance:
        return verdict("not a digit", f"That does not look like a digit (the nearest is {nearest}). Draw one digit, 0 to 9.")
    if distance > unsure_distance:
        return verdict("unsure", f"Not sure that is a digit; the nearest digit is {nearest}.")
    if not reading.confident:
        return verdict(
            "unsure",
            f"Not sure: maybe {guess} ({reading.probability:.0%}), maybe {reading.runner_up} ({reading.runner_up_probability:.0%}).",
        )
    return verdict("digit", f"The network reads {guess} with probability {reading.probability:.0%}.", digit=guess)
