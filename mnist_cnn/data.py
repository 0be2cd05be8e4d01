"""Loading MNIST: the full data set for training, the bundled test split for everything else."""
import functools
import os
import zipfile
from pathlib import Path

import numpy as np

from mnist_cnn.paths import TEST_SET_PATH

MNIST_NPZ_ENV = "MNIST_NPZ"
MNIST_TRAINING_IMAGES = 60000
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)
EXPECTED_ARRAYS = {
    "x_train": (MNIST_TRAINING_IMAGES, 28, 28),
    "y_train": (MNIST_TRAINING_IMAGES,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}
HOW_TO_FIX = (
    "To fix it, either connect to the internet so Keras can download MNIST, or point the "
    f"{MNIST_NPZ_ENV} environment variable at a local mnist.npz in Keras's layout "
    "(x_train, y_train, x_test, y_test as uint8 arrays), e.g. "
    f"`export {MNIST_NPZ_ENV}=/path/to/mnist.npz`."
)


class MnistUnavailableError(RuntimeError):
    """MNIST could not be loaded; the message says what was tried and how to fix it."""


def as_digit(value, what, error=ValueError):
    """``value`` as an int digit 0-9; else ``error`` saying what ``what`` (e.g. "label") must be."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < NUM_CLASSES:
        raise error(f"The {what} must be a digit from 0 to 9, got {value!r}.")
    return int(value)


def as_uint8_image(image, error=ValueError):
    """A 28x28 uint8 image (0-255) from uint8 or float [0, 1] pixels; else ``error``."""
    image = np.asarray(image)
    if image.shape != IMAGE_SHAPE:
        raise error(f"Expected a 28 x 28 image, got shape {image.shape}.")
    if image.dtype == np.uint8:
        return image
    if not np.issubdtype(image.dtype, np.floating):
        raise error(f"Expected uint8 or float pixels, got dtype {image.dtype}.")
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise error("Expected float pixels from 0 to 1.")
    return np.round(image * 255).astype(np.uint8)


def load_mnist(path=None):
    """Return ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays in Keras's layout.

    Sources, in order: ``path``, then the ``MNIST_NPZ`` environment variable, then Keras's
    own download (cached in ``~/.keras/datasets``).
    """
    if path is None:
        path = os.environ.get(MNIST_NPZ_ENV) or None
    if path is not None:
        arrays = read_npz(path, EXPECTED_ARRAYS)
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    return _download_with_keras()


def read_npz(path, expected_shapes):
    """Read uint8 arrays from an ``.npz`` file, checking names, shapes and label range."""
    path = Path(path)
    source = f"the file {path}"
    if not path.is_file():
        raise MnistUnavailableError(f"Tried to read MNIST from {source}, but it does not exist. {HOW_TO_FIX}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = sorted(set(expected_shapes) - set(npz.files))
            if missing:
                raise MnistUnavailableError(
                    f"Tried to read MNIST from {source}: expected arrays {sorted(expected_shapes)}, "
                    f"got {sorted(npz.files)} (missing {missing}). {HOW_TO_FIX}"
                )
            arrays = {name: npz[name] for name in expected_shapes}
    except MnistUnavailableError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise MnistUnavailableError(
            f"Tried to read MNIST from {source}, but it is not a readable .npz file "
            f"(truncated or corrupt?): {error}. {HOW_TO_FIX}"
        ) from error
    for name, shape in expected_shapes.items():
        array = arrays[name]
        if array.shape != shape or array.dtype != np.uint8:
            raise MnistUnavailableError(
                f"Tried to read MNIST from {source}: expected {name} as uint8 with shape {shape}, "
                f"got {array.dtype} with shape {array.shape}. {HOW_TO_FIX}"
            )
        if name.startswith("y") and array.max(initial=0) > 9:
            raise MnistUnavailableError(
                f"Tried to read MNIST from {source}: expected labels 0-9 in {name}, "
                f"got a maximum of {array.max()}. {HOW_TO_FIX}"
            )
    return arrays


def _download_with_keras():
    import keras  # imports TensorFlow: only when MNIST must be downloaded

    try:
        return keras.datasets.mnist.load_data()
    except Exception as error:  # Keras raises whatever urllib or its hash check raises
        raise MnistUnavailableError(
            f"{MNIST_NPZ_ENV} is not set, so Keras tried to download MNIST "
            f"(or read its cache in ~/.keras/datasets), and that failed: {error}. {HOW_TO_FIX}"
        ) from error


# Size of the mnist.npz that Keras downloads, to report how far a download has got.
KERAS_MNIST_BYTES = 11_490_434


def _keras_mnist_cache():
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    return keras_home / "datasets" / "mnist.npz"


def mnist_is_available_offline():
    """True when training data can be had without a download (env var or Keras cache)."""
    return bool(os.environ.get(MNIST_NPZ_ENV)) or _keras_mnist_cache().is_file()


def download_progress():
    """How much of Keras's MNIST download is on disk, from 0 to 1; None when no download is used.

    Keras writes the download straight into its cache file, so its size tells the progress.
    """
    if os.environ.get(MNIST_NPZ_ENV):
        return None
    try:
        return min(1.0, _keras_mnist_cache().stat().st_size / KERAS_MNIST_BYTES)
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def load_test_set():
    """The MNIST test split bundled in ``assets/``: ``(x_test, y_test)``, no download needed."""
    arrays = read_npz(TEST_SET_PATH, {"x_test": (10000, 28, 28), "y_test": (10000,)})
    for array in arrays.values():
        array.flags.writeable = False  # shared by every caller of this cache
    return arrays["x_test"], arrays["y_test"]
