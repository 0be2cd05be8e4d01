"""The training loop shared by the command line, the Train page and the benchmarks.

It keeps the images as uint8 (the model's first layer scales them), runs several batches per
compiled call (Python overhead per batch dominates on a small CPU) while still reporting every
batch, validates on a held-out slice of the training set after every epoch, checkpoints the run
folder after every epoch, and checks for a stop request between calls.
"""
import dataclasses
import math
import platform
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from mnist_cnn.data import MNIST_TRAINING_IMAGES, load_mnist
from mnist_cnn.fused_optimizer import apply_gradients
from mnist_cnn.model import OPTIMIZERS, build_model, save_model_atomically
from mnist_cnn.paths import runs_dir
from mnist_cnn.presets import DEFAULT_PRESET, PRESETS, get_preset
from mnist_cnn.run_folder import MODEL_FILE, RunState, check_runs_folder, new_run_dir
from mnist_cnn.run_record import BatchPoint, EpochPoint, RunRecord, epochs_done, save_run_record

BOUNDS = {
    "epochs": (1, 30),
    "batch_size": (16, 1024),
    "learning_rate": (1e-5, 1.0),
    "train_size": (1000, MNIST_TRAINING_IMAGES),
    "validation_split": (0.02, 0.5),
    "seed": (0, 2**31 - 1),
    "steps_per_call": (1, 64),
    "class_held_out": (0.1, 0.9),
    "class_repeats": (1, 100),
}
MIN_CLASS_DIGITS = 10  # fewer cannot be split into digits to learn from and digits to test on
EVALUATION_BATCH_SIZE = 1000
_DEFAULT = get_preset(DEFAULT_PRESET)


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that defines a training run. Use :meth:`for_preset` to start from a preset's defaults."""

    preset: str = _DEFAULT.name
    epochs: int = _DEFAULT.epochs
    batch_size: int = _DEFAULT.batch_size
    optimizer: str = _DEFAULT.optimizer
    learning_rate: float = _DEFAULT.learning_rate
    train_size: int = MNIST_TRAINING_IMAGES
    validation_split: float = 0.1
    scale_pixels: bool = True
    seed: int = 0
    steps_per_call: int = 4
    # Train on us: add the class set's digits, a share of them held out (stratified, by the seed) to
    # test on; each training digit is shown class_repeats times an epoch, or a few hundred would be lost in 54,000.
    use_class_set: bool = False
    class_held_out: float = 0.3
    class_repeats: int = 10

    @classmethod
    def for_preset(cls, preset=DEFAULT_PRESET, **overrides):
        spec = get_preset(preset)
        defaults = dict(
            preset=preset,
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            optimizer=spec.optimizer,
            learning_rate=spec.learning_rate,
        )
        defaults.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**defaults).validated()

    def validated(self):
        """Return self, or raise ValueError naming every setting that is out of bounds."""
        problems = []
        if self.preset not in PRESETS:
            problems.append(f"preset: expected one of {sorted(PRESETS)}, got {self.preset!r}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer: expected one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}")
        for name in ("scale_pixels", "use_class_set"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name}: expected True or False, got {getattr(self, name)!r}")
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            integral = isinstance(low, int)
            valid_type = isinstance(value, int) if integral else isinstance(value, (int, float))
            if isinstance(value, bool) or not valid_type or not low <= value <= high or value != value:
                kind = "an integer" if integral else "a number"
                problems.append(f"{name}: expected {kind} from {low:g} to {high:g}, got {value!r}")
        if not problems and self.validation_size < 1:
            problems.append("validation_split: leaves no validation images; use a larger split or training set")
        if problems:
            raise ValueError("Invalid training settings: " + "; ".join(problems) + ".")
        return self

    @property
    def validation_size(self):
        return int(round(self.train_size * self.validation_split))

    @property
    def fit_size(self):
        return self.train_size - self.validation_size


@dataclass(frozen=True, kw_only=True)
class BatchEvent(BatchPoint):
    """A batch's point of the history, with what only the live run shows."""

    epochs: int
    batches: int
    samples_per_second: float
    elapsed_seconds: float

    @property
    def epochs_done(self):
        return epochs_done(self.epoch, self.batch, self.batches)

    @property
    def progress(self):
        return self.epochs_done / self.epochs


