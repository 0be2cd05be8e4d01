import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageDraw

from mnist_cnn.data import load_test_set
from mnist_cnn.model import build_model
from mnist_cnn.paths import REFERENCE_DIGITS_PATH
from mnist_cnn.predict import Predictor
from mnist_cnn.reading import (
    HELD_OUT_EVERY,
    SIGNAL_SCALE_QUANTILE,
    SIGNALS,
    UNSURE_QUANTILE,
    VERDICTS,
    DrawingReader,
    channel_layout,
    channel_statistics,
    drawing_reader,
    drawing_shape,
    read_drawing,
    read_probabilities,
)
from support.canvas_styles import CANVAS_STYLES, place_digit, render_on_canvas
from support.reference_digits import EVALUATION_INDICES, REFERENCE_INDICES, reference_digit


@pytest.fixture(scope="module")
def digits():
    images, labels = load_test_set()
    return images[EVALUATION_INDICES], labels[EVALUATION_INDICES]  # the reading learns from the others


def strokes(*polylines, width=20, style="light ink on dark"):
    """A 280x280 canvas with pen strokes, like the Draw page's freehand tool."""
    image = Image.new("L", (280, 280), 0)
    draw = ImageDraw.Draw(image)
    for points in polylines:
        draw.line(points, fill=255, width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return render_on_canvas(np.asarray(image, np.float32) / 255.0, style)


def assert_well_formed(reading):
    assert reading.verdict in VERDICTS
    assert reading.message and reading.message.endswith(".")
    if reading.verdict == "blank":
        assert reading.digit is None and reading.guess is None and reading.probabilities is None and reading.image is None
        return
    assert reading.probabilities.shape == (10,) and reading.probabilities.sum() == pytest.approx(1, abs=1e-4)
    assert reading.image.shape == (28, 28) and reading.image.min() >= 0 and reading.image.max() <= 1
    assert reading.guess == int(np.argmax(reading.probabilities))
    assert (reading.digit is not None) == (reading.verdict == "digit")


@pytest.mark.parametrize("style", CANVAS_STYLES)
def test_blank_canvas(predictor, style):
    reading = read_drawing(render_on_canvas(np.zeros((280, 280), np.float32), style), predictor)
    assert_well_formed(reading)
    assert reading.verdict == "blank"


@pytest.mark.parametrize("width", [10, 20, 40])
def test_a_dot_is_not_a_digit(predictor, width):
    reading = read_drawing(strokes([(200, 90), (203, 92)], width=width), predictor)
    assert_well_formed(reading)
    assert reading.verdict == "not a digit" and "dot" in reading.message


@pytest.mark.parametrize("end", [(240, 140), (230, 80), (220, 230)])  # horizontal, rising, falling
def test_a_line_is_not_a_digit(predictor, end):
    reading = read_drawing(strokes([(40, 140), end]), predictor)
    assert_well_formed(reading)
    assert reading.verdict == "not a digit" and "line" in reading.message


@pytest.mark.parametrize(
    "name, polylines",
    [
        ("A", [[(60, 240), (140, 40), (220, 240)], [(95, 160), (185, 160)]]),
        ("X", [[(60, 60), (220, 220)], [(60, 220), (220, 60)]]),
        ("plus", [[(40, 140), (240, 140)], [(140, 40), (140, 240)]]),
    ],
)
def test_letters_and_symbols_are_not_claimed(predictor, name, polylines):
    reading = read_drawing(strokes(*polylines), predictor)
    assert_well_formed(reading)
    assert reading.verdict in ("not a digit", "unsure"), name


def test_a_circle_is_a_zero(predictor):
    """A drawn circle is how many people write 0: it stays a digit."""
    angles = np.linspace(0, 2 * np.pi, 40)
    reading = read_drawing(strokes(list(zip(140 + 90 * np.cos(angles), 140 + 100 * np.sin(angles), strict=True))), predictor)
    assert (reading.verdict, reading.digit) == ("digit", 0)


def test_an_upright_stroke_is_a_one(predictor):
    canvas = strokes([(150, 40), (130, 240)])
    assert drawing_shape(canvas) is None
    reading = read_drawing(canvas, predictor)
    assert_well_formed(reading)
    assert (reading.verdict, reading.digit) == ("digit", 1)


@pytest.mark.parametrize("pair", [(1, 7), (4, 2), (3, 8)])
def test_two_digits_side_by_side_are_not_one_digit(predictor, digits, pair):
    images, labels = digits
    first, second = (images[np.flatnonzero(labels == digit)[0]] for digit in pair)
    ink = np.maximum(place_digit(first, 110, 80, 20), place_digit(second, 110, 85, 145))
    reading = read_drawing(render_on_canvas(ink, "dark ink on light"), predictor)
    assert_well_formed(reading)
    assert reading.verdict in ("not a digit", "unsure")


def test_drawn_digits_are_read_as_digits(predictor, digits):
    images, labels = digits
    rng = np.random.default_rng(3)
    read_right = 0
    for index in range(30):
        size = int(rng.integers(80, 250))
        top, left = (int(v) for v in rng.integers(0, 281 - size, 2))
        canvas = render_on_canvas(place_digit(images[index], size, top, left), CANVAS_STYLES[index % 3])
        reading = read_drawing(canvas, predictor)
        assert_well_formed(reading)
        read_right += reading.verdict == "digit" and reading.digit == labels[index]
    assert read_right >= 28


def test_probabilities_are_the_predictors(predictor, digits):
    """The reading's own forward pass must scale inputs exactly as the predictor does."""
    images, _ = digits
    reading = read_drawing(render_on_canvas(place_digit(images[0], 200, 30, 30), "light ink on dark"), predictor)
    np.testing.assert_allclose(reading.probabilities, predictor.probabilities(reading.image)[0], atol=1e-5)


def test_reader_is_fitted_once_per_model(predictor):
    assert drawing_reader(predictor) is drawing_reader(Predictor(predictor.model))


def test_any_model_gets_its_own_reader():
    """Saved runs of any preset work: here an untrained regularized network, fitted on a few digits."""
    with np.load(REFERENCE_DIGITS_PATH) as reference:
        images, labels = reference["images"][:700], reference["labels"][:700]
    reader = DrawingReader(build_model("regularized"), images, labels)
    distances, probabilities = reader.distances_and_probabilities(images[HELD_OUT_EVERY - 1 :: HELD_OUT_EVERY])
    assert distances.shape == (140,) and probabilities.shape == (140, 10)
    assert np.mean(distances <= 1.0) == pytest.approx(UNSURE_QUANTILE, abs=0.01)  # the held-out quantile is the threshold


def test_each_signal_and_their_sum_are_fitted_on_held_out_digits_only(predictor):
    reader = drawing_reader(predictor)
    assert reader.signal_names == tuple(SIGNALS)
    held_out = reader.held_out_signal_distances
    assert held_out.shape == (1000, len(SIGNALS))
    # Each signal is in units of its own held-out quantile, and the verdict's threshold is the sum's.
    np.testing.assert_allclose(np.quantile(held_out, SIGNAL_SCALE_QUANTILE, axis=0), 1.0, rtol=1e-6)
    assert np.mean(reader.held_out_distances <= 1.0) == pytest.approx(UNSURE_QUANTILE, abs=0.002)


def test_the_distance_is_the_sum_of_the_signals(predictor):
    with np.load(REFERENCE_DIGITS_PATH) as reference:
        images = reference["images"][HELD_OUT_EVERY - 1 :: HELD_OUT_EVERY][:50]
    reader = drawing_reader(predictor)
    distances, _ = reader.distances_and_probabilities(images)
    signals = reader.signal_distances(images)
    assert signals.shape == (50, len(SIGNALS)) and (signals >= -1e-3).all()
    ratios = distances / signals.sum(axis=1)
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-4)  # one threshold for the sum
    # The reference digits' own sums match what the reader stored for them.
    np.testing.assert_allclose(signals.sum(axis=1) * ratios[0], reader.held_out_distances[:50], rtol=2e-3, atol=2e-3)


