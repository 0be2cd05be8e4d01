"""Explaining one reading: what-if changes to the image, where the network looked, look-alikes.

Everything works on the 28x28 image the network saw (float in [0, 1], white digit on black) and
on any classifier of the project: probabilities come from a :class:`~mnist_cnn.predict.Predictor`,
features from its Keras model.
"""
from dataclasses import dataclass, fields

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFilter

from mnist_cnn.display import enlarge
from mnist_cnn.predict import as_model_input
from mnist_cnn.preprocess import DIGIT_BOX, MNIST_SIZE, MNIST_STROKE_WIDTH

# Thickness changes are made at 4x resolution, where a rank filter moves an edge by a quarter pixel.
THICKNESS_UPSAMPLING = 4
NOISE_SEED = 0  # the same noise pattern at every slider position, so only its strength changes


@dataclass(frozen=True)
class Slider:
    label: str
    minimum: float  # int limits make an int slider
    maximum: float
    step: float
    rest: float
    unit: str
    format: str


# The what-if changes, in the order they are applied, with the ranges the page offers.
WHAT_IF_SLIDERS = {
    "thickness": Slider("Stroke thickness", -1.0, 3.0, 0.5, 0.0, "px", "%+.1f"),
    "rotation": Slider("Rotate anticlockwise", -90, 90, 5, 0, "°", "%d"),
    "scale": Slider("Scale", 0.5, 1.5, 0.05, 1.0, "×", "%.2f"),
    "shift_x": Slider("Shift right", -10, 10, 1, 0, "px", "%d"),
    "shift_y": Slider("Shift down", -10, 10, 1, 0, "px", "%d"),
    "noise": Slider("Noise", 0.0, 0.6, 0.05, 0.0, "", "%.2f"),
}


@dataclass(frozen=True)
class WhatIf:
    """Changes to a 28x28 image; the defaults leave it exactly as it is."""

    thickness: float = 0.0  # pixels added to (or, negative, taken from) the stroke width
    rotation: float = 0.0  # degrees, anticlockwise, about the frame's centre
    scale: float = 1.0  # about the frame's centre
    shift_x: float = 0.0  # pixels to the right
    shift_y: float = 0.0  # pixels down
    noise: float = 0.0  # standard deviation of Gaussian noise, in units of full ink

    def __post_init__(self):
        for field in fields(self):
            slider, value = WHAT_IF_SLIDERS[field.name], getattr(self, field.name)
            if not slider.minimum - 1e-9 <= value <= slider.maximum + 1e-9:  # float steps may overshoot
                raise ValueError(
                    f"Expected {field.name} between {slider.minimum} and {slider.maximum}, got {value}."
                )


def as_float_image(image):
    """A (28, 28) float32 copy in [0, 1] of a uint8 0-255 or float [0, 1] MNIST-style image."""
    image = np.asarray(image)
    if image.shape not in ((28, 28), (28, 28, 1)):
        raise ValueError(f"Expected one 28x28 image, got shape {image.shape}.")
    scaled = image / np.float32(255) if image.dtype == np.uint8 else image
    return np.array(scaled.reshape(28, 28), dtype=np.float32)


