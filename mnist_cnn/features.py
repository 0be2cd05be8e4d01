"""What the convolution layers respond to: feature maps for one image."""
import math

import keras
import numpy as np
import tensorflow as tf

from mnist_cnn.predict import as_model_input


class FeatureMaps:
    """Outputs of every Conv2D layer of a model for one image, from one compiled call."""

    def __init__(self, model):
        convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        if not convolutions:
            raise ValueError(f"Expected a model with convolution layers, got none in {model.name!r}.")
        self.layer_names = [layer.name for layer in convolutions]
        extractor = keras.Model(model.inputs, [layer.output for layer in convolutions])
        self._forward = tf.function(
            lambda batch: extractor(batch, training=False),
            input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)],
        )

    def __call__(self, image):
        """``{layer name: (height, width, channels) array}`` for one (28, 28) image."""
        outputs = self._forward(as_model_input(image)[:1])
        return {name: output[0].numpy() for name, output in zip(self.layer_names, outputs, strict=False)}


def feature_mosaic(maps, columns=8, gap=1):
    """Tile (h, w, channels) maps into one uint8 image, each map scaled to its own range."""
    height, width, channels = maps.shape
    rows = math.ceil(channels / columns)
    mosaic = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), 255, np.uint8)
    for channel in range(channels):
        feature = maps[..., channel]
        span = feature.max() - feature.min()
        scaled = (feature - feature.min()) / span if span > 0 else np.zeros_like(feature)
        row, column = divmod(channel, columns)
        top, left = row * (height + gap), column * (width + gap)
        mosaic[top : top + height, left : left + width] = (scaled * 255).astype(np.uint8)
    return mosaic
