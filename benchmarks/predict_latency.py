"""Latency of one drawing: canvas_to_mnist plus prediction, against `model.predict` on the same input.

    python benchmarks/predict_latency.py [--repeats 300]
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from mnist_cnn.data import load_test_set  # noqa: E402
from mnist_cnn.model import load_bundled_model  # noqa: E402
from mnist_cnn.predict import Predictor  # noqa: E402
from mnist_cnn.preprocess import canvas_to_mnist  # noqa: E402
from support.canvas_styles import place_digit, render_on_canvas  # noqa: E402


def timings_ms(function, inputs):
    function(inputs[0])  # warm-up: tracing happens once per process
    result = []
    for item in inputs:
        started = time.perf_counter()
        function(item)
        result.append((time.perf_counter() - started) * 1000)
    return np.array(result)


def summary(values):
    return {"median_ms": round(float(np.median(values)), 2), "p95_ms": round(float(np.percentile(values, 95)), 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()

    images, _ = load_test_set()
    rng = np.random.default_rng(0)
    canvases = []
    for index in range(args.repeats):
        size = int(rng.integers(60, 261))
        top, left = (int(v) for v in rng.integers(0, 281 - size, 2))
        canvases.append(render_on_canvas(place_digit(images[index], size, top, left), "light ink on dark"))
    model = load_bundled_model()
    predictor = Predictor(model)

    ours = timings_ms(lambda canvas: predictor.probabilities(canvas_to_mnist(canvas)), canvases)
    preprocessing = timings_ms(canvas_to_mnist, canvases)
    keras_predict = timings_ms(lambda canvas: model.predict(canvas_to_mnist(canvas)[None, ..., None], verbose=0), canvases[:100])
    print(
        json.dumps(
            {
                "canvas": "280x280 RGBA",
                "repeats": args.repeats,
                "pipeline_with_fast_predictor": summary(ours),
                "canvas_to_mnist_only": summary(preprocessing),
                "pipeline_with_model_predict": summary(keras_predict),
                "speedup_median": round(float(np.median(keras_predict) / np.median(ours)), 1),
                "target_median_ms": 10,
            }
        )
    )


if __name__ == "__main__":
    main()
