import numpy as np
import pytest

from mnist_cnn.data import load_test_set
from mnist_cnn.preprocess import canvas_to_mnist, stroke_width
from support.canvas_styles import CANVAS_STYLES, place_digit, render_on_canvas


@pytest.fixture(scope="module")
def digits():
    images, labels = load_test_set()
    return images[:40], labels[:40]


def centre_of_mass(image):
    rows, columns = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (columns * image).sum() / image.sum()


def test_output_is_an_mnist_like_image(digits):
    images, _ = digits
    result = canvas_to_mnist(render_on_canvas(place_digit(images[0], 200, 30, 40), "light ink on dark"))
    assert result.shape == (28, 28) and result.dtype == np.float32
    assert result.min() >= 0 and result.max() == pytest.approx(1.0)
    rows, columns = np.nonzero(result > 0.05)
    assert max(np.ptp(rows), np.ptp(columns)) + 1 <= 21  # fits MNIST's 20-pixel box (plus anti-aliasing)
    np.testing.assert_allclose(centre_of_mass(result), (13.5, 13.5), atol=0.75)


@pytest.mark.parametrize("style", CANVAS_STYLES)
def test_every_canvas_style_gives_the_same_image(digits, style):
    images, _ = digits
    ink = place_digit(images[3], 180, 50, 60)
    reference = canvas_to_mnist(render_on_canvas(ink, "light ink on dark"))
    np.testing.assert_allclose(canvas_to_mnist(render_on_canvas(ink, style)), reference, atol=0.02)


def test_position_and_size_do_not_change_the_result(digits):
    images, _ = digits
    big_centre = canvas_to_mnist(render_on_canvas(place_digit(images[5], 240, 20, 20), "dark ink on light"))
    small_corner = canvas_to_mnist(render_on_canvas(place_digit(images[5], 60, 210, 5), "dark ink on light"))
    assert np.abs(big_centre - small_corner).mean() < 0.06
    np.testing.assert_allclose(centre_of_mass(small_corner), (13.5, 13.5), atol=0.75)


def test_pen_width_is_normalized(digits):
    images, _ = digits
    thin = canvas_to_mnist(render_on_canvas(place_digit(images[7], 200, 40, 40, pen_change=-4), "light ink on dark"))
    thick = canvas_to_mnist(render_on_canvas(place_digit(images[7], 200, 40, 40, pen_change=14), "light ink on dark"))
    assert abs(stroke_width(thin > 0.5) - stroke_width(thick > 0.5)) < 0.8


@pytest.mark.parametrize("style", CANVAS_STYLES)
def test_drawn_digits_are_read_like_the_originals(digits, predictor, style):
    images, labels = digits
    rng = np.random.default_rng(0)
    canvases = []
    for image in images:
        size = int(rng.integers(60, 250))
        top, left = (int(v) for v in rng.integers(0, 280 - size, 2))
        canvases.append(canvas_to_mnist(render_on_canvas(place_digit(image, size, top, left), style)))
    accuracy = (predictor.probabilities(np.stack(canvases)).argmax(axis=1) == labels).mean()
    assert accuracy >= 0.95


def test_naive_shrink_reads_small_off_centre_digits_badly(digits, predictor):
    """The reason for the pipeline: shrinking the whole canvas loses small digits."""
    images, labels = digits
    from PIL import Image

    naive, ours = [], []
    for image in images:
        canvas = render_on_canvas(place_digit(image, 70, 10, 190), "light ink on dark")
        naive.append(np.asarray(Image.fromarray(canvas[..., 0]).resize((28, 28), Image.Resampling.LANCZOS)) / 255.0)
        ours.append(canvas_to_mnist(canvas))
    naive_accuracy = (predictor.probabilities(np.stack(naive)).argmax(axis=1) == labels).mean()
    our_accuracy = (predictor.probabilities(np.stack(ours)).argmax(axis=1) == labels).mean()
    assert our_accuracy >= naive_accuracy + 0.3


@pytest.mark.parametrize("style", CANVAS_STYLES)
def test_blank_canvas_means_nothing_drawn(style):
    assert canvas_to_mnist(render_on_canvas(np.zeros((280, 280)), style)) is None


def test_a_speck_or_faint_noise_is_nothing_drawn():
    speck = np.zeros((280, 280))
    speck[100:102, 100:102] = 1.0
    assert canvas_to_mnist(render_on_canvas(speck, "light ink on dark")) is None
    noise = np.random.default_rng(1).uniform(0, 0.1, (280, 280))
    assert canvas_to_mnist(render_on_canvas(noise, "dark ink on light")) is None


def test_odd_canvas_sizes_work():
    ink = np.zeros((97, 413), np.float32)
    ink[20:80, 200:215] = 1.0  # a vertical bar: a "1"
    canvas = np.zeros((97, 413, 4), np.uint8)
    canvas[..., :3] = (ink * 255).astype(np.uint8)[..., None]
    canvas[..., 3] = 255
    result = canvas_to_mnist(canvas)
    assert result.shape == (28, 28)
    np.testing.assert_allclose(centre_of_mass(result), (13.5, 13.5), atol=0.75)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (np.zeros((280, 280, 3), np.uint8), ValueError, r"shape \(height, width, 4\).*got \(280, 280, 3\)"),
        (np.zeros((280, 280), np.uint8), ValueError, "got \\(280, 280\\)"),
        (np.zeros((4, 4, 4), np.uint8), ValueError, "at least 8x8"),
        (np.zeros((280, 280, 4), np.float32), ValueError, "got dtype float32"),
        ([[0, 0, 0, 0]], TypeError, "got list"),
    ],
)
def test_wrong_shapes_and_dtypes_are_rejected_clearly(bad, error, message):
    with pytest.raises(error, match=message):
        canvas_to_mnist(bad)