def _change_thickness(image, pixels):
    size = MNIST_SIZE * THICKNESS_UPSAMPLING
    filter_size = 2 * round(abs(pixels) * THICKNESS_UPSAMPLING / 2) + 1  # a k-pixel filter moves widths by k - 1
    if filter_size < 3:
        return image
    large = Image.fromarray((image * 255).round().astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
    filter_class = ImageFilter.MaxFilter if pixels > 0 else ImageFilter.MinFilter
    changed = large.filter(filter_class(filter_size)).resize((MNIST_SIZE, MNIST_SIZE), Image.Resampling.BOX)
    return np.asarray(changed, np.float32) / 255.0


def _move(image, rotation, scale, shift_x, shift_y):
    """Rotate and scale about the frame's centre, then shift: one resampling for all three."""
    centre = MNIST_SIZE / 2
    angle = np.deg2rad(rotation)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    # PIL maps each output pixel back to the input: input = A @ (output - centre - shift) + centre.
    x0, y0 = -centre - shift_x, -centre - shift_y
    coefficients = (cos, -sin, cos * x0 - sin * y0 + centre, sin, cos, sin * x0 + cos * y0 + centre)
    moved = Image.fromarray(image, mode="F").transform(
        (MNIST_SIZE, MNIST_SIZE), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BILINEAR
    )
    return np.asarray(moved, np.float32)


def what_if(image, change):
    """The image after a :class:`WhatIf` change: thickness, then rotation/scale/shift, then noise.

    Each change at rest is skipped, so ``WhatIf()`` returns the image exactly.
    """
    result = as_float_image(image)
    if change.thickness:
        result = _change_thickness(result, change.thickness)
    if change.rotation or change.scale != 1 or change.shift_x or change.shift_y:
        result = _move(result, change.rotation, change.scale, change.shift_x, change.shift_y)
    if change.noise:
        noise = np.random.default_rng(NOISE_SEED).standard_normal(result.shape).astype(np.float32)
        result = result + change.noise * noise
    return np.clip(result, 0.0, 1.0)


# Occlusion, not integrated gradients: one batched forward pass gives the map of every digit at
# once, in probability units a class can read, for any saved model (no gradients needed).
OCCLUSION_PATCH = 5
OCCLUSION_STRIDE = 2  # squares centred on every other pixel: a quarter of the forward passes, each pixel still under 4-9


def occlusion_saliency(image, predictor, patch=OCCLUSION_PATCH, stride=OCCLUSION_STRIDE):
    """(10, 28, 28) float32: how much each digit's probability drops when a ``patch`` x ``patch``
    square around a pixel is blanked, averaged over the squares (every ``stride`` pixels) covering it.

    Positive: ink there is evidence for the digit; negative: evidence against it. Squares that
    cover no ink change nothing, so they are not run through the network (their drop is 0).
    """
    image = as_float_image(image)
    half = patch // 2
    padded = np.pad(image, half)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (patch, patch))  # (28, 28, patch, patch)
    centres = np.zeros((MNIST_SIZE, MNIST_SIZE), bool)
    centres[::stride, ::stride] = True
    inked = np.argwhere(centres & (windows.max(axis=(2, 3)) > 0))
    drops = np.zeros((10, MNIST_SIZE, MNIST_SIZE), np.float32)
    if len(inked):
        batch = np.repeat(padded[None], len(inked), axis=0)
        for number, (row, column) in enumerate(inked):
            batch[number, row : row + patch, column : column + patch] = 0.0
        batch = batch[:, half : half + MNIST_SIZE, half : half + MNIST_SIZE]
        probabilities = predictor.probabilities(np.concatenate([image[None], batch]), batch_size=len(batch) + 1)
        drops[:, inked[:, 0], inked[:, 1]] = probabilities[0][:, None] - probabilities[1:].T
    # Spread each square's drop over the pixels it covered (a box filter), as a mean per pixel.
    covered = _box_sum(drops, patch) / _box_sum(centres[None].astype(np.float32), patch)
    return covered.astype(np.float32)


def _box_sum(maps, size):
    half = size // 2
    padded = np.pad(maps, ((0, 0), (half, half), (half, half)))
    return np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(1, 2)).sum(axis=(3, 4))


SALIENCY_FOR = (220, 38, 38)  # red: covering this lowers the digit's probability
SALIENCY_AGAINST = (37, 99, 235)  # blue: covering this raises it
SALIENCY_FLOOR = 0.02  # smaller drops are not amplified into strong colours


