"""Do live charts slow training? The same short run headless and through the Train page's run manager.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/train_overhead.py [--readers 1] [--rounds 2]

The managed run is watched by ``--readers`` threads that each do, once per second, what a
visitor's Train page does: take a snapshot, get the live plotly figure (shared by all visitors,
rebuilt at most twice a second) and serialize it for the browser. Runs alternate headless, managed, managed, headless...
so that drifting machine load
hits both alike. Prints JSON with training samples/s of each and their ratio (target >= 0.95).
"""
import argparse
import dataclasses
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import plotly.io  # noqa: E402

from classroom.run_manager import RunManager  # noqa: E402
from mnist_cnn.data import load_mnist  # noqa: E402
from mnist_cnn.run_folder import RunState  # noqa: E402
from mnist_cnn.run_record import read_run_record  # noqa: E402
from mnist_cnn.training import TrainingConfig, train  # noqa: E402
from mnist_cnn.training_figures import SharedLiveFigure  # noqa: E402


def training_samples_per_second(record):
    """Images trained per second of epoch time (data loading and test scoring excluded)."""
    config = record.config
    fit_size = config["train_size"] - round(config["train_size"] * config["validation_split"])
    return fit_size * record.completed_epochs / sum(record.epoch_history.column("seconds"))


def headless(config, data, root):
    return training_samples_per_second(train(config, data=data, runs_root=root).record)


def managed(config, data, root, readers):
    manager = RunManager(root, load_data=lambda: data)
    stop_reading = threading.Event()
    polls = []
    shared_figure = SharedLiveFigure()  # one per server, as the page's st.cache_resource keeps it

    def watch_like_the_page():
        while not stop_reading.wait(1.0):
            started = time.perf_counter()
            snapshot = manager.snapshot()
            if snapshot.batch_count:
                plotly.io.to_json(shared_figure.figure(snapshot), validate=False)
            polls.append(time.perf_counter() - started)

    watchers = [threading.Thread(target=watch_like_the_page, daemon=True) for _ in range(readers)]
    for watcher in watchers:
        watcher.start()
    run_dir = manager.start(config)
    manager.wait()
    stop_reading.set()
    for watcher in watchers:
        watcher.join()
    assert manager.snapshot().state == RunState.FINISHED, manager.snapshot().message
    return training_samples_per_second(read_run_record(run_dir)), polls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--readers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="each round is one headless and one managed run")
    args = parser.parse_args()

    data = load_mnist()
    manager_steps_per_call = RunManager(tempfile.mkdtemp()).steps_per_call
    # Both sides train exactly what the page trains, compiled calls of the same size included.
    config = TrainingConfig.for_preset(
        "tutorial", epochs=args.epochs, train_size=args.train_size, steps_per_call=manager_steps_per_call
    )
    headless_sps, managed_sps, poll_seconds = [], [], []
    with tempfile.TemporaryDirectory() as root:
        for round_index in range(args.rounds):
            order = ("headless", "managed") if round_index % 2 == 0 else ("managed", "headless")
            for kind in order:
                if kind == "headless":
                    headless_sps.append(headless(config, data, root))
                else:
                    sps, polls = managed(config, data, root, args.readers)
                    managed_sps.append(sps)
                    poll_seconds.extend(polls)
    print(
        json.dumps(
            {
                "config": {
                    k: v for k, v in dataclasses.asdict(config).items() if k in ("epochs", "train_size", "batch_size", "steps_per_call")
                },
                "readers": args.readers,
                "headless_samples_per_second": [round(v) for v in headless_sps],
                "managed_samples_per_second": [round(v) for v in managed_sps],
                "ratio": round(float(np.mean(managed_sps) / np.mean(headless_sps)), 3),
                "reader_poll_median_ms": round(float(np.median(poll_seconds)) * 1000, 1) if poll_seconds else None,
                "target_ratio": 0.95,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
