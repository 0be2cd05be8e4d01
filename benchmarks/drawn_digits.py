"""How well drawn digits are read: MNIST test digits redrawn on a 280x280 canvas.

Each digit is enlarged to a random size (40-260 px), given a random pen width, placed at a random
spot, and rendered in each canvas style; the whole pipeline (canvas_to_mnist + the bundled model)
reads it. Prints JSON with the accuracy per style, the naive whole-canvas shrink, and the model's
accuracy on the same digits untouched.

    python benchmarks/drawn_digits.py [--digits 2000] [--seed 0]
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from mnist_cnn.data import load_test_set  # noqa: E402
from mnist_cnn.model import load_bundled_model  # noqa: E402
from mnist_cnn.predict import Predictor  # noqa: E402
from mnist_cnn.preprocess import canvas_to_mnist, ink_map  # noqa: E402
from support.canvas_styles import CANVAS_STYLES, place_digit, render_on_canvas  # noqa: E402


def naive_shrink(canvas):
    """What a naive app does: shrink the whole canvas (ink extracted correctly) to 28x28."""
    ink = (ink_map(canvas) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(ink).resize((28, 28), Image.Resampling.LANCZOS), np.float32) / 255.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    images, labels = load_test_set()
    images, labels = images[: args.digits], labels[: args.digits]
    predictor = Predictor(load_bundled_model())

    def accuracy(batch):
        return float((predictor.probabilities(np.stack(batch)).argmax(axis=1) == labels).mean())

    rng = np.random.default_rng(args.seed)
    placements = []
    for _ in images:
        size = int(rng.integers(40, 261))
        top, left = (int(v) for v in rng.integers(0, 281 - size, 2))
        placements.append((size, top, left, int(rng.choice([-2, 0, 0, 4, 8]))))

    results = {"digits": len(images), "clean_accuracy": accuracy(images)}
    nothing_drawn = 0
    for style in CANVAS_STYLES:
        ours, naive = [], []
        for image, (size, top, left, pen_change) in zip(images, placements, strict=False):
            canvas = render_on_canvas(place_digit(image, size, top, left, pen_change), style)
            digit = canvas_to_mnist(canvas)
            nothing_drawn += digit is None
            ours.append(np.zeros((28, 28), np.float32) if digit is None else digit)
            naive.append(naive_shrink(canvas))
        results[f"pipeline_accuracy[{style}]"] = accuracy(ours)
        results[f"naive_shrink_accuracy[{style}]"] = accuracy(naive)
    worst = min(value for key, value in results.items() if key.startswith("pipeline_accuracy"))
    results["worst_style_gap_points"] = round(100 * (results["clean_accuracy"] - worst), 2)
    results["target_gap_points"] = 1.0
    results["read_as_nothing_drawn"] = nothing_drawn
    print(json.dumps({key: round(value, 4) if isinstance(value, float) else value for key, value in results.items()}))


if __name__ == "__main__":
    main()
