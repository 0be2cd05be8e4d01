"""Plotly figures of training: the live run and an overlay of saved runs."""
import collections
import threading
import time

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Projector-readable: dark text, large type, a raw-batch line that survives a washed-out projector.
TEXT_COLOUR = "#111827"  # contrast 17.7:1 on the white background
BACKGROUND_COLOUR = "#ffffff"
FONT_SIZE = 18
RAW_COLOUR = "#5b86e5"  # 3.5:1 on white, lighter than the smoothed line
RAW_WIDTH = 1.5
SMOOTH_COLOUR = "#1d4ed8"
TRAIN_COLOUR = "#0f766e"
VALIDATION_COLOUR = "#c2410c"
CHART_HEIGHT = 560
# Decades only: a log axis otherwise labels its minor ticks "2, 5" without the decade.
LOSS_TICKS = (0.001, 0.01, 0.1, 1, 10, 100)
EMPTY_LOSS_DECADES = (-2, 1)  # 0.01 to 10: where a run's losses start, before its first batch
# The live x axis ends at the first of these (in epochs) that leaves room beyond the progress.
X_AXIS_ENDS = (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30)
X_AXIS_HEADROOM = 1.15
# Beyond this many points a curve is thinned for the browser (the smoothing uses every batch): every
# spectator downloads the whole figure every second, and the chart is ~1000 px wide.
MAX_RAW_POINTS = 400
MAX_SMOOTH_POINTS = 200
SIGNIFICANT_DIGITS = 3  # of the values sent: a chart shows no more, and short numbers compress well


def smooth(values, weight=0.9):
    """Exponential moving average with bias correction (as TensorBoard smooths curves)."""
    values = np.asarray(values, dtype=float)
    smoothed = np.empty_like(values)
    average = 0.0
    for index, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        smoothed[index] = average / (1 - weight ** (index + 1))
    return smoothed


def loss_axis_range(*loss_series):
    """The loss axis's range (log10 units) from whole decade to whole decade around every positive loss:
    labels sit at decades only, and a range inside one decade (a run stopped after a few batches at
    losses between 1 and 2.3) would show no number at all."""
    values = np.concatenate([np.asarray(series, dtype=float).ravel() for series in loss_series] or [np.empty(0)])
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return list(EMPTY_LOSS_DECADES)
    low, high = np.log10(values.min()), np.log10(values.max())
    lowest, highest = int(np.log10(LOSS_TICKS[0])), int(np.log10(LOSS_TICKS[-1]))
    low = max(int(np.floor(low)), lowest)
    high = min(max(int(np.ceil(high)), low + 1), highest)
    return [min(low, high - 1), high]


def _rounded(values, digits=SIGNIFICANT_DIGITS):
    """Plain numbers with ``digits`` significant digits (not arrays: plotly would send those as 8 base64 characters a number)."""
    return [float(f"{value:.{digits}g}") if np.isfinite(value) else None for value in np.asarray(values, dtype=float)]


def _thin(steps, values, max_points):
    """Every k-th point, as plotly arguments: evenly spaced steps (the batches of a run) as a start and a
    step (``x0``, ``dx``) instead of a list, the values rounded."""
    stride = max(1, int(np.ceil(len(steps) / max_points)))
    kept = np.asarray(steps, dtype=float)[::stride]
    values = _rounded(np.asarray(values)[::stride])
    if len(kept) >= 2 and np.allclose(np.diff(kept), kept[1] - kept[0], rtol=1e-6, atol=0):
        return dict(x0=float(kept[0]), dx=float(kept[1] - kept[0]), y=values)
    return dict(x=_rounded(kept, digits=6), y=values)


def x_axis_end(progress_epochs, epochs):
    """Where the live x axis ends: a little beyond the progress (in epochs), never beyond the run.

    It grows in steps, so the chart does not rescale on every refresh."""
    wanted = max(progress_epochs * X_AXIS_HEADROOM, X_AXIS_ENDS[0])
    end = next((value for value in X_AXIS_ENDS if value >= wanted), wanted)
    return float(min(end, max(epochs, X_AXIS_ENDS[0])))


