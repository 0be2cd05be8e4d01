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


def wilson_interval(correct, total, z=1.96):
    """``(low, high)``: the Wilson score interval of an accuracy of ``correct`` of ``total`` (95% for z = 1.96).

    Unlike the plain ``p ± z·se`` it stays within [0, 1] and is honest for a dozen digits or for 12 of 12
    right; ``(0.0, 1.0)`` when there is nothing to judge by.
    """
    if total <= 0:
        return 0.0, 1.0
    if not 0 <= correct <= total:
        raise ValueError(f"Expected 0 to {total} correct, got {correct}.")
    p, z2 = correct / total, z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = z / (1 + z2 / total) * np.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
