"""What does the prediction wall cost training? The same managed run with and without it.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/prediction_wall.py [--rounds 3] [--epochs 2] [--train-size 20000]

Runs go through the Train page's RunManager, alternating with, without, without, with, ... so that
drifting load on a shared machine hits both alike. Speed is images trained per second of the whole
run (``wall_seconds``: batches, validation, the wall's work after each epoch, and the final test
scoring, which is the same for both). Also reports the seconds spent inside the wall (guesses every
second, per-class accuracy after each epoch). Prints JSON; the target ratio is >= 0.95.
"""
import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from classroom.run_manager import RunManager  # noqa: E402
from mnist_cnn.data import load_mnist  # noqa: E402
from mnist_cnn.prediction_wall import PredictionWall  # noqa: E402
from mnist_cnn.run_record import read_run_record  # noqa: E402
from mnist_cnn.training import TrainingConfig  # noqa: E402

wall_seconds_spent = []
_watch = PredictionWall.watch


def timed_watch(self, model, event):
    started = time.perf_counter()
    try:
        return _watch(self, model, event)
    finally:
        wall_seconds_spent[-1] += time.perf_counter() - started


PredictionWall.watch = timed_watch


def managed_run(config, data, root, with_wall):
    wall_seconds_spent.append(0.0)
    manager = RunManager(root, load_data=lambda: data, prediction_wall=with_wall)
    run_dir = manager.start(config)
    manager.wait()
    snapshot = manager.snapshot()
    assert snapshot.state == "finished", snapshot.message
    assert (snapshot.wall is not None) == with_wall
    record = read_run_record(run_dir)
    return config.fit_size * record.completed_epochs / record.wall_seconds, record.wall_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3, help="each round is one run with and one without the wall")
    args = parser.parse_args()

    data = load_mnist()
    config = TrainingConfig.for_preset("tutorial", epochs=args.epochs, train_size=args.train_size)
    speeds = {True: [], False: []}
    seconds_in_wall = []
    with tempfile.TemporaryDirectory() as root:
        managed_run(dataclasses.replace(config, epochs=1, train_size=2000), data, root, True)  # warm-up, not counted
        for round_index in range(args.rounds):
            order = (True, False) if round_index % 2 == 0 else (False, True)
            for with_wall in order:
                speed, run_seconds = managed_run(config, data, root, with_wall)
                speeds[with_wall].append(speed)
                if with_wall:
                    seconds_in_wall.append((wall_seconds_spent[-1], run_seconds))
    print(json.dumps({
        "config": {key: getattr(config, key) for key in ("epochs", "train_size", "batch_size")},
        "order": "interleaved: with, without, without, with, ...",
        "with_wall_samples_per_second": [round(v) for v in speeds[True]],
        "without_wall_samples_per_second": [round(v) for v in speeds[False]],
        "ratio": round(float(np.mean(speeds[True]) / np.mean(speeds[False])), 3),
        "ratio_of_medians": round(float(np.median(speeds[True]) / np.median(speeds[False])), 3),
        "seconds_inside_the_wall_per_run": [round(spent, 2) for spent, _ in seconds_in_wall],
        "share_of_run_inside_the_wall": round(float(np.mean([spent / total for spent, total in seconds_in_wall])), 4),
        "target_ratio": 0.95,
    }, indent=2))


if __name__ == "__main__":
    main()