def _axis_style(font_size):
    return dict(tickfont=dict(size=font_size, color=TEXT_COLOUR), title_font=dict(size=font_size, color=TEXT_COLOUR),
                color=TEXT_COLOUR, gridcolor="#d1d5db", linecolor=TEXT_COLOUR, showline=True, ticks="outside",
                zeroline=False, automargin=True, title_standoff=15)


def training_figure(batch_steps, batch_losses, batch_accuracies, epoch_history, epochs, x_end=None, height=CHART_HEIGHT,
                    revision="live", font_size=FONT_SIZE):
    """Loss (top) and accuracy (bottom) against epochs: per batch raw and smoothed, per epoch
    training and validation. ``epoch_history`` has lists under epoch, loss, accuracy, val_loss, val_accuracy.

    The x axis ends at ``x_end`` epochs (default: the whole run); ``revision`` is plotly's
    ``uirevision``: zoom and legend choices last while it stays the same."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, subplot_titles=("loss (log scale)", "accuracy"))
    steps = np.asarray(batch_steps, dtype=float)
    for row, values, name in ((1, batch_losses, "loss"), (2, batch_accuracies, "accuracy")):
        values = np.asarray(values, dtype=float)
        figure.add_trace(
            go.Scatter(**_thin(steps, values, MAX_RAW_POINTS), mode="lines", line=dict(color=RAW_COLOUR, width=RAW_WIDTH),
                       name="batch", legendgroup="batch", showlegend=row == 1, hoverinfo="skip"),
            row=row, col=1,
        )
        figure.add_trace(
            go.Scatter(**_thin(steps, smooth(values) if len(values) else values, MAX_SMOOTH_POINTS), mode="lines",
                       line=dict(color=SMOOTH_COLOUR, width=3.5),
                       name="batch, smoothed", legendgroup="smooth", showlegend=row == 1),
            row=row, col=1,
        )
        for key, colour, label in ((name, TRAIN_COLOUR, "epoch, training"), (f"val_{name}", VALIDATION_COLOUR, "epoch, validation")):
            figure.add_trace(
                go.Scatter(x=epoch_history["epoch"], y=_rounded(epoch_history[key], digits=4), mode="lines+markers",
                           line=dict(color=colour, width=3), marker=dict(size=11), name=label,
                           legendgroup=label, showlegend=row == 1),
                row=row, col=1,
            )
    figure.update_xaxes(range=[0, x_end if x_end is not None else max(epochs, 1)], **_axis_style(font_size))
    figure.update_xaxes(title_text="epoch", row=2, col=1)
    figure.update_yaxes(**_axis_style(font_size))
    # Log scale: late, small losses stay readable beside the first ones.
    losses = (batch_losses, epoch_history["loss"], epoch_history["val_loss"])
    figure.update_yaxes(type="log", tickvals=LOSS_TICKS, ticktext=[f"{tick:g}" for tick in LOSS_TICKS], range=loss_axis_range(*losses),
                        minor=dict(showgrid=False, ticks=""), row=1, col=1)
    figure.update_yaxes(range=[0, 1.02], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%", row=2, col=1)
    figure.update_annotations(font=dict(size=font_size + 2, color=TEXT_COLOUR))  # the subplot titles
    figure.update_layout(
        # No named template: plotly_white's 7 kB went to every spectator every second; what it set is set here.
        template=go.layout.Template(), hovermode="closest", height=height, paper_bgcolor=BACKGROUND_COLOUR, plot_bgcolor=BACKGROUND_COLOUR,
        font=dict(size=font_size, color=TEXT_COLOUR), margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=-0.2, yanchor="top", font=dict(size=font_size, color=TEXT_COLOUR)),
        uirevision=revision,
    )
    return figure


def record_figure(record, batch_count=None, epoch_count=None, x_end=None, revision="saved", height=CHART_HEIGHT,
                  font_size=FONT_SIZE):
    """A :class:`~mnist_cnn.run_record.RunRecord`'s history (its first ``batch_count`` batches and
    ``epoch_count`` epochs, or all), over the run's epochs or up to ``x_end``."""
    batches = record.batch_history.columns(batch_count)
    return training_figure(record.batch_epochs(batch_count), batches["loss"], batches["accuracy"],
                           record.epoch_history.columns(epoch_count), record.config.get("epochs", 1), x_end=x_end,
                           height=height, revision=revision, font_size=font_size)


