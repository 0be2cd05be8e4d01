"""Turning a drawing into an MNIST digit, the way MNIST itself was made.

MNIST digits were size-normalized to fit a 20x20 box (aspect ratio kept, anti-aliased) and then
centred in a 28x28 frame by their centre of mass. A drawing on a canvas differs in position,
size, pen width and colours; this module removes all four so the network sees what it was
trained on.
"""
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

MNIST_SIZE = 28
DIGIT_BOX = 20
# Median stroke width of MNIST test digits (2 * area / perimeter of pixels above 127), in pixels
# of the 20-pixel digit box. Drawings are brought to this width, whatever the pen.
MNIST_STROKE_WIDTH = 1.84
# Working resolution for the pen-width correction: large enough for 1-pixel filter steps.
WORKING_BOX = 80
INK_THRESHOLD = 0.5  # for the pen-width estimate
BOX_THRESHOLD = 0.1  # the digit's bounding box includes its anti-aliased edge
MIN_CONTRAST = 40 / 255  # weaker differences than this are paper texture, not ink
MIN_INK_PIXELS = 12


def ink_map(rgba):
    """Ink as floats in [0, 1], whatever the colours: ink in the alpha channel on a transparent
    canvas, otherwise the difference in brightness from the background (dark or light)."""
    rgba = _check_canvas(rgba)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    if np.median(alpha) < 0.5:  # mostly transparent: strokes are the opaque part
        return alpha
    luminance = rgba[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    border = np.concatenate([luminance[0], luminance[-1], luminance[:, 0], luminance[:, -1]])
    background = float(np.median(border))
    return np.abs(luminance - background) * alpha


def _check_canvas(rgba):
    if not isinstance(rgba, np.ndarray):
        raise TypeError(f"Expected the canvas as a numpy array, got {type(rgba).__name__}.")
    if rgba.dtype != np.uint8:
        raise ValueError(f"Expected a uint8 RGBA canvas, got dtype {rgba.dtype}.")
    if rgba.ndim != 3 or rgba.shape[2] != 4 or min(rgba.shape[:2]) < 8:
        raise ValueError(f"Expected an RGBA canvas of shape (height, width, 4), at least 8x8, got {rgba.shape}.")
    return rgba


def stroke_width(mask):
    """Typical stroke width of a binary drawing: 2 * area / perimeter (exact for long strokes)."""
    padded = np.pad(mask, 1)
    perimeter = np.count_nonzero(padded[1:] != padded[:-1]) + np.count_nonzero(padded[:, 1:] != padded[:, :-1])
    return 2.0 * np.count_nonzero(mask) / max(perimeter, 1)


def _resize(ink, width, height):
    image = Image.fromarray(np.clip(ink * 255.0, 0, 255).astype(np.uint8))
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0), np.float32) / 255.0


def _scaled_size(height, width, box):
    scale = box / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _normalize_pen(ink, mask):
    """Ink at WORKING_BOX resolution, dilated or eroded to MNIST's stroke width."""
    height, width = ink.shape
    working = _resize(ink, *_scaled_size(height, width, WORKING_BOX))
    target = MNIST_STROKE_WIDTH * WORKING_BOX / DIGIT_BOX
    drawn = stroke_width(mask) * WORKING_BOX / max(height, width)
    size = 2 * round(abs(target - drawn) / 2) + 1  # a k-pixel filter changes widths by k - 1
    if size >= 3:
        filter_class = ImageFilter.MaxFilter if drawn < target else ImageFilter.MinFilter
        image = Image.fromarray((working * 255).astype(np.uint8)).filter(filter_class(size))
        working = np.asarray(image, np.float32) / 255.0
    return working


@dataclass(frozen=True)
class PreprocessSteps:
    """Every stage from a canvas to the network's input, for showing the way in.

    ``ink``: the canvas's ink in [0, 1] (scaled so its darkest stroke is 1); ``box``: the ink's
    bounding box (top, bottom, left, right); ``drawn_stroke_width``: the pen's width in canvas
    pixels; ``digit``: the box at MNIST's stroke width, fitted into 20x20 (one side is 20);
    ``frame``: the 28x28 image the network sees, the digit centred by its mass.
    """

    ink: np.ndarray
    box: tuple[int, int, int, int]
    drawn_stroke_width: float
    digit: np.ndarray
    frame: np.ndarray


def canvas_to_mnist_steps(rgba):
    """:class:`PreprocessSteps` of a canvas, or None when the canvas is blank (nothing drawn)."""
    ink = ink_map(rgba)
    if ink.max() < MIN_CONTRAST:
        return None
    ink = ink / ink.max()
    mask = ink > INK_THRESHOLD
    if np.count_nonzero(mask) < MIN_INK_PIXELS:
        return None
    edge = ink > BOX_THRESHOLD
    rows, columns = np.flatnonzero(edge.any(axis=1)), np.flatnonzero(edge.any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1] + 1), int(columns[0]), int(columns[-1] + 1)
    box_mask = mask[top:bottom, left:right]
    working = _normalize_pen(ink[top:bottom, left:right], box_mask)

    width, height = _scaled_size(*working.shape, DIGIT_BOX)
    digit = _resize(working, width, height)
    if digit.max() <= 0:
        return None
    digit /= digit.max()

    total = digit.sum()
    centre_row = (digit.sum(axis=1) @ np.arange(height)) / total
    centre_column = (digit.sum(axis=0) @ np.arange(width)) / total
    frame_top = int(round(MNIST_SIZE / 2 - 0.5 - centre_row))
    frame_left = int(round(MNIST_SIZE / 2 - 0.5 - centre_column))
    frame_top = min(max(frame_top, 0), MNIST_SIZE - height)  # a lopsided digit must still fit in the frame
    frame_left = min(max(frame_left, 0), MNIST_SIZE - width)
    frame = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    frame[frame_top : frame_top + height, frame_left : frame_left + width] = digit
    return PreprocessSteps(ink, (top, bottom, left, right), float(stroke_width(box_mask)), digit, frame)


def canvas_to_mnist(rgba):
    """A (28, 28) float32 image in [0, 1], white digit on black, like an MNIST digit, or None
    when the canvas is blank (nothing drawn)."""
    steps = canvas_to_mnist_steps(rgba)
    return None if steps is None else steps.frame
