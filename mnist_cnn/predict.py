"""Fast inference: a traced forward pass, because ``model.predict`` builds a data pipeline on every call."""
import numpy as np
import tensorflow as tf


def as_model_input(images):
    """uint8 0-255 or float [0, 1] images, one (28, 28) or a batch (n, 28, 28[, 1]), as the float32
    (n, 28, 28, 1) batch of 0-255 values that every model takes (its first layer scales them)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = images.astype(np.float32)
    elif np.issubdtype(images.dtype, np.floating):
        images = images.astype(np.float32) * 255.0
    else:
        raise ValueError(f"Expected uint8 or float images, got dtype {images.dtype}.")
    if images.shape == (28, 28):
        images = images[None]
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(f"Expected images of shape (28, 28), (n, 28, 28) or (n, 28, 28, 1), got {np.shape(images)}.")
    return images


class Predictor:
    """Class probabilities from a Keras model, traced once for any batch size."""

    def __init__(self, model):
        self.model = model
        self._forward = tf.function(
            lambda batch: model(batch, training=False),
            input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)],
            reduce_retracing=True,
        )
        # Trace now, not on the first call: a class that draws its first digits together
        # would otherwise queue behind one visitor's trace (TensorFlow traces under a lock).
        self._forward.get_concrete_function()

    def probabilities(self, images, batch_size=500):
        """(n, 10) float32 probabilities for images accepted by :func:`as_model_input`.

        Moderate batches: TensorFlow keeps a call's peak activation memory for the life of the process.
        """
        batch = as_model_input(images)
        return np.concatenate(
            [self._forward(batch[start : start + batch_size]).numpy() for start in range(0, len(batch), batch_size)]
            or [np.zeros((0, 10), np.float32)]
        )
