import zipfile

import numpy as np
import pytest

from mnist_cnn import data
from mnist_cnn.data import MnistUnavailableError, load_mnist, load_test_set, read_npz


def write_fake_mnist(path, **replacements):
    arrays = {name: np.zeros(shape, np.uint8) for name, shape in data.EXPECTED_ARRAYS.items()}
    arrays["y_train"][:] = np.arange(60000) % 10
    arrays.update(replacements)
    np.savez(path, **arrays)
    return path


def test_explicit_path_is_read(tmp_path):
    path = write_fake_mnist(tmp_path / "mnist.npz")
    (x_train, y_train), (x_test, y_test) = load_mnist(path)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)


def test_environment_variable_is_used_when_no_path_is_given(tmp_path, monkeypatch):
    path = write_fake_mnist(tmp_path / "from-env.npz", y_test=np.full(10000, 7, np.uint8))
    monkeypatch.setenv("MNIST_NPZ", str(path))
    (_, _), (_, y_test) = load_mnist()
    assert set(y_test.tolist()) == {7}


def test_explicit_path_wins_over_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "does-not-exist.npz"))
    path = write_fake_mnist(tmp_path / "explicit.npz")
    assert load_mnist(path)[0][0].shape == (60000, 28, 28)


def test_missing_file_says_what_was_tried_and_how_to_fix(tmp_path):
    with pytest.raises(MnistUnavailableError, match="does not exist") as error:
        load_mnist(tmp_path / "nope.npz")
    assert "nope.npz" in str(error.value) and "MNIST_NPZ" in str(error.value)


def test_truncated_file_gives_a_clear_error(tmp_path):
    path = write_fake_mnist(tmp_path / "full.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(MnistUnavailableError, match="truncated or corrupt"):
        load_mnist(truncated)


def test_file_that_is_not_a_zip_gives_a_clear_error(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello")
    with pytest.raises(MnistUnavailableError, match="not a readable .npz"):
        load_mnist(path)


def test_missing_arrays_are_named(tmp_path):
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=np.zeros((60000, 28, 28), np.uint8))
    with pytest.raises(MnistUnavailableError, match=r"missing \['x_test', 'y_test', 'y_train'\]"):
        load_mnist(path)


def test_wrong_shape_or_dtype_is_reported_with_expected_and_got(tmp_path):
    path = write_fake_mnist(tmp_path / "floats.npz", x_test=np.zeros((10000, 28, 28), np.float32))
    with pytest.raises(MnistUnavailableError, match=r"expected x_test as uint8 with shape \(10000, 28, 28\), got float32"):
        load_mnist(path)


def test_labels_out_of_range_are_rejected(tmp_path):
    path = write_fake_mnist(tmp_path / "labels.npz", y_test=np.full(10000, 42, np.uint8))
    with pytest.raises(MnistUnavailableError, match="labels 0-9"):
        load_mnist(path)


def test_pickled_objects_are_never_loaded(tmp_path):
    path = tmp_path / "pickled.npz"
    arrays = {name: np.zeros(shape, np.uint8) for name, shape in data.EXPECTED_ARRAYS.items()}
    arrays["x_test"] = np.array([{"evil": 1}] * 10000, dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(MnistUnavailableError):
        load_mnist(path)


def test_no_network_gives_one_clear_error(monkeypatch):
    import keras

    monkeypatch.delenv("MNIST_NPZ", raising=False)

    def offline():
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(MnistUnavailableError, match="tried to download") as error:
        load_mnist()
    assert "MNIST_NPZ" in str(error.value) and "name resolution" in str(error.value)


def test_bundled_test_set_is_the_official_split(mnist_npz_path):
    x_test, y_test = load_test_set()
    with np.load(mnist_npz_path) as official:
        assert np.array_equal(x_test, official["x_test"])
        assert np.array_equal(y_test, official["y_test"])


def test_bundled_test_set_needs_no_download_and_is_read_only():
    x_test, y_test = load_test_set()
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert np.bincount(y_test).min() > 800  # every digit is present
    with pytest.raises(ValueError):
        x_test[0, 0, 0] = 1


def test_read_npz_accepts_a_real_zip_with_extra_arrays(tmp_path):
    path = tmp_path / "extra.npz"
    np.savez(path, x_test=np.zeros((2, 28, 28), np.uint8), other=np.ones(3))
    assert zipfile.is_zipfile(path)
    assert read_npz(path, {"x_test": (2, 28, 28)})["x_test"].shape == (2, 28, 28)


def test_download_progress_follows_the_keras_cache_file(tmp_path, monkeypatch):
    from mnist_cnn.data import KERAS_MNIST_BYTES, download_progress

    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert download_progress() is None  # nothing started
    cache = tmp_path / "datasets" / "mnist.npz"
    cache.parent.mkdir()
    cache.write_bytes(b"\0" * (KERAS_MNIST_BYTES // 4))
    assert download_progress() == pytest.approx(0.25, abs=1e-6)
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "local.npz"))
    assert download_progress() is None  # a local file is read, nothing is downloaded
