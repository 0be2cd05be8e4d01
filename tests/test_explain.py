import numpy as np
import pytest
from PIL import Image

from mnist_cnn.data import load_test_set
from mnist_cnn.explain import WHAT_IF_SLIDERS, LookAlikes, WhatIf, occlusion_saliency, steps_strip, what_if
from mnist_cnn.model import build_model, load_bundled_model
from mnist_cnn.predict import Predictor
from mnist_cnn.preprocess import canvas_to_mnist, canvas_to_mnist_steps
from support.canvas_styles import CANVAS_STYLES, place_digit, render_on_canvas

MB = 2**20


@pytest.fixture(scope="module")
def test_set():
    return load_test_set()


def centre_of_mass(image):
    rows, columns = np.indices(image.shape)
    return np.array([(rows * image).sum(), (columns * image).sum()]) / image.sum()


@pytest.mark.parametrize("style", CANVAS_STYLES)
def test_the_strips_last_image_is_what_the_network_sees(test_set, style):
    images, _ = test_set
    canvas = render_on_canvas(place_digit(images[3], 150, 100, 20), style)
    steps = canvas_to_mnist_steps(canvas)
    np.testing.assert_array_equal(steps.frame, canvas_to_mnist(canvas))
    top, bottom, left, right = steps.box
    assert left >= 20 and right <= 175 and top >= 95 and bottom <= 255  # the box is around the placed digit
    assert max(steps.digit.shape) == 20
    tiles = steps_strip(steps, size=140)
    assert len(tiles) == 4
    last_tile, _ = tiles[-1]
    np.testing.assert_array_equal(last_tile[::5, ::5], (steps.frame * 255).round().astype(np.uint8))


def test_a_blank_canvas_has_no_steps():
    assert canvas_to_mnist_steps(render_on_canvas(np.zeros((280, 280)), "light ink on dark")) is None


def test_all_sliders_at_rest_change_nothing(test_set, predictor):
    images, _ = test_set
    image = images[0] / 255.0
    np.testing.assert_array_equal(what_if(image, WhatIf()), image.astype(np.float32))
    rest = {name: slider.rest for name, slider in WHAT_IF_SLIDERS.items()}
    shifted_by_zero = what_if(image, WhatIf(**{**rest, "shift_x": 0.0, "shift_y": 0.0}))
    np.testing.assert_array_equal(predictor.probabilities(shifted_by_zero), predictor.probabilities(image))


def test_each_slider_changes_the_image_the_way_it_says(test_set):
    images, _ = test_set
    image = images[0] / 255.0
    np.testing.assert_allclose(
        centre_of_mass(what_if(image, WhatIf(shift_x=3, shift_y=-2))), centre_of_mass(image) + [-2, 3], atol=0.05
    )
    bar = np.zeros((28, 28), np.float32)
    bar[8:20, 14] = 1.0
    expected = np.asarray(Image.fromarray(bar, mode="F").rotate(30, resample=Image.Resampling.BILINEAR))
    np.testing.assert_allclose(what_if(bar, WhatIf(rotation=30)), expected, atol=1e-5)  # anticlockwise, like PIL
    ink = (image > 0.5).sum()
    assert (what_if(image, WhatIf(thickness=1)) > 0.5).sum() > 1.3 * ink
    assert (what_if(image, WhatIf(thickness=-1)) > 0.5).sum() < 0.7 * ink
    rows = np.flatnonzero((what_if(image, WhatIf(scale=0.5)) > 0.2).any(axis=1))
    original_rows = np.flatnonzero((image > 0.2).any(axis=1))
    assert 0.4 < np.ptp(rows) / np.ptp(original_rows) < 0.6
    noisy = what_if(image, WhatIf(noise=0.3))
    np.testing.assert_array_equal(noisy, what_if(image, WhatIf(noise=0.3)))  # the same pattern every time
    assert noisy.min() >= 0 and noisy.max() <= 1 and np.abs(noisy - image).mean() > 0.05


def test_a_turned_seven_becomes_something_else(test_set, predictor):
    images, labels = test_set
    assert labels[0] == 7 and predictor.probabilities(images[0])[0].argmax() == 7
    turned = what_if(images[0], WhatIf(rotation=-60))  # clockwise
    assert predictor.probabilities(turned)[0].argmax() != 7


def test_sliders_out_of_range_are_rejected_clearly():
    with pytest.raises(ValueError, match="Expected rotation between -90 and 90, got 120"):
        WhatIf(rotation=120)


def test_saliency_has_the_images_shape_and_lights_up_the_ink(test_set, predictor):
    images, labels = test_set
    for index in range(5):
        image = images[index] / 255.0
        saliency = occlusion_saliency(image, predictor)
        assert saliency.shape == (10, 28, 28) and saliency.dtype == np.float32
        answer = np.abs(saliency[labels[index]])
        ink = image > 0.5
        corners = np.zeros((28, 28), bool)
        corners[:4, :4] = corners[:4, -4:] = corners[-4:, :4] = corners[-4:, -4:] = True
        assert answer[ink].mean() > 10 * max(answer[corners].mean(), 1e-6)
        assert saliency[labels[index]][ink].mean() > 0  # covering the ink lowers the answer's probability


def test_saliency_of_a_blank_image_is_zero(predictor):
    assert not occlusion_saliency(np.zeros((28, 28), np.float32), predictor).any()


@pytest.fixture(scope="module")
def look_alikes(test_set):
    return LookAlikes(load_bundled_model(), *test_set)


def test_the_nearest_test_digit_to_a_test_digit_is_itself(look_alikes, test_set):
    images, labels = test_set
    for index in (0, 1, 2, 1234, 9999):
        nearest, similarities = look_alikes.nearest(images[index])
        assert nearest[0] == index and similarities[0] == pytest.approx(1.0, abs=2e-3)
        assert len(nearest) == 6 and np.all(np.diff(similarities) <= 0)
        assert (labels[nearest] == labels[index]).sum() >= 4  # clear test digits look like their own class
        others, other_similarities = look_alikes.nearest(images[index], exclude=index)
        assert index not in others
        np.testing.assert_array_equal(other_similarities[:5], similarities[1:])  # float16 ties may swap places


def test_test_set_features_take_under_50_mb(look_alikes):
    assert look_alikes.features.shape == (10000, 1000)
    assert look_alikes.nbytes < 50 * MB


def test_look_alikes_work_for_the_regularized_network(test_set):
    images, labels = test_set
    look_alikes = LookAlikes(build_model("regularized"), images[:300], labels[:300])
    assert look_alikes.features.shape == (300, 256)
    assert look_alikes.nearest(images[7])[0][0] == 7


def test_a_saved_raw_pixel_run_can_be_explained(test_set, tmp_path):
    """A run trained on raw 0-255 pixels (the tutorial's bug) keeps a scaling layer of 1.0: the
    explanations feed it what its Predictor feeds it."""
    from mnist_cnn.model import load_model, save_model_atomically

    images, labels = test_set
    path = tmp_path / "model.keras"
    save_model_atomically(build_model("tutorial", scale_pixels=False), path)
    model = load_model(path)
    predictor = Predictor(model)
    assert occlusion_saliency(images[0], predictor).shape == (10, 28, 28)
    assert what_if(images[0], WhatIf(rotation=10)).shape == (28, 28)
    look_alikes = LookAlikes(model, images[:200], labels[:200])
    assert look_alikes.nearest(images[9])[0][0] == 9
