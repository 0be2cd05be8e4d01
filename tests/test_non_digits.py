import numpy as np
import pytest

from mnist_cnn.data import load_test_set
from support.non_digits import CANVAS_SIZE, KIND_GROUPS, KINDS, font_files, make_non_digit


@pytest.fixture(scope="module")
def digits():
    images, labels = load_test_set()
    return images[1::2], labels[1::2]


def test_the_two_groups_split_the_kinds():
    assert set(KIND_GROUPS[0]).isdisjoint(KIND_GROUPS[1]) and set(KINDS) == set(KIND_GROUPS[0]) | set(KIND_GROUPS[1])


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_draws_ink_on_the_canvas(kind, digits):
    rng = np.random.default_rng(4)
    for _ in range(5):
        ink, digit = make_non_digit(kind, rng, digits[0], font_files(), digits[1])
        assert ink.shape == (CANVAS_SIZE, CANVAS_SIZE) and ink.dtype == np.float32
        assert ink.min() >= 0 and ink.max() <= 1 and np.count_nonzero(ink > 0.5) >= 10
        assert (digit is not None) == (kind == "digits with a stray mark")
        if digit is not None:
            assert 0 <= digit <= 9


def test_the_same_seed_draws_the_same(digits):
    first = make_non_digit("faces", np.random.default_rng(1), digits[0], [], digits[1])[0]
    np.testing.assert_array_equal(first, make_non_digit("faces", np.random.default_rng(1), digits[0], [], digits[1])[0])


def test_an_unknown_kind_is_named_in_the_error(digits):
    with pytest.raises(ValueError, match="Unknown kind 'doodle'"):
        make_non_digit("doodle", np.random.default_rng(0), digits[0], [])
