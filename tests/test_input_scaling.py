"""Every model takes raw 0-255 pixels: a raw-pixel run is scored the same wherever it is loaded."""
import json

import keras
import numpy as np
import pytest

from mnist_cnn.cli import main
from mnist_cnn.data import load_test_set
from mnist_cnn.features import FeatureMaps
from mnist_cnn.model import INPUT_SCALING_LAYER, build_model, load_model, save_model_atomically
from mnist_cnn.predict import Predictor
from mnist_cnn.presets import tutorial_network
from mnist_cnn.run_folder import METRICS_FILE, MODEL_FILE
from mnist_cnn.training import TrainingConfig, train


@pytest.fixture(scope="module")
def raw_pixel_run(tmp_path_factory):
    """A short Adam run on raw 0-255 pixels, tested on all 10,000 bundled digits."""
    images, labels = load_test_set()
    config = TrainingConfig.for_preset(
        "tutorial", optimizer="adam", scale_pixels=False, epochs=1, batch_size=100, train_size=3000, seed=1
    )
    data = ((images[:3000], labels[:3000]), (images, labels))
    return train(config, data=data, runs_root=tmp_path_factory.mktemp("runs")).run_dir


def test_raw_pixel_run_scores_the_same_through_evaluate_mistakes_and_its_metrics(raw_pixel_run, capsys):
    from ui.active_model import test_set_probabilities

    metrics = json.loads((raw_pixel_run / METRICS_FILE).read_text())
    assert metrics["config"]["scale_pixels"] is False and metrics["test_size"] == 10000

    assert main(["evaluate", str(raw_pixel_run)]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    _, labels = load_test_set()
    mistakes_accuracy = float((test_set_probabilities(raw_pixel_run / MODEL_FILE).argmax(axis=1) == labels).mean())

    print(f"raw-pixel run: metrics.json {metrics['test_accuracy']:.4f}, evaluate {evaluated['test_accuracy']:.4f}, "
          f"Mistakes page {mistakes_accuracy:.4f}")
    assert metrics["test_accuracy"] > 0.5  # Adam learns from raw pixels; scored on [0, 1] it would not
    assert evaluated["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=0.005)
    assert mistakes_accuracy == pytest.approx(metrics["test_accuracy"], abs=0.005)


def test_saved_model_keeps_its_input_scaling(tmp_path):
    model = build_model(scale_pixels=False)
    save_model_atomically(model, tmp_path / MODEL_FILE)
    saved = keras.saving.load_model(tmp_path / MODEL_FILE, compile=False)
    assert saved.layers[0].name == INPUT_SCALING_LAYER and saved.layers[0].scale == 1.0


@pytest.mark.parametrize("scale_pixels", [True, False])
def test_old_model_without_scaling_layer_is_read_on_its_runs_scale(tmp_path, scale_pixels):
    network = tutorial_network()  # as saved before the scaling layer existed
    network.save(tmp_path / MODEL_FILE)
    (tmp_path / METRICS_FILE).write_text(json.dumps({"config": {"scale_pixels": scale_pixels}}))
    images, _ = load_test_set()
    images = images[:20]
    network_input = images[..., None].astype(np.float32) / (255.0 if scale_pixels else 1.0)

    loaded = load_model(tmp_path / MODEL_FILE)
    assert loaded.layers[0].name == INPUT_SCALING_LAYER
    assert [layer.name for layer in loaded.layers[1:]] == [layer.name for layer in network.layers]
    expected = network.predict(network_input, verbose=0)
    np.testing.assert_allclose(Predictor(loaded).probabilities(images), expected, atol=1e-5)
    np.testing.assert_allclose(Predictor(loaded).probabilities(images / 255.0), expected, atol=1e-5)
    conv1 = keras.Model(network.inputs, network.get_layer("conv1").output).predict(network_input[:1], verbose=0)
    np.testing.assert_allclose(FeatureMaps(loaded)(images[0])["conv1"], conv1[0], rtol=1e-4, atol=1e-4)


def test_old_model_without_metrics_is_read_as_scaled(tmp_path):
    network = tutorial_network()
    network.save(tmp_path / MODEL_FILE)
    assert load_model(tmp_path / MODEL_FILE).layers[0].scale == pytest.approx(1 / 255)