def snapshot_figure(snapshot, height=CHART_HEIGHT, font_size=FONT_SIZE):
    """The live run of a :class:`~classroom.run_manager.RunSnapshot`: its x axis grows with the run.

    Before the first batch it is the same chart, empty, so the page keeps its height."""
    epochs = snapshot.config.epochs if snapshot.config else 1
    progress_epochs = snapshot.last_batch.epochs_done if snapshot.last_batch else 0.0
    revision = str(snapshot.run_dir) if snapshot.run_dir else "live"
    return record_figure(snapshot.record, snapshot.batch_count, snapshot.epoch_count, revision=revision,
                         x_end=x_axis_end(progress_epochs, epochs), height=height, font_size=font_size)


class SharedFigure(go.Figure):
    """A figure shown to many viewers and left unchanged once built: its dict, which st.plotly_chart
    makes from it on every call (42% of the server's chart time with 60 spectators), is made once."""

    def __init__(self, figure):
        super().__init__(figure)
        self._shared_dict = super().to_dict()

    def to_dict(self):
        return self._shared_dict


class SharedLiveFigure:
    """The figures of the runs being watched (the live run of every class room, and each one's last run), shared
    by every viewer and each rebuilt at most every ``max_age`` seconds; the ``max_runs`` most recently shown kept.

    Building a figure costs ~20 ms; a class of 30 spectators each building their own every second would take a
    whole CPU core away from training, and so would rooms that each rebuilt the other's figure in turn.
    """

    def __init__(self, max_age=0.5, height=CHART_HEIGHT, font_size=FONT_SIZE, max_runs=64):
        self.max_age = max_age
        self.height = height
        self.font_size = font_size
        self.max_runs = max_runs
        self._lock = threading.Lock()
        self._built = collections.OrderedDict()  # run folder -> (figure, snapshot version, when built)

    def figure(self, snapshot):
        """The figure of ``snapshot``'s run: current, or at most ``max_age`` seconds old."""
        with self._lock:
            figure, version, built_at = self._built.get(snapshot.run_dir, (None, None, 0.0))
            if figure is None or (version != snapshot.version and time.monotonic() - built_at >= self.max_age):
                figure = SharedFigure(snapshot_figure(snapshot, height=self.height, font_size=self.font_size))
                self._built[snapshot.run_dir] = (figure, snapshot.version, time.monotonic())
            self._built.move_to_end(snapshot.run_dir)
            while len(self._built) > self.max_runs:
                self._built.popitem(last=False)
            return figure


def runs_overlay_figure(runs):
    """Validation accuracy and loss per epoch of several runs: ``runs`` is ``[(label, RunRecord), ...]``."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("validation accuracy", "validation loss"))
    for label, record in runs:
        history = record.epoch_history
        for column, key in ((1, "val_accuracy"), (2, "val_loss")):
            figure.add_trace(
                go.Scatter(x=history.column("epoch"), y=history.column(key), mode="lines+markers", name=label,
                           legendgroup=label, showlegend=column == 1),
                row=1, col=column,
            )
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(tickformat=".1%", row=1, col=1)
    figure.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.2))
    return figure
