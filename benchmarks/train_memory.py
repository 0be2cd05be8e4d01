"""Peak resident memory of a full 60,000-image training: the plain tutorial way against our loop.

Each way runs in its own child process so the two peaks do not mix. Prints JSON.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/train_memory.py [--epochs 1]
"""
import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def run_child(way, epochs):
    # In the child only: its peak memory is the measurement, the parent's imports must not count.
    from train_speed import train_ours, train_plain

    from mnist_cnn.data import load_mnist
    from mnist_cnn.training import TrainingConfig, split_training_data

    data = load_mnist()
    config = TrainingConfig.for_preset("tutorial", epochs=epochs)
    if way == "plain":
        fit, _ = split_training_data(*data[0], config)
        seconds, accuracy = train_plain(config, fit, data[1])
    else:
        seconds, accuracy = train_ours(config, data)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": round(peak_mb), "test_accuracy": round(accuracy, 4)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--child", choices=["plain", "ours"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(args.child, args.epochs)
    results = {}
    for way in ("plain", "ours"):
        output = subprocess.run(
            [sys.executable, __file__, "--child", way, "--epochs", str(args.epochs)],
            capture_output=True, text=True, check=True,
        ).stdout
        results[way] = json.loads(output.strip().splitlines()[-1])
    print(
        json.dumps(
            {
                "epochs": args.epochs,
                "train_images": 60000,
                "plain_peak_rss_mb": results["plain"]["peak_rss_mb"],
                "ours_peak_rss_mb": results["ours"]["peak_rss_mb"],
                "ratio_ours_to_plain": round(results["ours"]["peak_rss_mb"] / results["plain"]["peak_rss_mb"], 3),
                "target_mb": 1000,
                "plain_test_accuracy": results["plain"]["test_accuracy"],
                "ours_test_accuracy": results["ours"]["test_accuracy"],
            }
        )
    )


if __name__ == "__main__":
    main()