@dataclass(frozen=True, kw_only=True)
class EpochEvent(EpochPoint):
    """An epoch's point of the history, with what only the live run shows."""

    epochs: int
    samples_per_second: float
    elapsed_seconds: float

    @property
    def progress(self):
        return self.epoch / self.epochs


@dataclass
class TrainingResult:
    run_dir: object
    model: keras.Model
    record: RunRecord


def split_training_data(x_train, y_train, config):
    """The run's random training subset, split into (fit, validation) parts by the run's seed."""
    order = np.random.default_rng(config.seed).permutation(len(x_train))[: config.train_size]
    fit_part, validation_part = order[: config.fit_size], order[config.fit_size :]
    return (x_train[fit_part], y_train[fit_part]), (x_train[validation_part], y_train[validation_part])


def split_class_digits(images, labels, held_out, seed):
    """``((fit_x, fit_y), (held_x, held_y))``: the class set split per label (stratified), by ``seed``.

    Each label with at least two digits gives round(n * held_out) of them, at least one and never
    all, to the held-out part; a label with one digit trains.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        if len(members) >= 2:
            held.extend(members[: min(len(members) - 1, max(1, round(len(members) * held_out)))])
    held_mask = np.zeros(len(labels), bool)
    held_mask[np.asarray(held, dtype=np.int64)] = True
    return (images[~held_mask], labels[~held_mask]), (images[held_mask], labels[held_mask])


def check_class_data(config, class_data):
    """The class set's (images, labels) as uint8 arrays when ``config`` trains on it (else None), or ValueError."""
    if not config.use_class_set:
        return None
    if class_data is None:
        raise ValueError("Training on the class set needs its digits; none were given.")
    images, labels = (np.asarray(part) for part in class_data)
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28) or labels.shape != (len(images),):
        raise ValueError(f"Expected the class set as (n, 28, 28) uint8 images and n labels, got {images.shape} {images.dtype}.")
    if len(images) < MIN_CLASS_DIGITS:
        raise ValueError(
            f"Training on the class set needs at least {MIN_CLASS_DIGITS} class digits, some to learn from and some to "
            f"test on; it has {len(images)}. Give more digits on the Draw page."
        )
    if np.bincount(labels).max() < 2:
        raise ValueError("Training on the class set needs two digits of one label at least, one to learn and one to test.")
    return images, labels.astype(np.uint8)


def _as_model_input(images):
    # Raw 0-255 values: the model's input_scaling layer does the scaling.
    return tf.cast(images, tf.float32)[..., None]


class _CompiledSteps:
    """The model's training and evaluation steps as traced TensorFlow functions.

    The training images stay in memory as one uint8 tensor; each step gathers its batch by
    index and casts it in the graph. That is four times less memory than float32 copies and
    avoids a per-image input pipeline, which costs more than the network on a small CPU.
    """

    def __init__(self, model, images, labels, config):
        self.model = model
        self.images = tf.constant(images)
        self.labels = tf.constant(labels)
        self.batch_size = config.batch_size
        self.loss_function = keras.losses.CategoricalCrossentropy(reduction=None)
        self.fused_optimizer = True  # see mnist_cnn/fused_optimizer.py; False for the Keras path (benchmarks)

    def _one_step(self, images, targets):
        with tf.GradientTape() as tape:
            probabilities = self.model(images, training=True)
            loss = tf.reduce_mean(self.loss_function(targets, probabilities))
        variables = self.model.trainable_variables
        apply_gradients(self.model.optimizer, tape.gradient(loss, variables), variables, fused=self.fused_optimizer)
        correct = tf.equal(tf.argmax(probabilities, axis=-1), tf.argmax(targets, axis=-1))
        return loss, tf.reduce_mean(tf.cast(correct, tf.float32))

    def train_steps(self, order, first_batch, steps):
        """Train on batches ``first_batch ..`` of ``order`` (a permutation of the images);
        return each batch's loss and accuracy."""
        return self._train_steps(self.images, self.labels, order, first_batch, steps)

    # The images go in as arguments, not captured from self: TensorFlow keeps a traced graph's
    # captures after the run ends (a server would hold every run's 47 MB of training images).
    @tf.function(reduce_retracing=True)
    def _train_steps(self, all_images, all_labels, order, first_batch, steps):
        losses = tf.TensorArray(tf.float32, size=steps)
        accuracies = tf.TensorArray(tf.float32, size=steps)
        for step in tf.range(steps):
            start = (first_batch + step) * self.batch_size
            indices = order[start : start + self.batch_size]
            images = _as_model_input(tf.gather(all_images, indices))
            targets = tf.one_hot(tf.cast(tf.gather(all_labels, indices), tf.int32), 10)
            loss, accuracy = self._one_step(images, targets)
            losses = losses.write(step, loss)
            accuracies = accuracies.write(step, accuracy)
        return losses.stack(), accuracies.stack()

    @tf.function(reduce_retracing=True)
    def evaluate_batch(self, images, labels):
        """Summed loss and number of correct predictions for a batch of uint8 images."""
        probabilities = self.model(_as_model_input(images), training=False)
        targets = tf.one_hot(tf.cast(labels, tf.int32), 10)
        correct = tf.equal(tf.argmax(probabilities, axis=-1), tf.cast(labels, tf.int64))
        return tf.reduce_sum(self.loss_function(targets, probabilities)), tf.reduce_sum(tf.cast(correct, tf.int32))

    def evaluate(self, images, labels):
        """Mean loss and accuracy over uint8 images, in large batches."""
        total_loss, total_correct = 0.0, 0
        for start in range(0, len(images), EVALUATION_BATCH_SIZE):
            loss, correct = self.evaluate_batch(
                images[start : start + EVALUATION_BATCH_SIZE], labels[start : start + EVALUATION_BATCH_SIZE]
            )
            total_loss += float(loss)
            total_correct += int(correct)
        return total_loss / len(images), total_correct / len(images)


