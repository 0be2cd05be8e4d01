"""What the first screen shows without TensorFlow, computed ahead of time and shipped in ``assets/``.

- The bundled model's probabilities for the 10,000 test digits, as float16, with the SHA-256 of the
  model file and of the test set they were computed from: used only while both still match.
- The tutorial network's layer table (name, type, output shape, parameters).

``python -m mnist_cnn precompute`` writes both; tests/test_precomputed.py fails when they no longer
agree with the model and the network they were derived from. Importing this module imports no Keras.
"""
import functools
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from mnist_cnn.data import read_npz
from mnist_cnn.paths import ASSETS_DIR, BUNDLED_MODEL_PATH, BUNDLED_RUN_DIR, TEST_SET_PATH

TEST_PROBABILITIES_PATH = BUNDLED_RUN_DIR / "test_probabilities.npz"
TUTORIAL_LAYERS_PATH = ASSETS_DIR / "tutorial_layers.json"


def file_sha256(path):
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shipped_test_probabilities(path=TEST_PROBABILITIES_PATH, model_path=BUNDLED_MODEL_PATH, test_set_path=TEST_SET_PATH):
    """The shipped (10000, 10) float32 probabilities of ``model_path`` on the test set, or None.

    None when the file is missing or unreadable, or was computed from another model file or test
    set (checked by SHA-256): the caller then scores the model itself.
    """
    try:
        with np.load(path, allow_pickle=False) as shipped:
            if str(shipped["model_sha256"]) != file_sha256(model_path):
                return None
            if str(shipped["test_set_sha256"]) != file_sha256(test_set_path):
                return None
            probabilities = shipped["probabilities"].astype(np.float32)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if probabilities.ndim != 2 or probabilities.shape[1] != 10:
        return None
    probabilities.flags.writeable = False  # shared by every caller of a cache
    return probabilities


def write_test_probabilities(path=TEST_PROBABILITIES_PATH, model_path=BUNDLED_MODEL_PATH, test_set_path=TEST_SET_PATH):
    """Score ``model_path`` on the test set and save the probabilities as float16 with both checksums.

    Raises ValueError if rounding to float16 would change any digit's most likely class.
    """
    from mnist_cnn.model import load_model  # imports TensorFlow
    from mnist_cnn.predict import Predictor

    images = read_npz(test_set_path, {"x_test": (10000, 28, 28)})["x_test"]
    probabilities = Predictor(load_model(model_path)).probabilities(images)
    rounded = probabilities.astype(np.float16)
    changed = np.flatnonzero(rounded.argmax(axis=1) != probabilities.argmax(axis=1))
    if len(changed):
        raise ValueError(f"float16 rounding changes the predicted digit of test digits {changed.tolist()}.")
    np.savez_compressed(
        path, probabilities=rounded, model_sha256=file_sha256(model_path), test_set_sha256=file_sha256(test_set_path)
    )
    return Path(path)


@functools.lru_cache(maxsize=1)
def tutorial_layer_rows(path=TUTORIAL_LAYERS_PATH):
    """The tutorial network's layer table, as :func:`mnist_cnn.model.layer_table` makes it (a tuple of dicts)."""
    return tuple(json.loads(Path(path).read_text()))


def write_tutorial_layers(path=TUTORIAL_LAYERS_PATH):
    from mnist_cnn.model import layer_table  # imports TensorFlow
    from mnist_cnn.presets import tutorial_network

    Path(path).write_text(json.dumps(layer_table(tutorial_network()), indent=1, ensure_ascii=False) + "\n")
    return Path(path)
