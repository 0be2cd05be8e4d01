"""Scoring a model on labelled digits."""
import numpy as np

from mnist_cnn.predict import Predictor

_EPSILON = 1e-7  # Keras clips probabilities the same way in categorical cross-entropy


def cross_entropy(probabilities, labels):
    """Mean categorical cross-entropy of (n, 10) probabilities against integer labels."""
    chosen = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(chosen, _EPSILON, 1.0)).mean())


def evaluate(model, images, labels):
    """``{"test_accuracy", "test_loss", "n"}`` of ``model`` on uint8 or [0, 1] float images."""
    labels = np.asarray(labels).astype(np.int64)
    probabilities = Predictor(model).probabilities(images)
    if len(probabilities) != len(labels):
        raise ValueError(f"Expected one label per image, got {len(labels)} labels for {len(probabilities)} images.")
    return {
        "test_accuracy": float((probabilities.argmax(axis=1) == labels).mean()),
        "test_loss": cross_entropy(probabilities, labels),
        "n": int(len(labels)),
    }
