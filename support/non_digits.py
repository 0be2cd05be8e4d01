"""Drawings that are not one digit, made the way a visitor would draw them on the 280x280 canvas.

Used by tests and ``benchmarks/not_a_digit.py`` to check that the Draw page does not claim a digit
for a dot, a line, a letter (typed or drawn), a symbol, a scribble, two digits side by side, a shape,
a face, an arrow or tick, a crossed-out digit, a digit with a stray mark, or any of these drawn tiny or
with a very thick pen. Every maker returns an ink map (floats in [0, 1], ``canvas_size`` square) for
``support.canvas_styles.render_on_canvas``. ``KIND_GROUPS`` splits the kinds in two, so that a method
can be chosen on one group and judged on the other.

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


def _arc(cx, cy, rx, ry, start, end, points=16):
    """Points of an elliptic arc in unit-box coordinates, angles in degrees (0 = right, 90 = down)."""
    angles = np.radians(np.linspace(start, end, points))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


# Letters as a hand draws them, polylines in a unit box (x right, y down); none in DIGIT_LIKE_LETTERS.
HAND_LETTERS = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.6), (0.78, 0.6)]],
    "C": [_arc(0.55, 0.5, 0.45, 0.5, -50, -310)],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.75, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.75, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55), (1, 1)]],
    "M": [[(0, 1), (0.05, 0), (0.5, 0.7), (0.95, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "P": [[(0, 1), (0, 0)] + _arc(0, 0.27, 0.75, 0.27, -90, 90)],
    "R": [[(0, 1), (0, 0)] + _arc(0, 0.27, 0.75, 0.27, -90, 90) + [(1, 1)]],
    "U": [[(0, 0)] + _arc(0.5, 0.5, 0.5, 0.5, 180, 0) + [(1, 0)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "a": [_arc(0.45, 0.6, 0.45, 0.4, -20, 340), [(0.9, 0.2), (0.95, 1)]],
    "e": [[(0.05, 0.55), (0.95, 0.55)] + _arc(0.5, 0.55, 0.45, 0.45, 0, -320)],
    "h": [[(0, 0), (0, 1)], [(0, 0.7)] + _arc(0.45, 0.65, 0.45, 0.3, 200, 360) + [(0.9, 1)]],
    "k": [[(0, 0), (0, 1)], [(0.8, 0.4), (0, 0.75), (0.85, 1)]],
    "m": [[(0, 1), (0, 0.35)] + _arc(0.25, 0.5, 0.25, 0.2, 180, 360) + [(0.5, 1)],
          [(0.5, 0.55)] + _arc(0.75, 0.5, 0.25, 0.2, 180, 360) + [(1, 1)]],
    "n": [[(0, 1), (0, 0.3)] + _arc(0.5, 0.5, 0.5, 0.3, 180, 360) + [(1, 1)]],
    "r": [[(0, 1), (0, 0.2)], [(0, 0.5)] + _arc(0.5, 0.45, 0.5, 0.25, 180, 300)],
    "t": [[(0.45, 0), (0.45, 0.85)] + _arc(0.75, 0.85, 0.3, 0.15, 180, 60), [(0.05, 0.3), (0.95, 0.3)]],
    "u": [[(0, 0.2)] + _arc(0.45, 0.6, 0.45, 0.4, 180, 0), [(0.9, 0.2), (1, 1)]],
    "w": [[(0, 0.2), (0.2, 1), (0.5, 0.4), (0.8, 1), (1, 0.2)]],
    "x": [[(0, 0.2), (1, 1)], [(1, 0.2), (0, 1)]],
    "y": [[(0, 0), (0.5, 0.55)], [(1, 0), (0.2, 1)]],
    "f": [_arc(0.7, 0.2, 0.3, 0.2, 0, -180) + [(0.4, 1)], [(0.1, 0.45), (0.8, 0.45)]],
}


def _place(polylines, rng, size=None, pen=None, wobble=0.02, canvas_size=CANVAS_SIZE):
    """Ink of unit-box polylines drawn ``size`` pixels tall (and slanted, stretched, wobbled a little by hand)."""
    size = rng.uniform(90, 240) if size is None else size
    pen = int(rng.integers(PEN_WIDTHS[0], 25)) if pen is None else pen
    slant, aspect = rng.uniform(-0.25, 0.25), rng.uniform(0.6, 1.1)
    points = [np.asarray(line, np.float64) for line in polylines]
    points = [np.stack([(p[:, 0] - 0.5) * aspect + slant * (0.5 - p[:, 1]), p[:, 1] - 0.5], axis=1) for p in points]
    points = [p + rng.normal(0, wobble, p.shape) for p in points]
    every = np.concatenate(points)
    span = np.ptp(every, axis=0).max()
    points = [p * size / span for p in points]
    every = np.concatenate(points)
    low, high = every.min(axis=0) - pen / 2, every.max(axis=0) + pen / 2
    margin = np.maximum(canvas_size - (high - low), 0)
    shift = -low + rng.uniform(0, 1, 2) * margin
    return _strokes([np.clip(p + shift, 2, canvas_size - 2) for p in points], pen)


def hand_letter(rng, size=None, pen=None):
    """A letter drawn with pen strokes (see HAND_LETTERS)."""
    return _place(HAND_LETTERS[str(rng.choice(list(HAND_LETTERS)))], rng, size, pen)


def _face_polylines(rng):
    kind = rng.choice(["smiley", "frowny", "no head", "cat", "sun", "heart", "surprised"])
    eye_y, eye_dx = rng.uniform(0.3, 0.42), rng.uniform(0.13, 0.22)
    eyes = [[(0.5 + side * eye_dx, eye_y), (0.5 + side * eye_dx + 0.01, eye_y + rng.uniform(0.01, 0.1))] for side in (-1, 1)]
    head = [_arc(0.5, 0.5, 0.5, 0.5, rng.uniform(-100, -60), rng.uniform(260, 300), 32)]
    smile = [_arc(0.5, rng.uniform(0.5, 0.6), rng.uniform(0.18, 0.28), rng.uniform(0.1, 0.2), 20, 160)]
    if kind == "smiley":
        return head + eyes + smile
    if kind == "frowny":
        return head + eyes + [_arc(0.5, 0.8, 0.22, 0.13, 200, 340)]
    if kind == "no head":
        return eyes + smile
    if kind == "cat":
        ears = [[(0.15, 0.3), (0.2, -0.1), (0.45, 0.05)], [(0.55, 0.05), (0.8, -0.1), (0.85, 0.3)]]
        return head + ears + eyes + smile
    if kind == "surprised":
        return head + eyes + [_arc(0.5, 0.72, 0.09, 0.09, 0, 360, 12)]
    if kind == "sun":
        rays = [[(0.5 + 0.32 * np.cos(a), 0.5 + 0.32 * np.sin(a)), (0.5 + 0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a))]
                for a in np.linspace(0, 2 * np.pi, int(rng.integers(6, 11)), endpoint=False)]
        return [_arc(0.5, 0.5, 0.22, 0.22, 0, 360, 20)] + rays
    return [_arc(0.28, 0.3, 0.22, 0.2, 150, 360, 12) + _arc(0.72, 0.3, 0.22, 0.2, 180, 390, 12) + [(0.5, 1.0)]
            + [(0.08, 0.4)]]  # a heart


def face(rng, size=None, pen=None):
    """A smiley, frowny, surprised or cat face (with or without the head), a sun or a heart."""
    return _place(_face_polylines(rng), rng, size, pen, wobble=0.015)


def _arrow_polylines(rng):
    kind = rng.choice(["tick", "tick", "arrow", "double arrow", "curved arrow"])
    if kind == "tick":
        corner = rng.uniform(0.25, 0.45)
        return [[(0, 0.55), (corner, 1), (1, 0)]]
    angle = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    head = rng.uniform(0.2, 0.35)
    if kind == "curved arrow":
        start = rng.uniform(0, 360)
        shaft = _arc(0.5, 0.5, 0.5, 0.5, start, start + rng.choice([-1, 1]) * rng.uniform(150, 250), 20)
        tip, before = np.asarray(shaft[-1]), np.asarray(shaft[-3])
        direction = (tip - before) / np.linalg.norm(tip - before)
        normal = np.array([-direction[1], direction[0]])
        return [shaft, [tip - head * (direction - normal), tip, tip - head * (direction + normal)]]
    tip, tail = 0.5 + 0.5 * direction, 0.5 - 0.5 * direction
    polylines = [[tail, tip], [tip - head * (direction - normal), tip, tip - head * (direction + normal)]]
    if kind == "double arrow":
        polylines.append([tail + head * (direction - normal), tail, tail + head * (direction + normal)])
    return polylines


def arrow_or_tick(rng, size=None, pen=None):
    """A tick, or an arrow in any direction: straight, double-headed or curved."""
    return _place(_arrow_polylines(rng), rng, size, pen, wobble=0.015)


def _digit_box(ink):
    rows, columns = np.nonzero(ink > 0.1)
    return rows.min(), rows.max(), columns.min(), columns.max()


def crossed_out_digit(rng, images):
    """An MNIST digit struck out: an X over it, hatching, or a zigzag across it."""
    size = int(rng.integers(100, 241))
    top, left = (int(v) for v in rng.integers(0, CANVAS_SIZE + 1 - size, 2))
    ink = place_digit(images[rng.integers(len(images))], size, top, left, int(rng.choice([0, 0, 4, 8])))
    y0, y1, x0, x1 = _digit_box(ink)
    kind = rng.choice(["X", "hatch", "zigzag"])
    if kind == "X":
        polylines = [[(x0, y0), (x1, y1)], [(x0, y1), (x1, y0)]]
    elif kind == "hatch":
        count = int(rng.integers(3, 6))
        polylines = [[(x0, y0 + (y1 - y0) * (i + 0.5) / count + 20), (x1, y0 + (y1 - y0) * (i + 0.5) / count - 20)]
                     for i in range(count)]
    else:
        ys = np.linspace(y0, y1, int(rng.integers(5, 9)))
        polylines = [[(x0 if i % 2 == 0 else x1, y) for i, y in enumerate(ys)]]
    polylines = [[np.asarray(point, float) + rng.normal(0, 4, 2) for point in points] for points in polylines]
    pen = max(PEN_WIDTHS[0], int(size / rng.uniform(8, 14)))
    return np.maximum(ink, _strokes(polylines, pen))


def digit_with_stray_mark(rng, images, labels):
    """An MNIST digit with a dot or dash drawn away from it, and the digit (reading it right is fine too)."""
    size = int(rng.integers(90, 200))
    top, left = (int(v) for v in rng.integers(0, CANVAS_SIZE + 1 - size, 2))
    index = rng.integers(len(images))
    ink = place_digit(images[index], size, top, left, int(rng.choice([0, 0, 4])))
    y0, y1, x0, x1 = _digit_box(ink)
    for _ in range(100):  # a spot clear of the digit by at least 15 px
        x, y = rng.uniform(10, CANVAS_SIZE - 10, 2)
        if not (x0 - 15 < x < x1 + 15 and y0 - 15 < y < y1 + 15):
            break
    length, angle = rng.uniform(0, 30), rng.uniform(0, np.pi)
    pen = max(PEN_WIDTHS[0], int(size / rng.uniform(8, 14)))
    return np.maximum(ink, _stroke([(x, y), (x + length * np.cos(angle), y + length * np.sin(angle))], pen)), int(labels[index])


def tiny_drawing(rng):
    """A drawn letter or a scribble 20-45 px across, with the thinnest pens."""
    if rng.random() < 0.7:
        return hand_letter(rng, size=rng.uniform(20, 45), pen=int(rng.integers(8, 12)))
    ink = scribble(rng)
    rows, columns = np.nonzero(ink > 0.1)
    crop = ink[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    scale = rng.uniform(20, 45) / max(crop.shape)
    small = Image.fromarray((crop * 255).astype(np.uint8)).resize(
        (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))), Image.Resampling.BILINEAR
    )
    out = np.zeros_like(ink)
    top, left = (int(v) for v in rng.integers(0, CANVAS_SIZE - 50, 2))
    out[top : top + small.height, left : left + small.width] = np.asarray(small, np.float32) / 255.0
    return out


def thick_drawing(rng):
    """A face, an arrow or a shape drawn with the widest pens (32-40 px)."""
    pen, size = int(rng.integers(32, PEN_WIDTHS[1] + 1)), rng.uniform(90, 200)
    choice = rng.integers(3)
    if choice == 0:
        return face(rng, size, pen)
    if choice == 1:
        return arrow_or_tick(rng, size, pen)
    return _place([[tuple(point) for point in _shape_points(rng)]], rng, size, pen, wobble=0.01)


def _shape_points(rng):
    """A triangle, square, star or zigzag in a unit box."""
    kind = rng.choice(["triangle", "square", "star", "zigzag"])
    if kind == "triangle":
        angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2, 4, 0]) * np.pi / 3
        return 0.5 + 0.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if kind == "square":
        return np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], float)
    if kind == "star":
        angles = -np.pi / 2 + np.arange(6) * 4 * np.pi / 5
        return 0.5 + 0.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    xs = np.linspace(0, 1, int(rng.integers(4, 8)))
    return np.stack([xs, np.tile([0.3, 0.7], len(xs))[: len(xs)]], axis=1)


# Two groups of kinds: a method or threshold is chosen on one group and judged on the other, and the reverse.
KIND_GROUPS = (
    ("dots", "lines", "letters", "hand letters", "scribbles", "crossed-out digits", "tiny drawings"),
    ("symbols", "two digits", "shapes", "faces", "arrows and ticks", "digits with a stray mark", "thick drawings"),
)
KINDS = KIND_GROUPS[0] + KIND_GROUPS[1]


def make_non_digit(kind, rng, digit_images, fonts, digit_labels=None):
    """``(ink map, digit)`` of one drawing of ``kind`` (one of KINDS); ``digit`` is None, or for "digits
    with a stray mark" the digit drawn, which a reading may name as honestly as it may withhold a digit.
    ``digit_images`` (and their ``digit_labels``) feed the kinds drawn from digits."""
    makers = {
        "dots": lambda: dot(rng),
        "lines": lambda: line(rng),
        "letters": lambda: letter(rng, fonts),
        "hand letters": lambda: hand_letter(rng),
        "symbols": lambda: symbol(rng, fonts),
        "scribbles": lambda: scribble(rng),
        "two digits": lambda: two_digits(rng, digit_images),
        "shapes": lambda: shape(rng),
        "faces": lambda: face(rng),
        "arrows and ticks": lambda: arrow_or_tick(rng),
        "crossed-out digits": lambda: crossed_out_digit(rng, digit_images),
        "digits with a stray mark": lambda: digit_with_stray_mark(rng, digit_images, digit_labels),
        "tiny drawings": lambda: tiny_drawing(rng),
        "thick drawings": lambda: thick_drawing(rng),
    }
    if kind not in makers:
        raise ValueError(f"Unknown kind {kind!r}: expected one of {list(KINDS)}.")
    drawing = makers[kind]()
    return drawing if isinstance(drawing, tuple) else (drawing, None)