def _library_versions():
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


class _RunRecorder:
    """Appends a run's history to its :class:`RunRecord` and keeps ``metrics.json`` and ``model.keras`` up to date;
    ``on_saved(run_dir)`` after every save (a copy elsewhere: its failures never stop the run)."""

    def __init__(self, run_dir, record, model, on_saved=None):
        self.run_dir = run_dir
        self.record = record
        self.model = model
        self.on_saved = on_saved
        self.save_record()

    def add_batch(self, event):
        self.record.batch_history.append(event)

    def add_epoch(self, event):
        self.record.epoch_history.append(event)
        self.record.wall_seconds = event.elapsed_seconds
        # Checkpoint: a killed server leaves the model of the last completed epoch.
        save_model_atomically(self.model, self.run_dir / MODEL_FILE)
        self.save_record()

    def finish(self, status, test_loss, test_accuracy, test_size, wall_seconds):
        self.record.status, self.record.test_loss, self.record.test_accuracy = status, test_loss, test_accuracy
        self.record.test_size, self.record.wall_seconds = test_size, wall_seconds
        self.record.finished_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        save_model_atomically(self.model, self.run_dir / MODEL_FILE)
        self.save_record()

    def save_record(self):
        save_run_record(self.record, self.run_dir)
        if self.on_saved is not None:
            try:
                self.on_saved(self.run_dir)
            except Exception:  # the run folder has it; the next save copies it again
                traceback.print_exc()


