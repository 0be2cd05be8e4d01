"""Time to score the 10,000 bundled test digits for the Mistakes page, against Keras's `model.predict`.

    python benchmarks/score_test_set.py [--model PATH] [--repeats 5]

"cold" is what the first visitor waits for: load the model file, trace the compiled forward
pass, score every digit and collect the mistakes. "warm" is scoring again with the same
predictor (after that the page serves the cached result). Target: cold at most 5 s.
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from mnist_cnn.data import load_test_set  # noqa: E402
from mnist_cnn.mistakes import find_mistakes  # noqa: E402
from mnist_cnn.model import load_model  # noqa: E402
from mnist_cnn.paths import BUNDLED_MODEL_PATH  # noqa: E402
from mnist_cnn.predict import Predictor  # noqa: E402


def seconds(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_PATH)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    images, labels = load_test_set()

    def cold_start():
        predictor = Predictor(load_model(args.model))
        probabilities = predictor.probabilities(images)
        return predictor, probabilities, find_mistakes(labels, probabilities)

    cold_seconds, (predictor, probabilities, mistakes) = seconds(cold_start)
    warm = [seconds(lambda: find_mistakes(labels, predictor.probabilities(images)))[0] for _ in range(args.repeats)]
    model = predictor.model
    model.predict(images[:128, ..., None].astype("float32"), verbose=0)  # warm-up
    keras_predict = [
        seconds(lambda: model.predict(images[..., None].astype("float32"), verbose=0))[0] for _ in range(args.repeats)
    ]
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    print(
        json.dumps(
            {
                "model": str(args.model),
                "digits": len(labels),
                "mistakes": len(mistakes),
                "accuracy": round(accuracy, 4),
                "cold_seconds": round(cold_seconds, 3),
                "warm_median_seconds": round(float(np.median(warm)), 3),
                "keras_predict_median_seconds": round(float(np.median(keras_predict)), 3),
                "target_cold_seconds": 5.0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
