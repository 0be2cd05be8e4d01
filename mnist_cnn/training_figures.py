"""Plotly figures of training: the live run and an overlay of saved runs."""
import threading
import time

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

RAW_COLOUR = "rgba(29, 78, 216, 0.25)"
SMOOTH_COLOUR = "#1d4ed8"
TRAIN_COLOUR = "#0f766e"
VALIDATION_COLOUR = "#c2410c"
# Beyond this many batches the raw curve is thinned for the browser; the smoothed curve stays exact.
MAX_RAW_POINTS = 1500


def smooth(values, weight=0.9):
    """Exponential moving average with bias correction (as TensorBoard smooths curves)."""
    values = np.asarray(values, dtype=float)
    smoothed = np.empty_like(values)
    average = 0.0
    for index, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        smoothed[index] = average / (1 - weight ** (index + 1))
    return smoothed


def _thin(steps, values):
    stride = max(1, int(np.ceil(len(steps) / MAX_RAW_POINTS)))
    return steps[::stride], values[::stride]


def training_figure(batch_steps, batch_losses, batch_accuracies, epoch_history, epochs):
    """Loss (top) and accuracy (bottom) against epochs: per batch raw and smoothed, per epoch
    training and validation. ``epoch_history`` has lists under epoch, loss, accuracy, val_loss, val_accuracy."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=("loss (log scale)", "accuracy"))
    steps = np.asarray(batch_steps, dtype=float)
    for row, values, name in ((1, batch_losses, "loss"), (2, batch_accuracies, "accuracy")):
        values = np.asarray(values, dtype=float)
        raw_steps, raw_values = _thin(steps, values)
        figure.add_trace(
            go.Scatter(x=raw_steps, y=raw_values, mode="lines", line=dict(color=RAW_COLOUR, width=1),
                       name=f"batch {name}", legendgroup="batch", showlegend=row == 1),
            row=row, col=1,
        )
        figure.add_trace(
            go.Scatter(x=steps, y=smooth(values) if len(values) else values, mode="lines",
                       line=dict(color=SMOOTH_COLOUR, width=2.5), name="batch, smoothed",
                       legendgroup="smooth", showlegend=row == 1),
            row=row, col=1,
        )
        for key, colour, label in ((name, TRAIN_COLOUR, "epoch, training"), (f"val_{name}", VALIDATION_COLOUR, "epoch, validation")):
            figure.add_trace(
                go.Scatter(x=epoch_history["epoch"], y=epoch_history[key], mode="lines+markers",
                           line=dict(color=colour, width=2), marker=dict(size=8), name=label,
                           legendgroup=label, showlegend=row == 1),
                row=row, col=1,
            )
    figure.update_xaxes(range=[0, max(epochs, 1)], title_text="epoch", row=2, col=1)
    figure.update_yaxes(type="log", row=1, col=1)  # late, small losses stay readable beside the first ones
    figure.update_yaxes(range=[0, 1.02], tickformat=".0%", row=2, col=1)
    figure.update_layout(height=560, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.12),
                         uirevision="live")  # keeps zoom and legend choices across refreshes
    return figure


def snapshot_figure(snapshot):
    """The live run of a :class:`~mnist_cnn.run_manager.RunSnapshot`."""
    history = {key: [getattr(event, key) for event in snapshot.epoch_events]
               for key in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")}
    epochs = snapshot.config.epochs if snapshot.config else 1
    return training_figure(snapshot.batch_steps, snapshot.batch_losses, snapshot.batch_accuracies, history, epochs)


class SharedLiveFigure:
    """The live run's figure, shared by every viewer and rebuilt at most every ``max_age`` seconds.

    Building the figure costs ~20 ms; a class of 30 spectators each building their own every
    second would take a whole CPU core away from training.
    """

    def __init__(self, max_age=0.5):
        self.max_age = max_age
        self._lock = threading.Lock()
        self._figure = None
        self._built_from = None  # (run folder, snapshot version)
        self._built_at = 0.0

    def figure(self, snapshot):
        """The figure of ``snapshot``'s run: current, or at most ``max_age`` seconds old."""
        with self._lock:
            same_run = self._built_from is not None and self._built_from[0] == snapshot.run_dir
            fresh = time.monotonic() - self._built_at < self.max_age
            if not same_run or (self._built_from[1] != snapshot.version and not fresh):
                self._figure = snapshot_figure(snapshot)
                self._built_from = (snapshot.run_dir, snapshot.version)
                self._built_at = time.monotonic()
            return self._figure


def metrics_figure(metrics):
    """A saved run's history (its ``metrics.json``) in the same layout as the live view."""
    batches = metrics["batch_history"]
    per_epoch = max(batches["batch"], default=1)
    steps = [epoch - 1 + batch / per_epoch for epoch, batch in zip(batches["epoch"], batches["batch"], strict=False)]
    return training_figure(steps, batches["loss"], batches["accuracy"], metrics["epoch_history"], metrics["config"]["epochs"])


def runs_overlay_figure(runs):
    """Validation accuracy and loss per epoch of several runs: ``runs`` is ``[(label, metrics), ...]``."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("validation accuracy", "validation loss"))
    for label, metrics in runs:
        history = metrics.get("epoch_history", {})
        for column, key in ((1, "val_accuracy"), (2, "val_loss")):
            figure.add_trace(
                go.Scatter(x=history.get("epoch", []), y=history.get(key, []), mode="lines+markers", name=label,
                           legendgroup=label, showlegend=column == 1),
                row=1, col=column,
            )
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(tickformat=".1%", row=1, col=1)
    figure.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.2))
    return figure
