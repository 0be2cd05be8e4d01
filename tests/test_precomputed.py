"""The figures shipped in assets/ for the first screen agree with the model and network they come from."""
import json
import shutil

import numpy as np
import pytest

from mnist_cnn.cli import main
from mnist_cnn.data import load_test_set
from mnist_cnn.model import layer_table
from mnist_cnn.paths import BUNDLED_MODEL_PATH, TEST_SET_PATH
from mnist_cnn.precomputed import (
    TEST_PROBABILITIES_PATH,
    TUTORIAL_LAYERS_PATH,
    file_sha256,
    shipped_test_probabilities,
    tutorial_layer_rows,
)
from mnist_cnn.presets import tutorial_network

FLOAT16_STEP_AT_ONE = 2.0**-11  # rounding to float16 moves a probability in [0.5, 1) by at most half this


@pytest.fixture(scope="module")
def scored_now(predictor):
    images, _ = load_test_set()
    return predictor.probabilities(images)


def test_shipped_probabilities_are_the_bundled_models(scored_now):
    with np.load(TEST_PROBABILITIES_PATH) as shipped:
        assert str(shipped["model_sha256"]) == file_sha256(BUNDLED_MODEL_PATH)
        assert str(shipped["test_set_sha256"]) == file_sha256(TEST_SET_PATH)
        assert shipped["probabilities"].dtype == np.float16
    probabilities = shipped_test_probabilities()
    assert probabilities.shape == scored_now.shape == (10000, 10)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), scored_now.argmax(axis=1))
    np.testing.assert_allclose(probabilities, scored_now, rtol=0, atol=FLOAT16_STEP_AT_ONE)


def test_shipped_probabilities_are_refused_for_another_model_file(tmp_path):
    changed_model = tmp_path / "model.keras"
    shutil.copyfile(BUNDLED_MODEL_PATH, changed_model)
    assert shipped_test_probabilities(model_path=changed_model) is not None  # the same bytes: the same model
    with open(changed_model, "ab") as file:
        file.write(b"\0")
    assert shipped_test_probabilities(model_path=changed_model) is None
    assert shipped_test_probabilities(path=tmp_path / "missing.npz") is None
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    assert shipped_test_probabilities(path=tmp_path / "broken.npz") is None


def test_shipped_layer_table_is_the_tutorial_networks():
    assert list(tutorial_layer_rows()) == layer_table(tutorial_network())


def test_the_precompute_command_reproduces_the_shipped_files(tmp_path, scored_now):
    probabilities, layers = tmp_path / "probabilities.npz", tmp_path / "layers.json"
    assert main(["precompute", "--probabilities", str(probabilities), "--layers", str(layers)]) == 0
    assert json.loads(layers.read_text()) == json.loads(TUTORIAL_LAYERS_PATH.read_text())
    rewritten = shipped_test_probabilities(path=probabilities)
    np.testing.assert_array_equal(rewritten.argmax(axis=1), scored_now.argmax(axis=1))
    np.testing.assert_allclose(rewritten, shipped_test_probabilities(), rtol=0, atol=FLOAT16_STEP_AT_ONE)
