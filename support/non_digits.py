"""Drawings that are not one digit, made the way a visitor would draw them on the 280x280 canvas.

Used by tests and ``benchmarks/not_a_digit.py`` to check that the Draw page does not claim a digit
for a dot, a line, a letter, a symbol, a scribble, two digits side by side or a shape. Every maker
returns an ink map (floats in [0, 1], ``canvas_size`` square) for ``support.canvas_styles.render_on_canvas``.

Left out on purpose, because they *are* digits: straight lines within ``ONE_STROKE_MAX_TILT`` of
vertical (a "1"), circles and ellipses (a "0"), and the letters in ``DIGIT_LIKE_LETTERS``.
"""
import glob

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from support.canvas_styles import place_digit, render_on_canvas

CANVAS_SIZE = 280
PEN_WIDTHS = (8, 40)  # the Draw page's pen-width slider
# Degrees from vertical: a steeper straight stroke is a 1 (99% of MNIST's test 1s lean less than 41 degrees).
ONE_STROKE_MAX_TILT = 45
# Letters a drawn digit can honestly look like: O 0, I l 1, S 5, Z 2, B 8, G 6, b 6, g q 9, D 0, T 7, J 7 (or 1).
DIGIT_LIKE_LETTERS = set("OoIilSsZzBGbgqDTJjQ")
LETTERS = [letter for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if letter not in DIGIT_LIKE_LETTERS]
FONT_SYMBOLS = list("+×=?#*%&@<>") + ["→", "←", "↑", "↓"]
FONT_GLOBS = ("/usr/share/fonts/truetype/dejavu/DejaVu*.ttf", "/usr/share/fonts/truetype/liberation/Liberation*.ttf")


def font_files():
    """TrueType fonts on this machine (Debian's DejaVu and Liberation), sorted; empty when none."""
    return sorted(path for pattern in FONT_GLOBS for path in glob.glob(pattern) if "Math" not in path)


def _pen(rng):
    return int(rng.integers(PEN_WIDTHS[0], PEN_WIDTHS[1] + 1))


def _stroke(points, width, canvas_size=CANVAS_SIZE):
    """Ink of a polyline drawn with a round pen, like the canvas's freehand tool."""
    image = Image.new("L", (canvas_size, canvas_size), 0)
    draw = ImageDraw.Draw(image)
    points = [tuple(map(float, point)) for point in points]
    if len(points) > 1:
        draw.line(points, fill=255, width=width, joint="curve")
    for x, y in (points[0], points[-1]):  # round caps
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return np.asarray(image, np.float32) / 255.0


def _strokes(polylines, width):
    return np.maximum.reduce([_stroke(points, width) for points in polylines])


def dot(rng):
    """One dot or a short dab, anywhere."""
    x, y = rng.uniform(30, 250, 2)
    length = rng.uniform(0, 12)
    angle = rng.uniform(0, np.pi)
    return _stroke([(x, y), (x + length * np.cos(angle), y + length * np.sin(angle))], _pen(rng))


def random_drawing(digit, rng, style):
    """An MNIST digit redrawn on the canvas at a random size (40-260 px), spot and pen width, as RGBA."""
    size = int(rng.integers(40, 261))
    top, left = (int(v) for v in rng.integers(0, CANVAS_SIZE + 1 - size, 2))
    return render_on_canvas(place_digit(digit, size, top, left, int(rng.choice([-2, 0, 0, 4, 8]))), style)


def line(rng):
    """A straight stroke at an angle more than ONE_STROKE_MAX_TILT degrees from vertical."""
    tilt = np.radians(rng.uniform(ONE_STROKE_MAX_TILT + 5, 180 - ONE_STROKE_MAX_TILT - 5))  # 0 = vertical
    length = rng.uniform(60, 240)
    centre = rng.uniform(CANVAS_SIZE / 2 - 30, CANVAS_SIZE / 2 + 30, 2)
    offset = 0.5 * length * np.array([np.sin(tilt), np.cos(tilt)])
    return _stroke([centre - offset, centre + offset], _pen(rng))


