"""Putting a drawing into words honestly: a digit, "unsure", "not a digit", or nothing drawn.

A softmax always names one of ten digits, however far the drawing is from every digit: a dot reads as
a 9 at 100%. :func:`read_drawing` checks two things before it claims a digit:

- the drawing's shape on the canvas: a dot, or one straight stroke lying more than 45 degrees from
  vertical (an upright stroke is a 1), is not a digit, whatever the network says;
- how far the network's activations are from where drawn digits lie, in three places (:data:`SIGNALS`):
  the last hidden layer (the input of its final Dense layer), the statistics of every convolution
  layer's channels (mean and spread: what strokes and textures it saw), and the last convolution
  layer's channels on a 2x2 grid (where it saw them). Each is a Mahalanobis distance to the nearest
  of the ten class means, with one covariance shared by the classes (Lee et al. 2018, "A simple unified
  framework for detecting out-of-distribution samples"); the verdict uses their sum, each in units of
  its own 99% quantile. Everything is fitted for each model, once, on 4,000 even-numbered MNIST test
  digits as the network sees them after being drawn on the canvas (``assets/reference_digits.npz``),
  and the thresholds are quantiles of the distances of 1,000 others: no non-digit is ever used, so
  they suit any model the visitor picks.
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
# Each signal's distance is measured in units of this quantile of its held-out drawn digits' distances.
SIGNAL_SCALE_QUANTILE = 0.99
# A drawing farther from every digit class (all signals summed) than this share of held-out drawn
# digits is "unsure" (chosen by benchmarks/not_a_digit.py on one group of non-digit kinds) ...
UNSURE_QUANTILE = 0.985
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
    # Distance to the nearest digit class (all signals), in units of the "unsure" threshold (above 1: unlike drawn digits).
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


def channel_statistics(convolution_outputs):
    """(n, 2 * channels summed over layers): each channel's mean and standard deviation over the image."""
    parts = []
    for output in convolution_outputs:
        mean, variance = tf.nn.moments(output, axes=[1, 2])
        parts += [mean, tf.sqrt(variance)]
    return tf.concat(parts, axis=1)


def channel_layout(convolution_output):
    """(n, 4 * channels): each channel's mean in the four quarters of the image (where things were seen)."""
    height, width = convolution_output.shape[1] // 2, convolution_output.shape[2] // 2
    quarters = [convolution_output[:, rows, columns] for rows in (slice(None, height), slice(height, None))
                for columns in (slice(None, width), slice(width, None))]
    return tf.concat([tf.reduce_mean(quarter, axis=[1, 2]) for quarter in quarters], axis=1)


# What each signal measures, in the order of DrawingReader.signal_names.
SIGNALS = {
    "last hidden layer": "the input of the final Dense layer",
    "channel statistics": "each convolution channel's mean and spread",
    "channel layout": "the last convolution layer's channel means in each quarter of the image",
}


class DrawingReader:
    """One model's probabilities and distances from drawn digits, fitted once on the reference digits.

    ``signal_names`` are the :data:`SIGNALS` this model has (a model without convolutions has only the
    first); ``held_out_signal_distances`` (n, signals) are the held-out reference digits' distances, each in
    units of its SIGNAL_SCALE_QUANTILE, and ``held_out_distances`` their sums in units of the "unsure" threshold.
    """

    def __init__(self, model, reference_images, reference_labels):
        classifier = _classifier_layer(model)
        convolutions = [layer.output for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        extractor = keras.Model(model.inputs[0], [classifier.input, model.layers[-1].output, *convolutions])

        def signals_and_probabilities(batch, dtype=tf.float32):
            hidden, probabilities, *convolution_outputs = extractor(batch, training=False)
            signals = [hidden]
            if convolution_outputs:
                signals += [channel_statistics(convolution_outputs), channel_layout(convolution_outputs[-1])]
            return [signed_sqrt(tf.cast(signal, dtype)) for signal in signals], probabilities

        self.signal_names = tuple(SIGNALS)[: 3 if convolutions else 1]
        batch = as_model_input(reference_images)
        # Fitted in float64: 1,000 features' covariance from 4,000 digits.
        chunks = [signals_and_probabilities(batch[start : start + 500], tf.float64)[0] for start in range(0, len(batch), 500)]
        held_out_mask = np.arange(len(batch)) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
        labels = np.asarray(reference_labels, np.int64)[~held_out_mask]
        whitenings, held_out = [], []
        for position in range(len(self.signal_names)):
            features = tf.concat([chunk[position] for chunk in chunks], axis=0)
            fit, check = tf.boolean_mask(features, ~held_out_mask), tf.boolean_mask(features, held_out_mask)
            whiten, whitened_means = _fit_gaussian(fit, labels)
            distances = _nearest_squared_distances(check @ whiten, whitened_means).numpy()
            scale = np.quantile(distances, SIGNAL_SCALE_QUANTILE)
            held_out.append(distances / scale)
            # Distances come out in units of each signal's scale.
            whitenings.append((tf.cast(whiten / np.sqrt(scale), tf.float32), tf.cast(whitened_means / np.sqrt(scale), tf.float32)))
        self.held_out_signal_distances = np.stack(held_out, axis=1)
        summed = self.held_out_signal_distances.sum(axis=1)
        unsure = np.quantile(summed, UNSURE_QUANTILE)
        self.held_out_distances = summed / unsure  # for thresholds at other quantiles

        # One graph for the forward pass and the distances, as numpy's threads next to TensorFlow's cost
        # ~30 ms a drawing on a busy machine.
        def read(batch):
            signals, probabilities = signals_and_probabilities(batch)
            distances = tf.stack(
                [_nearest_squared_distances(signal @ whiten, means)
                 for signal, (whiten, means) in zip(signals, whitenings, strict=True)],
                axis=1,
            )
            return tf.reduce_sum(distances, axis=1) / unsure, probabilities, distances

        self._read = tf.function(read, input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)])
        self._read.get_concrete_function()  # traced now, not on a visitor's first drawing

    def distances_and_probabilities(self, images):
        """Distances (n,) in units of the "unsure" threshold and probabilities (n, 10) of images
        accepted by :func:`~mnist_cnn.predict.as_model_input`."""
        return _in_batches(self._read, images)[:2]

    def signal_distances(self, images):
        """(n, signals): each signal's distance, in units of its SIGNAL_SCALE_QUANTILE (for the benchmark)."""
        return _in_batches(self._read, images)[2]


def _fit_gaussian(features, labels):
    """A whitening matrix and the whitened class means of features (n, d) with a shared covariance.

    The linear algebra runs in TensorFlow: numpy's multi-threaded OpenBLAS took 20 s instead of 1 s for
    the eigendecomposition on a busy 2-core machine.
    """
    means = tf.stack([tf.reduce_mean(tf.boolean_mask(features, labels == digit), axis=0) for digit in range(10)])
    residuals = features - tf.gather(means, labels)
    eigenvalues, eigenvectors = tf.linalg.eigh(tf.transpose(residuals) @ residuals / len(residuals))
    eigenvalues = tf.maximum(eigenvalues, 0)
    eigenvalues = (1 - SHRINKAGE) * eigenvalues + SHRINKAGE * tf.reduce_mean(eigenvalues)
    whiten = eigenvectors / tf.sqrt(eigenvalues)
    return whiten, means @ whiten


def _in_batches(function, images, batch_size=500):
    batch = as_model_input(images)
    outputs = [function(batch[start : start + batch_size]) for start in range(0, len(batch), batch_size)]
    return tuple(np.concatenate([np.asarray(output[part]) for output in outputs]) for part in range(len(outputs[0])))


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