def smiley(centre=(140, 140), radius=100, width=14):
    """A round face with two eyes and a smile, as a visitor draws it."""
    x, y = centre
    head = [(x + radius * np.cos(a), y + radius * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 40)]
    eyes = [[(x + side * radius * 0.35, y - radius * 0.35), (x + side * radius * 0.35, y - radius * 0.25)] for side in (-1, 1)]
    smile = [(x + 0.5 * radius * np.cos(a), y + 0.2 * radius + 0.35 * radius * np.sin(a)) for a in np.linspace(0.3, np.pi - 0.3, 12)]
    return strokes(head, *eyes, smile, width=width)


@pytest.mark.parametrize("width", [10, 20])
def test_a_smiley_is_not_read_as_a_zero(predictor, width):
    """The lesson's smiley read as a confident 0: the last hidden layer alone lets it through."""
    canvas = smiley(width=width)
    reading = read_drawing(canvas, predictor)
    assert_well_formed(reading)
    assert reading.verdict in ("not a digit", "unsure")
    last_hidden_layer, *convolution_signals = drawing_reader(predictor).signal_distances(reading.image)[0]
    assert last_hidden_layer < 1 < max(convolution_signals)  # the convolution signals catch it


def test_channel_statistics_and_layout():
    maps = np.zeros((1, 5, 4, 2), np.float32)
    maps[0, :, :, 0] = 3.0  # channel 0 constant
    maps[0, :2, :2, 1] = 4.0  # channel 1 only in the top-left quarter (rows 0-1 of 5, columns 0-1 of 4)
    statistics = channel_statistics([tf.constant(maps)]).numpy()
    np.testing.assert_allclose(statistics[0, :2], [3.0, 16 / 20], rtol=1e-6)  # means
    assert statistics[0, 2] == pytest.approx(0.0, abs=1e-6) and statistics[0, 3] > 0  # spreads
    layout = channel_layout(tf.constant(maps)).numpy().reshape(4, 2)  # quarters x channels
    np.testing.assert_allclose(layout[:, 0], 3.0)
    np.testing.assert_allclose(layout[:, 1], [4.0, 0, 0, 0])


