import numpy as np
import pytest

from mnist_cnn.model import ModelFileError, build_model, layer_table, load_model, save_model_atomically
from mnist_cnn.predict import Predictor, as_model_input
from mnist_cnn.presets import PRESETS, get_preset


def test_tutorial_network_matches_the_tutorial_layer_for_layer():
    rows = layer_table(build_model("tutorial"))
    assert [(row["type"], row["output shape"], row["parameters"]) for row in rows] == [
        ("Rescaling", "28 × 28 × 1", 0),  # the model takes raw 0-255 pixels
        ("Conv2D", "24 × 24 × 32", 832),
        ("MaxPooling2D", "12 × 12 × 32", 0),
        ("Conv2D", "8 × 8 × 64", 51264),
        ("MaxPooling2D", "4 × 4 × 64", 0),
        ("Flatten", "1024", 0),
        ("Dense", "1000", 1025000),
        ("Dense", "10", 10010),
    ]
    assert sum(row["parameters"] for row in rows) == 1_087_106


def test_build_model_is_compiled_with_the_requested_optimizer():
    model = build_model("tutorial", optimizer="sgd", learning_rate=0.01)
    assert type(model.optimizer).__name__ == "SGD"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert type(build_model().optimizer).__name__ == "Adam"


def test_every_preset_builds_a_digit_classifier():
    for name in PRESETS:
        model = build_model(name)
        assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
        assert model.layers[0].name == "input_scaling" and model.layers[0].scale == pytest.approx(1 / 255)
    assert build_model("regularized").layers[1].name == "augment_rotate"  # augmentation sees scaled pixels
    assert build_model(scale_pixels=False).layers[0].scale == 1.0


def test_unknown_preset_and_optimizer_are_named_with_the_valid_choices():
    with pytest.raises(ValueError, match=r"Unknown preset 'resnet': expected one of \['class_demo', 'regularized', 'tutorial'\]"):
        get_preset("resnet")
    with pytest.raises(ValueError, match="Unknown optimizer 'adagrad'"):
        build_model("tutorial", optimizer="adagrad")


def test_saved_model_has_no_optimizer_state_and_predicts_the_same(tmp_path):
    model = build_model("tutorial")
    model.fit(np.random.rand(64, 28, 28, 1), np.eye(10)[np.arange(64) % 10], epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    save_model_atomically(model, path)
    assert path.stat().st_size < 5_000_000  # 1.09 M float32 weights, no Adam moments
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # no temp file left behind
    images = np.random.rand(5, 28, 28).astype(np.float32)
    np.testing.assert_allclose(Predictor(load_model(path)).probabilities(images), Predictor(model).probabilities(images), atol=1e-6)


def test_load_model_rejects_missing_wrong_type_corrupt_and_wrong_shape_files(tmp_path):
    with pytest.raises(ModelFileError, match="there is none"):
        load_model(tmp_path / "missing.keras")
    (tmp_path / "model.h5").write_bytes(b"x")
    with pytest.raises(ModelFileError, match="ending in .keras"):
        load_model(tmp_path / "model.h5")
    (tmp_path / "corrupt.keras").write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match="Could not read"):
        load_model(tmp_path / "corrupt.keras")
    import keras

    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    other.save(tmp_path / "other.keras")
    with pytest.raises(ModelFileError, match=r"got input \(4,\) and output \(3,\)"):
        load_model(tmp_path / "other.keras")


def test_predictor_matches_model_predict_for_every_accepted_layout():
    model = build_model("tutorial")
    images = np.random.randint(0, 256, (7, 28, 28), dtype=np.uint8)
    expected = model.predict(images[..., None].astype(np.float32), verbose=0)  # the model takes raw 0-255
    predictor = Predictor(model)
    np.testing.assert_allclose(predictor.probabilities(images), expected, atol=1e-5)
    np.testing.assert_allclose(predictor.probabilities(images[..., None] / 255.0), expected, atol=1e-5)
    np.testing.assert_allclose(predictor.probabilities(images[0]), expected[:1], atol=1e-5)
    np.testing.assert_allclose(predictor.probabilities(images, batch_size=3), expected, atol=1e-5)


def test_predictor_rejects_wrong_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"got \(28, 27\)"):
        as_model_input(np.zeros((28, 27), np.float32))
    with pytest.raises(ValueError, match="got dtype int64"):
        as_model_input(np.zeros((28, 28), np.int64))
