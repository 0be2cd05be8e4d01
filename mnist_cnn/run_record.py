"""One record of a training run: the training loop appends to it, ``metrics.json`` stores it, and the pages,
the CSV export, the figures and the status line read it.

Adding a metric touches two places: a field here (on :class:`RunRecord`, :class:`BatchPoint` or
:class:`EpochPoint`) and the code that computes it. ``metrics.json``'s keys, the CSV's columns and the
type checks on reading all come from these fields, so files written before a field existed stay readable.
"""
import csv
import dataclasses
import functools
import io
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path

from mnist_cnn.run_folder import METRICS_FILE, RunState, write_json_atomically

IN_CSV = "in_csv"  # metadata of an epoch field shown on the CSV's row of the epoch's last batch
POINTS = "points"  # metadata of a history field: the type of its points
REQUIRED_KEYS = ("status", "config")  # what every version wrote; any other field may be missing


def epochs_done(epoch, batch, batches_per_epoch):
    """How far a run is at batch ``batch`` of epoch ``epoch`` (both from 1), in epochs: 1.5 is half of epoch 2."""
    return epoch - 1 + batch / batches_per_epoch


@dataclass(frozen=True, kw_only=True)
class BatchPoint:
    """One training batch in a run's history."""

    epoch: int
    batch: int
    loss: float
    accuracy: float


@dataclass(frozen=True, kw_only=True)
class EpochPoint:
    """One finished epoch in a run's history."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float = field(metadata={IN_CSV: True})
    val_accuracy: float = field(metadata={IN_CSV: True})
    seconds: float


class History:
    """A run's points of one type (:class:`BatchPoint` or :class:`EpochPoint`), appended in order.

    Stored as one list per field: that is ``metrics.json``'s layout, read and plotted without an object
    per batch (a 30-epoch run has 25,000 batches), and a reader on another thread may take the first
    ``count`` of every list while the training thread appends (each append completes before it is counted).
    """

    def __init__(self, point_type, columns=None):
        self.point_type = point_type
        self.names = tuple(item.name for item in dataclasses.fields(point_type))
        self._columns = {name: [] for name in self.names} if columns is None else columns

    def append(self, point):
        """Add ``point`` (a ``point_type``, or anything with its fields, such as a training event)."""
        for name in self.names:
            self._columns[name].append(getattr(point, name))

    def column(self, name, count=None):
        """The values of field ``name`` (of the first ``count`` points, or of all)."""
        values = self._columns[name]
        return values if count is None else values[:count]

    def columns(self, count=None):
        """``{field name: values}`` of the first ``count`` points (or of all)."""
        return {name: self.column(name, count) for name in self.names}

    def __len__(self):
        return len(self._columns[self.names[0]])

    def __getitem__(self, index):
        return self.point_type(**{name: values[index] for name, values in self._columns.items()})

    def __iter__(self):
        return (self[index] for index in range(len(self)))

    def __eq__(self, other):
        return isinstance(other, History) and self.point_type is other.point_type and self.columns() == other.columns()

    def to_json(self):
        return self.columns()

    @classmethod
    def from_json(cls, point_type, data):
        """A history from ``metrics.json``'s lists; a field it lacks (added later) reads as None."""
        if not isinstance(data, dict) or not all(isinstance(values, list) for values in data.values()):
            raise ValueError(f"expected a history as lists by name, got {type(data).__name__}")
        names = [item.name for item in dataclasses.fields(point_type)]
        length = min((len(data[name]) for name in names if name in data), default=0)
        return cls(point_type, {name: list(data[name][:length]) if name in data else [None] * length for name in names})


def _history(point_type):
    return field(default_factory=lambda: History(point_type), metadata={POINTS: point_type})


