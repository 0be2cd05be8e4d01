"""Drawing known digits onto a canvas the way a browser canvas hands them over.

Used to measure and test the drawing pipeline: an MNIST digit, enlarged and placed anywhere
on an RGBA canvas, in each of the ways a canvas can be styled.
"""
import numpy as np
from PIL import Image, ImageFilter

CANVAS_STYLES = ("dark ink on light", "light ink on dark", "ink on transparent")


def render_on_canvas(ink, style, canvas_size=280):
    """An RGBA uint8 canvas of ``canvas_size`` whose ink (floats in [0, 1], same size) is drawn in ``style``."""
    ink = np.asarray(ink, np.float32)
    if ink.shape != (canvas_size, canvas_size):
        raise ValueError(f"Expected ink of shape {(canvas_size, canvas_size)}, got {ink.shape}.")
    level = (np.clip(ink, 0, 1) * 255).astype(np.uint8)
    canvas = np.zeros((canvas_size, canvas_size, 4), np.uint8)
    if style == "dark ink on light":
        canvas[..., :3] = (255 - level)[..., None]
        canvas[..., 3] = 255
    elif style == "light ink on dark":
        canvas[..., :3] = level[..., None]
        canvas[..., 3] = 255
    elif style == "ink on transparent":
        canvas[..., :3] = (30, 60, 200)  # a coloured pen: only alpha says where the ink is
        canvas[..., 3] = level
    else:
        raise ValueError(f"Unknown canvas style {style!r}: expected one of {list(CANVAS_STYLES)}.")
    return canvas


def place_digit(digit, size, top, left, pen_change=0, canvas_size=280):
    """Ink map of an MNIST digit enlarged so its longer side is ``size`` pixels, at (top, left).

    ``pen_change`` thickens (positive) or thins (negative) the strokes by that many pixels, like
    a wider or narrower pen.
    """
    rows, columns = np.nonzero(digit > 30)
    crop = digit[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    scale = size / max(crop.shape)
    width, height = max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))
    image = Image.fromarray(crop).resize((width, height), Image.Resampling.BILINEAR)
    if pen_change:
        kernel = 2 * (abs(pen_change) // 2) + 1
        image = image.filter(ImageFilter.MaxFilter(kernel) if pen_change > 0 else ImageFilter.MinFilter(kernel))
    ink = np.zeros((canvas_size, canvas_size), np.float32)
    if top + height > canvas_size or left + width > canvas_size:
        raise ValueError(f"A {height}x{width} digit at ({top}, {left}) does not fit a {canvas_size}-pixel canvas.")
    ink[top : top + height, left : left + width] = np.asarray(image, np.float32) / 255.0
    return ink