def saliency_overlay(image, saliency, scale=8):
    """An RGB uint8 image: the digit in grey under red (evidence for) and blue (against) at ``scale``x."""
    image = as_float_image(image)
    strength = np.clip(saliency / max(float(np.abs(saliency).max()), SALIENCY_FLOOR), -1, 1)[..., None]
    strength = np.sign(strength) * np.sqrt(np.abs(strength))  # weaker evidence stays visible next to the strongest
    base = np.repeat(image[..., None] * 0.55, 3, axis=2)
    colour = np.where(strength > 0, np.array(SALIENCY_FOR) / 255.0, np.array(SALIENCY_AGAINST) / 255.0)
    alpha = np.abs(strength) * 0.9
    blended = base * (1 - alpha) + colour * alpha
    return np.stack([enlarge(channel, scale) for channel in np.moveaxis(blended, -1, 0)], axis=-1)


def steps_strip(steps, size=140):
    """The way in as RGB tiles of about ``size`` pixels with captions: the ink, its bounding box,
    the 20x20 box at MNIST's stroke width, and the 28x28 frame the network sees (pixel for pixel)."""
    ink = Image.fromarray((steps.ink * 255).astype(np.uint8)).convert("RGB")
    top, bottom, left, right = steps.box
    boxed = ink.copy()
    line = max(2, round(max(ink.size) / size * 2))
    outline = (left - line, top - line, right + line - 1, bottom + line - 1)
    ImageDraw.Draw(boxed).rectangle(outline, outline=(245, 158, 11), width=line)
    box = np.zeros((DIGIT_BOX, DIGIT_BOX), np.float32)
    height, width = steps.digit.shape
    row, column = (DIGIT_BOX - height) // 2, (DIGIT_BOX - width) // 2
    box[row : row + height, column : column + width] = steps.digit
    return [
        (np.asarray(ink.resize((size, size), Image.Resampling.BOX)), f"1. Your ink ({ink.width} × {ink.height})"),
        (
            np.asarray(boxed.resize((size, size), Image.Resampling.BOX)),
            f"2. Its bounding box ({right - left} × {bottom - top}), pen {steps.drawn_stroke_width:.0f} px",
        ),
        (enlarge(box, size // DIGIT_BOX), f"3. Scaled into 20 × 20, pen width set to MNIST's {MNIST_STROKE_WIDTH:.1f} px"),
        (enlarge(steps.frame, size // MNIST_SIZE), "4. Centred by mass in 28 × 28: what the network sees"),
    ]


LOOK_ALIKE_COUNT = 6


class LookAlikes:
    """The test digits nearest to an image in a model's last hidden layer (cosine similarity).

    The features of all ``images`` are computed once, scaled to unit length and kept as float16
    (10,000 x 1,000 for the tutorial network: 20 MB); one compiled call turns a query image into
    its similarities to all of them (float16 products, within ~3e-4 of float32).
    """

    def __init__(self, model, images, labels, batch_size=500):
        extractor = keras.Model(model.inputs, model.layers[-1].input)  # what the last (softmax) layer reads
        signature = [tf.TensorSpec((None, 28, 28, 1), tf.float32)]

        def unit_features(batch):
            hidden = extractor(batch, training=False)
            return tf.cast(tf.math.l2_normalize(tf.reshape(hidden, [tf.shape(hidden)[0], -1]), axis=1), tf.float16)

        extract = tf.function(unit_features, input_signature=signature)
        batch = as_model_input(images)
        self.features = tf.concat([extract(batch[start : start + batch_size]) for start in range(0, len(batch), batch_size)], 0)
        self.labels = np.asarray(labels)
        self._similarities = tf.function(
            lambda batch: tf.cast(tf.matmul(unit_features(batch), self.features, transpose_b=True), tf.float32),
            input_signature=signature,
        )

    @property
    def nbytes(self):
        return self.features.shape.num_elements() * self.features.dtype.size + self.labels.nbytes

    def nearest(self, image, count=LOOK_ALIKE_COUNT, exclude=None):
        """``(indices, similarities)`` of the ``count`` images most like ``image``, best first;
        ``exclude``: an index to leave out (the image itself, when it is one of them)."""
        similarities = self._similarities(as_model_input(image)[:1]).numpy()[0]
        if exclude is not None:
            similarities[exclude] = -np.inf
        best = np.argpartition(-similarities, count)[:count]
        best = best[np.argsort(-similarities[best])]
        return best, similarities[best]