@dataclass(kw_only=True)
class RunRecord:
    """Everything known about one training run. Field names are ``metrics.json``'s keys, in its order."""

    status: str = RunState.TRAINING  # a RunState, or whatever an unknown version wrote
    config: dict = field(default_factory=dict)  # the TrainingConfig's fields, as trained
    parameters: int | None = None
    started_at: str | None = None
    batches_per_epoch: int | None = None  # absent from older files: the largest batch number stands in
    batch_history: History = _history(BatchPoint)
    epoch_history: History = _history(EpochPoint)
    versions: dict = field(default_factory=dict)
    wall_seconds: float | None = None
    test_loss: float | None = None
    test_accuracy: float | None = None
    test_size: int | None = None
    class_set: dict | None = None  # for a run that trained on the class set: how its digits were used
    class_test_loss: float | None = None  # on the held-out class digits
    class_test_accuracy: float | None = None
    class_test_size: int | None = None
    finished_at: str | None = None

    @property
    def completed_epochs(self):
        return len(self.epoch_history)

    def batch_epochs(self, count=None):
        """Where each of the first ``count`` batches (or all) was, in epochs (see :func:`epochs_done`), for plotting."""
        epochs, batches = self.batch_history.column("epoch", count), self.batch_history.column("batch", count)
        per_epoch = self.batches_per_epoch or max(batches, default=1)
        return [epochs_done(epoch, batch, per_epoch) for epoch, batch in zip(epochs, batches, strict=True)]

    def to_json(self):
        """The record as ``metrics.json`` holds it; fields without a value are left out."""
        data = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is not None:
                data[item.name] = value.to_json() if isinstance(value, History) else value
        data["completed_epochs"] = self.completed_epochs  # derived, kept for readers of older versions
        return data

    @classmethod
    def from_json(cls, data):
        """A record from parsed ``metrics.json``; ValueError, KeyError or TypeError when it is not one."""
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, got {type(data).__name__}")
        values = {}
        for item in dataclasses.fields(cls):
            value = data.get(item.name)
            if POINTS in item.metadata:
                values[item.name] = History.from_json(item.metadata[POINTS], value if value is not None else {})
            elif item.name in REQUIRED_KEYS or value is not None:
                _check_type(item.name, data[item.name], _field_types(cls)[item.name])
                values[item.name] = value
        return cls(**values)

    def history_csv(self):
        """The history as CSV: one row per batch (its fields), with its epoch's CSV fields on the epoch's last batch."""
        epoch_names = [item.name for item in dataclasses.fields(self.epoch_history.point_type) if item.metadata.get(IN_CSV)]
        by_epoch = {point.epoch: point for point in self.epoch_history}
        batches = self.batch_history.columns()
        epochs = batches["epoch"]
        output = io.StringIO()
        writer = csv.writer(output)
        writer.writerow([*self.batch_history.names, *epoch_names])
        for position, row in enumerate(zip(*batches.values(), strict=True)):
            last_of_epoch = position + 1 == len(epochs) or epochs[position + 1] != epochs[position]
            finished = by_epoch.get(epochs[position]) if last_of_epoch else None
            writer.writerow([*row, *(getattr(finished, name) if finished else "" for name in epoch_names)])
        return output.getvalue()


@functools.cache
def _field_types(record_type):
    return typing.get_type_hints(record_type)


def _check_type(name, value, annotation):
    kinds = tuple(kind for kind in typing.get_args(annotation) if kind is not type(None)) or (annotation,)
    if float in kinds:
        kinds = (*kinds, int)  # JSON writes 1.0 as 1.0, but a hand-made file may say 1
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ValueError(f"expected {name} as {' or '.join(kind.__name__ for kind in kinds)}, got {value!r}")


def read_run_record(run_dir):
    """The :class:`RunRecord` in a run folder's ``metrics.json`` (OSError, ValueError, KeyError or TypeError if unreadable)."""
    with open(Path(run_dir) / METRICS_FILE) as file:
        return RunRecord.from_json(json.load(file))


def save_run_record(record, run_dir):
    """Write ``record`` as the run folder's ``metrics.json``, atomically."""
    write_json_atomically(record.to_json(), Path(run_dir) / METRICS_FILE)
