"""Time to accuracy: the class-demo preset (and, for a race, the tutorial preset) over several seeds.

Each run trains as the Train page does (60,000 MNIST images, the preset's settings) and scores the
10,000 test images every ``--every`` compiled calls and after every epoch; scoring time is taken out
of the clock. Prints, per run, the training seconds to each test-accuracy milestone and the final test
accuracy, then a table. The machine's load (``uptime``) is printed beside the figures: on shared
cores the seconds are inflated, and ``cpu_s / 2`` (the process's CPU seconds spread over 2 cores) says
what an idle 2-core machine would take.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/class_demo.py [--presets class_demo tutorial] [--seeds 0 1 2]
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn.data import load_mnist  # noqa: E402
from mnist_cnn.predict import Predictor  # noqa: E402
from mnist_cnn.training import EpochEvent, TrainingConfig, train  # noqa: E402

MILESTONES = (0.98, 0.99, 0.992)


def load_average():
    return round(os.getloadavg()[0], 1)


def time_to_accuracy(config, data, every):
    """Train ``config``; return its milestones' training seconds (and CPU seconds) and the final test accuracy."""
    x_test, y_test = data[1]
    scored = {"wall": 0.0, "cpu": 0.0, "calls": 0}
    reached = {}
    curve = []
    started_cpu = time.process_time()

    def score(model, event):
        scored["calls"] += 1
        if not isinstance(event, EpochEvent) and scored["calls"] % every:
            return
        wall, cpu = time.perf_counter(), time.process_time()
        accuracy = float((Predictor(model).probabilities(x_test, batch_size=1000).argmax(1) == y_test).mean())
        training_seconds = event.elapsed_seconds - scored["wall"]
        training_cpu = cpu - started_cpu - scored["cpu"]
        scored["wall"] += time.perf_counter() - wall
        scored["cpu"] += time.process_time() - cpu
        curve.append((round(training_seconds, 1), round(accuracy, 4)))
        for milestone in MILESTONES:
            if accuracy >= milestone and milestone not in reached:
                reached[milestone] = (training_seconds, training_cpu)

    load_before = load_average()
    with tempfile.TemporaryDirectory() as runs_root:
        result = train(config, data=data, runs_root=runs_root, on_model=score)
    record = result.record
    return {
        "preset": config.preset,
        "seed": config.seed,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "training_s": round(sum(record.epoch_history.column("seconds")) - scored["wall"], 1),
        "cpu_s": round(time.process_time() - started_cpu - scored["cpu"], 1),
        "test_accuracy": record.test_accuracy,
        **{f"s_to_{milestone:.1%}": round(reached[milestone][0], 1) if milestone in reached else None for milestone in MILESTONES},
        **{f"cpu_s_to_{milestone:.1%}": round(reached[milestone][1], 1) if milestone in reached else None for milestone in MILESTONES},
        "load_average": [load_before, load_average()],
        "curve": curve,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["class_demo"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--every", type=int, default=12, help="score the test set every this many compiled calls")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--steps-per-call", type=int, default=4)
    args = parser.parse_args()

    data = load_mnist()
    rows = []
    for seed in args.seeds:
        for preset in args.presets:  # interleaved: machine load drifts over both alike
            config = TrainingConfig.for_preset(
                preset, seed=seed, epochs=args.epochs, batch_size=args.batch_size,
                learning_rate=args.learning_rate, steps_per_call=args.steps_per_call,
            )
            row = time_to_accuracy(config, data, args.every)
            print(json.dumps(row), flush=True)
            rows.append(row)
    columns = ["preset", "seed", "training_s", "cpu_s", "test_accuracy"] + [
        f"{kind}_to_{milestone:.1%}" for kind in ("s", "cpu_s") for milestone in MILESTONES
    ] + ["load_average"]
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row[column]) for column in columns))


if __name__ == "__main__":
    main()
