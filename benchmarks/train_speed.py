"""Training throughput: the plain tutorial way (`model.fit` on float32 arrays) against our loop.

Both train the tutorial network in this one process on the same training images, labels, batch
size and epochs, and are scored on the test set. Each validates after every epoch its own way: the
tutorial on the test set (`validation_data=(x_test, y_test)`), our loop on its held-out slice of
the training set. Samples/s counts training images over the time of all epochs, validation
included. Prints JSON.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/train_speed.py [--train-size 60000] [--epochs 2]
"""
import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402

from mnist_cnn.data import load_mnist  # noqa: E402
from mnist_cnn.model import build_model  # noqa: E402
from mnist_cnn.training import TrainingConfig, split_training_data, train  # noqa: E402


def train_plain(config, fit, test):
    """The tutorial's way: float32 arrays, one-hot labels, `model.fit`, test set as validation."""
    def as_float(images):
        return images[..., None].astype("float32")  # raw 0-255: the model scales its input

    keras.utils.set_random_seed(config.seed)
    model = build_model(config.preset, config.optimizer, config.learning_rate)
    x_fit, x_test = as_float(fit[0]), as_float(test[0])
    y_fit, y_test = (keras.utils.to_categorical(labels, 10) for labels in (fit[1], test[1]))
    started = time.perf_counter()
    model.fit(x_fit, y_fit, batch_size=config.batch_size, epochs=config.epochs, validation_data=(x_test, y_test), verbose=0)
    seconds = time.perf_counter() - started
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    return seconds, test_accuracy


def train_ours(config, data):
    """Our loop; timed like `model.fit` above: the epochs with their validation (and checkpoints)."""
    with tempfile.TemporaryDirectory() as runs_root:
        result = train(config, data=data, runs_root=runs_root)
    return sum(result.metrics["epoch_history"]["seconds"]), result.metrics["test_accuracy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps-per-call", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="run the two ways in ABBA order this many times, so drifting machine load hits both alike",
    )
    args = parser.parse_args()

    data = load_mnist()
    config = TrainingConfig.for_preset(
        "tutorial", epochs=args.epochs, train_size=args.train_size, seed=args.seed, steps_per_call=args.steps_per_call
    )
    fit, _ = split_training_data(*data[0], config)
    samples = config.fit_size * config.epochs

    timings = {"plain": [], "ours": []}
    accuracies = {"plain": [], "ours": []}
    ways = {"plain": lambda: train_plain(config, fit, data[1]), "ours": lambda: train_ours(config, data)}
    for _ in range(args.rounds):
        for way in ("plain", "ours", "ours", "plain") if args.rounds > 1 else ("plain", "ours"):
            seconds, accuracy = ways[way]()
            timings[way].append(seconds)
            accuracies[way].append(accuracy)
    plain_seconds, ours_seconds = sum(timings["plain"]), sum(timings["ours"])
    plain_accuracy = sum(accuracies["plain"]) / len(accuracies["plain"])
    ours_accuracy = sum(accuracies["ours"]) / len(accuracies["ours"])
    samples *= len(timings["plain"])
    print(
        json.dumps(
            {
                "train_images": config.fit_size,
                "plain_validation_images": len(data[1][0]),
                "ours_validation_images": config.validation_size,
                "epochs": config.epochs,
                "batch_size": config.batch_size,
                "steps_per_call": config.steps_per_call,
                "trainings_per_way": len(timings["plain"]),
                "plain_samples_per_second": round(samples / plain_seconds),
                "ours_samples_per_second": round(samples / ours_seconds),
                "speedup": round(plain_seconds / ours_seconds, 3),
                "plain_test_accuracy": round(plain_accuracy, 4),
                "ours_test_accuracy": round(ours_accuracy, 4),
                "peak_rss_mb_whole_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
