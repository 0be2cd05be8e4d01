"""Training throughput: the plain tutorial way (`model.fit` on float32 arrays) against our loop.

Both train the tutorial network in this one process on the same training images, labels, batch
size and epochs, and are scored on the test set. Each validates after every epoch its own way: the
tutorial on the test set (`validation_data=(x_test, y_test)`), our loop on its held-out slice of
the training set. Samples/s counts training images over the time of all epochs, validation
included. Prints JSON.

``--job-url URL`` (a PostgreSQL database) adds the job path: the run queued as a page queues it and trained by
a worker process (``python -m classroom worker``, started once and warmed up by a first run), which also
publishes the live run twice a second and saves every epoch into the database; timed the same way, from the
run's own epoch times. The worker trains one batch per compiled call (a Stop takes effect within a batch), so
with ``--job-url`` our loop does too.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/train_speed.py [--train-size 60000] [--epochs 2] [--pairs 3] [--before]
        [--job-url postgresql+psycopg://...]
"""
import argparse
import contextlib
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402

from classroom.class_set import ClassSet  # noqa: E402
from classroom.jobs import QueuedJobs  # noqa: E402
from mnist_cnn import training  # noqa: E402
from mnist_cnn.data import load_mnist  # noqa: E402
from mnist_cnn.model import build_model  # noqa: E402
from mnist_cnn.run_record import read_run_record  # noqa: E402
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


def train_ours(config, data, fused_optimizer=True):
    """Our loop; timed like `model.fit` above: the epochs with their validation (and checkpoints).

    ``fused_optimizer=False``: Keras's own Adam update, as before issue 28 (see mnist_cnn/fused_optimizer.py)."""
    with tempfile.TemporaryDirectory() as runs_root, _keras_optimizer(not fused_optimizer):
        result = train(config, data=data, runs_root=runs_root)
    return sum(result.record.epoch_history.column("seconds")), result.record.test_accuracy


class JobPath:
    """Runs queued on ``url`` and trained by a worker process of their own (see the module's docstring)."""

    def __init__(self, url):
        ClassSet(url).schema_revision()  # the queue's tables, as a server's first page run makes them
        self.jobs = QueuedJobs(url)
        self.runs_root = Path(tempfile.mkdtemp(prefix="train-speed-worker-"))
        self.log = open(self.runs_root.with_suffix(".log"), "wb")  # noqa: SIM115 - the worker writes it all its life
        env = {**os.environ, "MNIST_CNN_CLASS_DB_URL": url, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "classroom", "worker", "--runs", str(self.runs_root)],
            cwd=Path(__file__).resolve().parent.parent, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def train(self, config):
        before = set(self.runs_root.iterdir())
        job_id = self.jobs.start(config)
        while self.jobs.app.job_manager.list_jobs(id=job_id)[0].status in ("todo", "doing"):
            if self.worker.poll() is not None:
                raise RuntimeError("the worker process ended")
            time.sleep(0.5)
        new_runs = set(self.runs_root.iterdir()) - before
        if len(new_runs) != 1:
            raise RuntimeError(f"the worker trained no run: see {self.log.name}")
        [run_dir] = new_runs
        record = read_run_record(run_dir)
        return sum(record.epoch_history.column("seconds")), record.test_accuracy

    def close(self):
        self.worker.terminate()
        self.worker.wait(timeout=60)


@contextlib.contextmanager
def _keras_optimizer(enabled):
    original = training.apply_gradients
    if enabled:
        training.apply_gradients = functools.partial(original, fused=False)
    try:
        yield
    finally:
        training.apply_gradients = original


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps-per-call", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pairs", type=int, default=1,
        help="interleaved pairs (the order turns each pair, so drifting machine load hits both alike); pair i trains with seed + i",
    )
    parser.add_argument("--before", action="store_true", help="also our loop with Keras's Adam update, as before issue 28")
    parser.add_argument("--job-url", default=None, help="also the job path: queued on this PostgreSQL database, trained by a worker")
    args = parser.parse_args()
    if args.job_url and args.steps_per_call not in (None, 1):
        parser.error("--job-url: the worker trains one batch per call, so our loop must too (--steps-per-call 1)")
    steps_per_call = 1 if args.job_url else args.steps_per_call

    data = load_mnist()
    ways = ["plain", "ours"] + (["ours_before"] if args.before else []) + (["job"] if args.job_url else [])
    job_path = JobPath(args.job_url) if args.job_url else None
    try:
        measure(args, data, ways, job_path, steps_per_call)
    finally:
        if job_path:
            job_path.close()  # a worker left running would take the next benchmark's runs


def measure(args, data, ways, job_path, steps_per_call):
    if job_path:  # the worker's first run traces and compiles the steps: not timed
        job_path.train(TrainingConfig.for_preset("tutorial", epochs=1, train_size=1000, seed=args.seed, steps_per_call=1))
    timings = {way: [] for way in ways}
    accuracies = {way: [] for way in ways}
    loads = []
    for pair in range(args.pairs):
        config = TrainingConfig.for_preset(
            "tutorial", epochs=args.epochs, train_size=args.train_size, seed=args.seed + pair, steps_per_call=steps_per_call
        )
        fit, _ = split_training_data(*data[0], config)
        run = {
            "plain": lambda config=config, fit=fit: train_plain(config, fit, data[1]),
            "ours": lambda config=config: train_ours(config, data),
            "ours_before": lambda config=config: train_ours(config, data, fused_optimizer=False),
            "job": lambda config=config: job_path.train(config),
        }
        loads.append(round(os.getloadavg()[0], 1))
        for way in ways if pair % 2 == 0 else ways[::-1]:
            seconds, accuracy = run[way]()
            timings[way].append(seconds)
            accuracies[way].append(accuracy)
        samples = config.fit_size * config.epochs
        print(f"pair {pair + 1} (seed {config.seed}, load {loads[-1]} before): "
              + ", ".join(f"{way} {samples / timings[way][-1]:,.0f} samples/s {accuracies[way][-1]:.2%}" for way in ways)
              + f"; ours/plain {timings['plain'][-1] / timings['ours'][-1]:.2f}x", flush=True)
    samples = config.fit_size * config.epochs * args.pairs
    print(
        json.dumps(
            {
                "train_images": config.fit_size,
                "plain_validation_images": len(data[1][0]),
                "ours_validation_images": config.validation_size,
                "epochs": config.epochs,
                "batch_size": config.batch_size,
                "steps_per_call": config.steps_per_call,
                "pairs": args.pairs,
                **{f"{way}_samples_per_second": round(samples / sum(timings[way])) for way in ways},
                "speedup": round(sum(timings["plain"]) / sum(timings["ours"]), 3),
                "pair_speedups": [round(plain / ours, 3) for plain, ours in zip(timings["plain"], timings["ours"], strict=True)],
                **({"ours_over_before": round(sum(timings["ours_before"]) / sum(timings["ours"]), 3)} if args.before else {}),
                **({"job_over_ours": round(sum(timings["ours"]) / sum(timings["job"]), 3)} if job_path else {}),
                **{f"{way}_test_accuracy": [round(accuracy, 4) for accuracy in accuracies[way]] for way in ways},
                "load_average_before_each_pair": loads + [round(os.getloadavg()[0], 1)],
                "peak_rss_mb_whole_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
