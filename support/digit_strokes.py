"""Pen strokes of the ten digits, varied like a class's handwriting, for drawing in a browser.

Each digit is a template of one or two strokes in a unit box (x right, y down); :func:`digit_strokes`
gives it a random size, width, slant, rotation, place on the canvas and a little tremor, and
returns the strokes in canvas pixels, dense enough to be drawn point by point with a mouse or a
finger. These are a program's strokes, not children's handwriting: regular shapes, varied.
"""
import math

import numpy as np


def _arc(cx, cy, rx, ry, start_degrees, end_degrees, n=24):
    """Points on an ellipse from one angle to another (screen angles: 0 right, 90 down)."""
    angles = np.radians(np.linspace(start_degrees, end_degrees, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _figure_eight(n=60):
    steps = np.linspace(0, 2 * math.pi, n)
    return [(0.5 + 0.26 * math.sin(2 * s), 0.5 - 0.45 * math.cos(s)) for s in steps]


# One or more ways to write each digit: a list of strokes each.
TEMPLATES = {
    0: [[_arc(0.5, 0.5, 0.3, 0.45, -90, 275, 40)]],
    1: [[[(0.38, 0.2), (0.55, 0.04), (0.55, 0.96)]], [[(0.5, 0.04), (0.5, 0.96)]]],
    2: [[_arc(0.5, 0.3, 0.28, 0.25, 190, 380, 20) + [(0.2, 0.95), (0.85, 0.95)]]],
    3: [[_arc(0.48, 0.27, 0.25, 0.23, -160, 90, 22) + _arc(0.48, 0.72, 0.28, 0.23, -90, 160, 22)]],
    4: [[[(0.58, 0.04), (0.14, 0.66), (0.88, 0.66)], [(0.64, 0.32), (0.64, 0.97)]],
        [[(0.2, 0.04), (0.16, 0.55), (0.84, 0.55)], [(0.7, 0.08), (0.7, 0.97)]]],
    5: [[[(0.82, 0.05), (0.3, 0.05), (0.25, 0.45)] + _arc(0.48, 0.68, 0.3, 0.27, -130, 150, 22)]],
    6: [[[(0.72, 0.04), (0.45, 0.2), (0.3, 0.45)] + _arc(0.5, 0.72, 0.22, 0.23, 180, -180, 30)]],
    7: [[[(0.14, 0.07), (0.86, 0.07), (0.42, 0.96)]],
        [[(0.14, 0.07), (0.86, 0.07), (0.42, 0.96)], [(0.35, 0.5), (0.8, 0.5)]]],
    8: [[_figure_eight()]],
    9: [[_arc(0.5, 0.3, 0.24, 0.24, 0, -360, 30) + [(0.74, 0.3), (0.7, 0.97)]],
        [_arc(0.5, 0.3, 0.24, 0.24, 0, -360, 30) + _arc(0.44, 0.3, 0.3, 0.65, 0, 80, 12)]],
}


def _densify(points, step):
    dense = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
        dense.extend((x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1))
    return dense


def digit_strokes(digit, rng, canvas_size=280):
    """The strokes of ``digit`` as lists of (x, y) canvas pixels, varied by ``rng`` (a numpy Generator)."""
    height = rng.uniform(0.45, 0.78) * canvas_size
    width = height * rng.uniform(0.55, 0.85)
    slant = rng.uniform(-0.3, 0.15)  # x shifts by slant * (distance above the middle)
    rotation = math.radians(rng.uniform(-8, 8))
    margin = 0.08 * canvas_size
    centre_x = rng.uniform(margin + width / 2, canvas_size - margin - width / 2)
    centre_y = rng.uniform(margin + height / 2, canvas_size - margin - height / 2)
    wobble_phase, wobble = rng.uniform(0, 2 * math.pi, 2), rng.uniform(0, 0.04)  # a slow waver of the hand
    variants = TEMPLATES[digit]
    strokes = []
    for template in variants[rng.integers(len(variants))]:
        points = []
        for u, v in _densify(template, 0.03):
            u, v = u + wobble * math.sin(7 * v + wobble_phase[0]), v + wobble * math.sin(7 * u + wobble_phase[1])
            x, y = (u - 0.5) * width - slant * (v - 0.5) * height, (v - 0.5) * height
            x, y = x * math.cos(rotation) - y * math.sin(rotation), x * math.sin(rotation) + y * math.cos(rotation)
            x, y = x + centre_x + rng.normal(0, 1.2), y + centre_y + rng.normal(0, 1.2)
            points.append((float(np.clip(x, 2, canvas_size - 3)), float(np.clip(y, 2, canvas_size - 3))))
        strokes.append(points)
    return strokes