def _glyph(text, rng, fonts):
    """``text`` rendered in a random font, fitted to a random size and spot on the canvas."""
    size = int(rng.integers(70, 250))
    font = ImageFont.truetype(str(rng.choice(fonts)), 200) if fonts else ImageFont.load_default(200)
    image = Image.new("L", (400, 400), 0)
    ImageDraw.Draw(image).text((50, 50), text, fill=255, font=font)
    glyph = np.asarray(image)
    rows, columns = np.nonzero(glyph > 30)
    crop = glyph[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    scale = size / max(crop.shape)
    height, width = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    top, left = (int(rng.integers(0, CANVAS_SIZE - side + 1)) for side in (height, width))
    ink = np.zeros((CANVAS_SIZE, CANVAS_SIZE), np.float32)
    resized = Image.fromarray(crop).resize((width, height), Image.Resampling.BILINEAR)
    ink[top : top + height, left : left + width] = np.asarray(resized, np.float32) / 255.0
    return ink


def letter(rng, fonts):
    return _glyph(str(rng.choice(LETTERS)), rng, fonts)


def _hand_symbol(rng):
    """A symbol drawn with pen strokes: + x = # or an arrow."""
    c, half = CANVAS_SIZE / 2 + rng.uniform(-30, 30, 2), rng.uniform(40, 110)
    x, y = c
    kind = rng.choice(["plus", "cross", "equals", "hash", "arrow"])
    if kind == "plus":
        polylines = [[(x - half, y), (x + half, y)], [(x, y - half), (x, y + half)]]
    elif kind == "cross":
        polylines = [[(x - half, y - half), (x + half, y + half)], [(x - half, y + half), (x + half, y - half)]]
    elif kind == "equals":
        gap = half * rng.uniform(0.3, 0.6)
        polylines = [[(x - half, y - gap), (x + half, y - gap)], [(x - half, y + gap), (x + half, y + gap)]]
    elif kind == "hash":
        g = half * 0.4
        polylines = [
            [(x - half, y - g), (x + half, y - g)],
            [(x - half, y + g), (x + half, y + g)],
            [(x - g, y - half), (x - g, y + half)],
            [(x + g, y - half), (x + g, y + half)],
        ]
    else:
        angle = rng.choice([0, np.pi / 2, np.pi, 3 * np.pi / 2]) + rng.uniform(-0.3, 0.3)
        direction = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-direction[1], direction[0]])
        tip, tail = c + half * direction, c - half * direction
        head = 0.4 * half
        polylines = [[tail, tip], [tip - head * direction + head * normal, tip, tip - head * direction - head * normal]]
    # Pen strokes wobble a little.
    polylines = [[np.asarray(point) + rng.normal(0, 3, 2) for point in points] for points in polylines]
    return _strokes(polylines, int(rng.integers(PEN_WIDTHS[0], 25)))


def symbol(rng, fonts):
    """Half drawn with pen strokes, half typed in a font (+ × = ? # * % & @ < > and arrows)."""
    return _hand_symbol(rng) if rng.random() < 0.5 else _glyph(str(rng.choice(FONT_SYMBOLS)), rng, fonts)


def scribble(rng):
    """A random walk whose heading turns all the time: a tangle whose path is several times its size."""
    steps = int(rng.integers(40, 120))
    turning = np.cumsum(rng.normal(0, 0.5, steps)) * rng.uniform(0.3, 1.0)
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(turning * 0.2 + rng.normal(0, 0.35, steps))
    points = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], axis=1), axis=0)
    points -= points.min(axis=0)
    points = points * rng.uniform(120, 250) / max(points.max(), 1) + rng.uniform(10, 30, 2)
    return _stroke(np.clip(points, 5, CANVAS_SIZE - 5), int(rng.integers(PEN_WIDTHS[0], 25)))


def two_digits(rng, images):
    """Two MNIST digits side by side, like "17"."""
    first, second = rng.choice(len(images), 2, replace=False)
    size = int(rng.integers(70, 130))
    gap = int(rng.integers(0, 20))
    left = int(rng.integers(0, CANVAS_SIZE - 2 * size - gap + 1))
    top = int(rng.integers(0, CANVAS_SIZE - size + 1))
    pen_change = int(rng.choice([0, 0, 4, 8]))
    ink = place_digit(images[first], size, top, left, pen_change)
    second_ink = place_digit(images[second], size, top + int(rng.integers(-10, 11)) if 10 <= top <= CANVAS_SIZE - size - 10 else top,
                             left + size + gap, pen_change)
    return np.maximum(ink, second_ink)


def shape(rng):
    """A triangle, a square or rectangle, a star or a heart-like zigzag (circles are zeros: left out)."""
    c = CANVAS_SIZE / 2 + rng.uniform(-25, 25, 2)
    r = rng.uniform(50, 115)
    kind = rng.choice(["triangle", "square", "star", "zigzag"])
    if kind == "triangle":
        angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2, 4, 0]) * np.pi / 3
        points = c + r * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    elif kind == "square":
        aspect = rng.uniform(0.6, 1.0)
        points = c + r * np.array([[-1, -aspect], [1, -aspect], [1, aspect], [-1, aspect], [-1, -aspect]])
    elif kind == "star":
        angles = -np.pi / 2 + np.arange(6) * 4 * np.pi / 5
        points = c + r * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        xs = np.linspace(-r, r, int(rng.integers(4, 8)))
        points = np.stack([xs, np.tile([-0.4 * r, 0.4 * r], len(xs))[: len(xs)]], axis=1) + c
    points = points + rng.normal(0, 3, points.shape)
    return _stroke(np.clip(points, 5, CANVAS_SIZE - 5), int(rng.integers(PEN_WIDTHS[0], 25)))


KINDS = ("dots", "lines", "letters", "symbols", "scribbles", "two digits", "shapes")


def make_non_digit(kind, rng, digit_images, fonts):
    """One ink map of ``kind`` (one of KINDS); ``digit_images`` feed "two digits"."""
    makers = {
        "dots": lambda: dot(rng),
        "lines": lambda: line(rng),
        "letters": lambda: letter(rng, fonts),
        "symbols": lambda: symbol(rng, fonts),
        "scribbles": lambda: scribble(rng),
        "two digits": lambda: two_digits(rng, digit_images),
        "shapes": lambda: shape(rng),
    }
    try:
        return makers[kind]()
    except KeyError:
        raise ValueError(f"Unknown kind {kind!r}: expected one of {list(KINDS)}.") from None
