import numpy as np
import pytest

from mnist_cnn.display import enlarge


def test_each_pixel_becomes_a_block_of_the_same_value():
    image = np.array([[0, 255], [7, 128]], np.uint8)
    enlarged = enlarge(image, 3)
    assert enlarged.dtype == np.uint8 and enlarged.shape == (6, 6)
    for row in range(2):
        for column in range(2):
            block = enlarged[row * 3 : row * 3 + 3, column * 3 : column * 3 + 3]
            assert (block == image[row, column]).all()


def test_float_and_uint8_images_of_the_same_digit_look_the_same():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (28, 28)).astype(np.uint8)
    assert np.array_equal(enlarge(pixels / 255, 4), enlarge(pixels, 4))
    assert np.array_equal(enlarge(pixels.astype(np.float32) / 255, 4), enlarge(pixels, 4))
    assert np.array_equal(enlarge(pixels[..., None], 2), enlarge(pixels, 2))  # (28, 28, 1) as the model takes it


def test_out_of_range_values_are_clipped_not_wrapped():
    assert enlarge(np.array([[-0.5, 1.5]]), 1).tolist() == [[0, 255]]
    assert enlarge(np.array([[-3, 300]], np.int64), 1).tolist() == [[0, 255]]


@pytest.mark.parametrize("image, scale, message", [
    (np.zeros((2, 28, 28)), 2, "Expected a 2-D image"),
    (np.zeros((28, 28)), 0, "scale as a whole number"),
    (np.zeros((28, 28)), 2.5, "scale as a whole number"),
    (np.zeros((28, 28), bool), 2, "dtype bool"),
])
def test_bad_input_is_a_clear_error(image, scale, message):
    with pytest.raises(ValueError, match=message):
        enlarge(image, scale)