def train(config, data=None, on_event=None, stop_requested=None, runs_root=None, run_dir=None, class_data=None, on_model=None,
          record=None, on_saved=None):
    """Train a model as ``config`` says and save its run folder.

    ``data`` is ``((x_train, y_train), (x_test, y_test))`` as uint8 arrays (default: :func:`load_mnist`).
    ``class_data`` is the class set's ``(images, labels)``, used when ``config.use_class_set``: its
    held-out share is scored at the end as ``class_test_accuracy`` beside MNIST's ``test_accuracy``.
    The run's :class:`RunRecord` is ``record`` (a new one by default), filled in as the run goes: a
    caller that keeps it can read the history while it grows.
    ``on_event`` receives a :class:`BatchEvent` for every batch and an :class:`EpochEvent` after
    every epoch. ``stop_requested`` (a ``threading.Event``) stops the run between batches; the
    partly trained model is kept and the run is marked ``stopped``. The run folder is ``run_dir``
    or a new folder under ``runs_root`` (default ``runs/``). ``on_model(model, event)`` is called in the
    training thread after every compiled call (with its last batch's event) and after every epoch, for
    watchers of the live model (the prediction wall) that must not touch it from another thread.
    ``on_saved(run_dir)`` is called after every save of the run folder (e.g. to copy it to a database).
    """
    config = config.validated()
    class_data = check_class_data(config, class_data)
    check_runs_folder(Path(run_dir).parent if run_dir is not None else (runs_root or runs_dir()))
    on_event = on_event or (lambda event: None)
    stop_requested = stop_requested or threading.Event()
    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    (fit_images, fit_labels), (validation_images, validation_labels) = split_training_data(x_train, y_train, config)
    class_held_out = None
    if class_data is not None:
        (class_fit_images, class_fit_labels), class_held_out = split_class_digits(*class_data, config.class_held_out, config.seed)
        fit_images = np.concatenate([fit_images, np.repeat(class_fit_images, config.class_repeats, axis=0)])
        fit_labels = np.concatenate([fit_labels, np.repeat(class_fit_labels, config.class_repeats)]).astype(fit_labels.dtype)
    fit_size = len(fit_images)
    batches = math.ceil(fit_size / config.batch_size)

    keras.utils.set_random_seed(config.seed)
    model = build_model(
        config.preset,
        config.optimizer,
        config.learning_rate,
        decay_steps=config.epochs * batches,
        scale_pixels=config.scale_pixels,
    )
    steps = _CompiledSteps(model, fit_images, fit_labels, config)
    shuffler = np.random.default_rng(config.seed)
    if run_dir is None:
        run_dir = new_run_dir(runs_root or runs_dir(), config.preset)
    record = record if record is not None else RunRecord()
    record.status, record.config, record.parameters = RunState.TRAINING, dataclasses.asdict(config), model.count_params()
    record.started_at, record.batches_per_epoch, record.versions = time.strftime("%Y-%m-%dT%H:%M:%S%z"), batches, _library_versions()
    if class_data is not None:
        record.class_set = {
            "digits": len(class_data[1]), "trained_on": len(class_data[1]) - len(class_held_out[1]),
            "held_out": len(class_held_out[1]), "repeats": config.class_repeats,
        }
    recorder = _RunRecorder(run_dir, record, model, on_saved)

    started = time.perf_counter()
    status = RunState.FINISHED
    for epoch in range(1, config.epochs + 1):
        epoch_started = time.perf_counter()
        order = tf.constant(shuffler.permutation(fit_size).astype(np.int32))
        loss_sum = correct_sum = 0.0
        seen = 0
        batch = 0
        while batch < batches and not stop_requested.is_set():
            call_started = time.perf_counter()
            count = min(config.steps_per_call, batches - batch)
            losses, accuracies = steps.train_steps(order, tf.constant(batch), tf.constant(count))
            call_seconds = time.perf_counter() - call_started
            call_samples = min(count * config.batch_size, fit_size - batch * config.batch_size)  # the last batch is short
            for loss, accuracy in zip(losses.numpy().tolist(), accuracies.numpy().tolist(), strict=False):
                batch += 1
                size = min(config.batch_size, fit_size - (batch - 1) * config.batch_size)
                loss_sum += loss * size
                correct_sum += accuracy * size
                seen += size
                event = BatchEvent(
                    epoch=epoch,
                    epochs=config.epochs,
                    batch=batch,
                    batches=batches,
                    loss=loss,
                    accuracy=accuracy,
                    samples_per_second=call_samples / call_seconds,
                    elapsed_seconds=time.perf_counter() - started,
                )
                recorder.add_batch(event)
                on_event(event)
            if on_model is not None:
                on_model(model, event)
        if batch < batches:  # stopped mid-epoch; a stop during its last call still records the finished epoch
            status = RunState.STOPPED
            break
        val_loss, val_accuracy = steps.evaluate(validation_images, validation_labels)
        epoch_seconds = time.perf_counter() - epoch_started
        event = EpochEvent(
            epoch=epoch,
            epochs=config.epochs,
            loss=loss_sum / seen,
            accuracy=correct_sum / seen,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            seconds=epoch_seconds,
            samples_per_second=seen / epoch_seconds,
            elapsed_seconds=time.perf_counter() - started,
        )
        recorder.add_epoch(event)
        on_event(event)
        if on_model is not None:
            on_model(model, event)

    test_loss, test_accuracy = steps.evaluate(x_test, y_test)
    if class_held_out is not None:
        record.class_test_loss, record.class_test_accuracy = steps.evaluate(*class_held_out)
        record.class_test_size = len(class_held_out[1])
    recorder.finish(status, test_loss, test_accuracy, len(x_test), time.perf_counter() - started)
    return TrainingResult(run_dir=run_dir, model=model, record=record)
