"""Network presets: each builds an uncompiled Keras network and is the one source of its training defaults."""
from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import layers

from mnist_cnn.data import IMAGE_SHAPE, NUM_CLASSES

INPUT_SHAPE = (*IMAGE_SHAPE, 1)  # one channel: grey
CLASS_DEMO_EPOCHS = 3
CLASS_DEMO_BATCH_SIZE = 128
CLASS_DEMO_LEARNING_RATE = 2e-3
CLASS_DEMO_WARMUP = 0.15


@dataclass(frozen=True)
class Preset:
    """A network and its default training settings (the only place these defaults are written)."""

    name: str
    title: str
    description: str
    build: Callable[[], keras.Model]
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    # Anneal the learning rate to near zero over the run (cosine), for the last fraction of a percent.
    cosine_decay: bool = False
    # With cosine_decay: the share of the run that first warms the learning rate up (linearly, from a
    # tenth) to its peak: a one-cycle schedule, so that a high peak rate does not blow up the first steps.
    warmup_fraction: float = 0.0


def tutorial_network():
    """The tutorial's network, layer for layer: 1,087,106 parameters."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(32, kernel_size=5, activation="relu", name="conv1"),
            layers.MaxPooling2D(pool_size=2, name="pool1"),
            layers.Conv2D(64, kernel_size=5, activation="relu", name="conv2"),
            layers.MaxPooling2D(pool_size=2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(1000, activation="relu", name="dense"),
            layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"),
        ],
        name="tutorial",
    )


def _conv_block(filters, name):
    # Conv -> BatchNorm -> ReLU: the bias is redundant before batch normalization.
    return [
        layers.Conv2D(filters, kernel_size=3, padding="same", use_bias=False, name=f"{name}"),
        layers.BatchNormalization(name=f"{name}_bn"),
        layers.ReLU(name=f"{name}_relu"),
    ]


def regularized_network():
    """A stronger network: batch normalization, dropout and light augmentation."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            # Augmentation layers are active only while training.
            layers.RandomRotation(0.03, fill_mode="constant", name="augment_rotate"),
            layers.RandomTranslation(0.08, 0.08, fill_mode="constant", name="augment_shift"),
            *_conv_block(32, "conv1"),
            *_conv_block(32, "conv1b"),
            layers.MaxPooling2D(pool_size=2, name="pool1"),
            *_conv_block(64, "conv2"),
            *_conv_block(64, "conv2b"),
            layers.MaxPooling2D(pool_size=2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.4, name="dropout1"),
            layers.Dense(256, use_bias=False, name="dense"),
            layers.BatchNormalization(name="dense_bn"),
            layers.ReLU(name="dense_relu"),
            layers.Dropout(0.4, name="dropout2"),
            layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"),
        ],
        name="regularized",
    )


PRESETS = {
    preset.name: preset
    for preset in [
        Preset(
            name="tutorial",
            title="Tutorial CNN",
            description="The tutorial's network: two 5x5 convolutions with max pooling, "
            "a 1000-unit dense layer and a softmax.",
            build=tutorial_network,
        ),
        Preset(
            name="regularized",
            title="Regularized CNN (batch norm, dropout, augmentation)",
            description="Four 3x3 convolutions with batch normalization, dropout and small random "
            "shifts and rotations of the training images; the learning rate anneals to zero over the run. "
            "Slower per epoch, more accurate.",
            build=regularized_network,
            learning_rate=2e-3,
            cosine_decay=True,
        ),
        Preset(
            name="class_demo",
            title="Tutorial CNN, one-minute recipe (class demo)",
            description="The tutorial's network, layer for layer, trained with a better recipe: a one-cycle "
            "learning rate (a short warm-up to a high rate, then down to nearly zero) over 3 epochs, batch 128 as in the tutorial. "
            "Race it against the tutorial preset: over 99% in well under a minute on two cores.",
            build=tutorial_network,
            epochs=CLASS_DEMO_EPOCHS,
            batch_size=CLASS_DEMO_BATCH_SIZE,
            learning_rate=CLASS_DEMO_LEARNING_RATE,
            cosine_decay=True,
            warmup_fraction=CLASS_DEMO_WARMUP,
        ),
    ]
}

DEFAULT_PRESET = "tutorial"


def get_preset(name):
    """Look a preset up by name, with an error that lists the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"Unknown preset {name!r}: expected one of {sorted(PRESETS)}.") from None


# Ready-made changes to a preset's settings, offered on the Train page.
DEMO_RECIPE = "One-minute demo (5,000 images, 3 epochs)"
SETTING_RECIPES = {
    "The preset's own settings": {},
    DEMO_RECIPE: {"train_size": 5000, "epochs": 3},
    "The tutorial's bug (SGD, raw 0-255 pixels)": {"optimizer": "sgd", "learning_rate": 0.01, "scale_pixels": False},
}
