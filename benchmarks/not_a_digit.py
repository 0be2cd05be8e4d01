"""Honest verdicts: how often a drawing that is not a digit is still claimed as one, and what it costs.

Non-digits come from ``support/non_digits.py`` (dots, lines leaning more than 45 degrees, letters in
the machine's fonts, symbols, scribbles, two MNIST digits side by side, triangles/squares/stars/zigzags;
circles, upright strokes and digit-like letters are left out because they are digits). Drawn digits
are the odd-numbered MNIST test digits redrawn on the canvas at a random size, spot, pen width and
style (``mnist_cnn.reading`` learns from even-numbered ones only). Every drawing is read twice, interleaved:

- new: ``read_drawing`` — claimed as a digit only when the verdict is "digit";
- old: the page before issue 13 — preprocessing, probabilities, a digit claimed when its
  probability is at least 60% (``read_probabilities(...).confident``).

Prints JSON: per kind the share not claimed as a digit, digits read right, digits wrongly rejected,
and milliseconds per drawing (median, both ways, same run).

    python benchmarks/not_a_digit.py [--digits 1500] [--per-kind 200] [--seed 0] [--model RUN/model.keras]
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from mnist_cnn.data import load_test_set  # noqa: E402
from mnist_cnn.model import load_bundled_model, load_model  # noqa: E402
from mnist_cnn.predict import Predictor  # noqa: E402
from mnist_cnn.preprocess import canvas_to_mnist  # noqa: E402
from mnist_cnn.reading import UNSURE_QUANTILE, drawing_reader, judge, read_drawing, read_probabilities  # noqa: E402
from support.canvas_styles import CANVAS_STYLES, render_on_canvas  # noqa: E402
from support.non_digits import KINDS, font_files, make_non_digit, random_drawing  # noqa: E402
from support.reference_digits import EVALUATION_INDICES  # noqa: E402


def old_reading(canvas, predictor):
    """The Draw page before issue 13: a digit whenever the top probability is at least 60%."""
    image = canvas_to_mnist(canvas)
    if image is None:
        return None
    reading = read_probabilities(predictor.probabilities(image)[0])
    return reading.digit if reading.confident else None


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=1500)
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="a .keras file (default: the bundled model)")
    parser.add_argument("--sweep", default="0.95,0.97,0.98,0.99,0.995", help="other held-out quantiles to report")
    args = parser.parse_args()

    images, labels = load_test_set()
    images, labels = images[EVALUATION_INDICES], labels[EVALUATION_INDICES]
    predictor = Predictor(load_model(args.model) if args.model else load_bundled_model())
    reader, fit_ms = timed(drawing_reader, predictor)
    rng = np.random.default_rng(args.seed)
    fonts = font_files()

    drawings = []  # (kind, canvas, true digit or None)
    for index in rng.choice(len(images), min(args.digits, len(images)), replace=False):
        style = CANVAS_STYLES[len(drawings) % len(CANVAS_STYLES)]
        drawings.append(("digits", random_drawing(images[index], rng, style), int(labels[index])))
    for kind in KINDS:
        for _ in range(args.per_kind):
            style = CANVAS_STYLES[len(drawings) % len(CANVAS_STYLES)]
            drawings.append((kind, render_on_canvas(make_non_digit(kind, rng, images, fonts), style), None))

    new_ms, old_ms = [], []
    outcomes = {kind: {"new": [], "old": [], "verdicts": [], "readings": []} for kind in ("digits", *KINDS)}
    for position, (kind, canvas, _) in enumerate(drawings):
        # Interleaved A B B A so that machine load falls on both ways alike.
        order = (read_drawing, old_reading) if position % 2 == 0 else (old_reading, read_drawing)
        for function in order:
            result, ms = timed(function, canvas, predictor)
            if function is read_drawing:
                new_ms.append(ms)
                outcomes[kind]["verdicts"].append(result.verdict)
                outcomes[kind]["new"].append(result.digit)
                outcomes[kind]["readings"].append(result)
            else:
                old_ms.append(ms)
                outcomes[kind]["old"].append(result)

    digits = outcomes["digits"]
    truth = [digit for kind, _, digit in drawings if kind == "digits"]
    report = {
        "model": args.model or "bundled",
        "digits": len(truth),
        "non_digits_per_kind": args.per_kind,
        "digits_read_right": round(float(np.mean([a == b for a, b in zip(digits["new"], truth, strict=True)])), 4),
        "digits_read_right_old": round(float(np.mean([a == b for a, b in zip(digits["old"], truth, strict=True)])), 4),
        "digits_wrongly_rejected": round(float(np.mean([verdict != "digit" for verdict in digits["verdicts"]])), 4),
        "digits_read_as_another_digit": round(
            float(np.mean([a is not None and a != b for a, b in zip(digits["new"], truth, strict=True)])), 4
        ),
        "target": {"non_digits_not_claimed": 0.9, "digits_read_right": 0.97},
    }
    for kind in KINDS:
        report[f"not_claimed[{kind}]"] = round(float(np.mean([digit is None for digit in outcomes[kind]["new"]])), 4)
        report[f"not_claimed_old[{kind}]"] = round(float(np.mean([digit is None for digit in outcomes[kind]["old"]])), 4)
        verdicts = outcomes[kind]["verdicts"]
        report[f"verdicts[{kind}]"] = {verdict: verdicts.count(verdict) for verdict in sorted(set(verdicts))}
    report["not_claimed_all_kinds"] = round(float(np.mean([report[f"not_claimed[{kind}]"] for kind in KINDS])), 4)
    report["not_claimed_all_kinds_old"] = round(float(np.mean([report[f"not_claimed_old[{kind}]"] for kind in KINDS])), 4)
    # The same readings judged at other thresholds: the trade-off between the two targets.
    sweep = {}
    for quantile in [float(value) for value in args.sweep.split(",") if value]:
        threshold = float(np.quantile(reader.held_out_distances, quantile))

        def claimed(reading, threshold=threshold):
            if reading.verdict == "blank":
                return None
            return judge(reading.image, reading.probabilities, reading.distance, reading.shape, threshold).digit

        right = np.mean([claimed(r) == t for r, t in zip(digits["readings"], truth, strict=True)])
        rejected = {kind: float(np.mean([claimed(r) is None for r in outcomes[kind]["readings"]])) for kind in KINDS}
        sweep[str(quantile)] = {
            "digits_read_right": round(float(right), 4),
            "not_claimed_all_kinds": round(float(np.mean(list(rejected.values()))), 4),
            "not_claimed_worst_kind": round(min(rejected.values()), 4),
        }
    report["sweep_unsure_quantile"] = sweep
    report["unsure_quantile"] = UNSURE_QUANTILE
    report["ms_per_drawing_median"] = round(float(np.median(new_ms)), 2)
    report["ms_per_drawing_median_old"] = round(float(np.median(old_ms)), 2)
    report["ms_ratio_new_over_old"] = round(float(np.median(np.array(new_ms) / np.array(old_ms))), 2)
    report["fit_per_model_ms"] = round(fit_ms)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