def test_a_model_without_convolutions_uses_its_last_hidden_layer_only():
    with np.load(REFERENCE_DIGITS_PATH) as reference:
        images, labels = reference["images"][:700], reference["labels"][:700]
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    reader = DrawingReader(model, images, labels)
    assert reader.signal_names == ("last hidden layer",)
    distances, probabilities = reader.distances_and_probabilities(images[:5])
    assert distances.shape == (5,) and probabilities.shape == (5, 10)


def test_reference_digits_match_the_drawing_pipeline():
    images, _ = load_test_set()
    with np.load(REFERENCE_DIGITS_PATH) as reference:
        stored, labels, indices = reference["images"], reference["labels"], reference["indices"]
    assert stored.shape == (5000, 28, 28) and stored.dtype == np.uint8
    np.testing.assert_array_equal(indices, np.arange(10000)[REFERENCE_INDICES])
    np.testing.assert_array_equal(labels, load_test_set()[1][REFERENCE_INDICES])
    for position in (0, 1, 2, 777, 4999):
        index = indices[position]
        np.testing.assert_allclose(reference_digit(images[index], index), stored[position], atol=1)


def test_bad_canvas_gives_a_clear_error(predictor):
    with pytest.raises(ValueError, match="RGBA"):
        read_drawing(np.zeros((280, 280, 3), np.uint8), predictor)


def test_read_probabilities_still_names_the_runner_up():
    reading = read_probabilities([0.05, 0.7, 0, 0, 0, 0, 0, 0.25, 0, 0])
    assert (reading.digit, reading.runner_up, reading.confident) == (1, 7, True)
