import dataclasses
from pathlib import Path

import numpy as np
import pytest

from classroom.run_manager import RunSnapshot
from mnist_cnn.paths import BUNDLED_RUN_DIR
from mnist_cnn.run_record import RunRecord, read_run_record
from mnist_cnn.training import BatchEvent, TrainingConfig
from mnist_cnn.training_figures import (
    BACKGROUND_COLOUR,
    MAX_RAW_POINTS,
    MAX_SMOOTH_POINTS,
    SharedFigure,
    SharedLiveFigure,
    loss_axis_range,
    record_figure,
    smooth,
    snapshot_figure,
    training_figure,
    x_axis_end,
)


def test_smoothing_starts_at_the_first_value_and_follows_a_step():
    values = [1.0] * 5 + [0.0] * 200
    smoothed = smooth(values)
    assert smoothed[0] == pytest.approx(1.0)  # bias-corrected, not pulled towards zero
    assert smoothed[4] == pytest.approx(1.0)
    assert smoothed[-1] < 0.01 and np.all(np.diff(smoothed[5:]) <= 0)


def test_long_runs_are_thinned_for_the_browser_and_the_smoothing_uses_every_batch():
    n = 3 * MAX_RAW_POINTS
    losses = np.where(np.arange(n) % 3 == 0, 3.0, 0.0)  # thinning by 3 keeps only the 3.0s
    figure = training_figure(np.arange(n) / 100, losses, np.linspace(0.1, 1, n), {
        key: [] for key in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")}, epochs=10)
    raw, smoothed = figure.data[0], figure.data[1]
    assert len(raw.y) <= MAX_RAW_POINTS and len(smoothed.y) <= MAX_SMOOTH_POINTS
    stride = int(np.ceil(n / MAX_RAW_POINTS))
    assert raw.x is None and (raw.x0, raw.dx) == pytest.approx((0, stride / 100))  # evenly spaced: a start and a step
    assert 0.8 < smoothed.y[-1] < 1.3  # near the mean of every batch (1.0), not of the kept ones (3.0)


def training_snapshot(positions, epochs=10, run_dir="run-a", version=0, batches=100):
    """A live run's snapshot with a batch at each of ``positions`` (in epochs, multiples of 1/``batches``)."""
    config = TrainingConfig.for_preset("tutorial", epochs=epochs)
    record = RunRecord(config=dataclasses.asdict(config), batches_per_epoch=batches)
    event = None
    for done, loss, accuracy in zip(positions, np.linspace(2.3, 0.05, len(positions)), np.linspace(0.1, 0.99, len(positions)),
                                    strict=True):
        epoch, batch = divmod(round(done * batches) - 1, batches)
        event = BatchEvent(epoch=epoch + 1, epochs=epochs, batch=batch + 1, batches=batches, loss=loss, accuracy=accuracy,
                           samples_per_second=1000.0, elapsed_seconds=1.0)
        record.batch_history.append(event)
    return RunSnapshot(state="training", config=config, run_dir=Path(run_dir), record=record,
                       batch_count=len(positions), last_batch=event, version=version)


def snapshot(run_dir, version):
    return training_snapshot((0.1, 0.2), epochs=2, run_dir=run_dir, version=version)


def test_shared_live_figure_is_built_once_for_many_viewers_and_refreshed_after_max_age(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("mnist_cnn.training_figures.time.monotonic", lambda: clock[0])
    shared = SharedLiveFigure(max_age=0.5)
    first = shared.figure(snapshot("run-a", 1))
    assert shared.figure(snapshot("run-a", 2)) is first  # a newer batch, but the figure is fresh enough
    clock[0] += 0.6
    refreshed = shared.figure(snapshot("run-a", 3))
    assert refreshed is not first
    clock[0] += 5.0
    assert shared.figure(snapshot("run-a", 3)) is refreshed  # nothing new: no rebuild even when old
    assert shared.figure(snapshot("run-b", 1)) is not refreshed  # another run is never served stale


def test_two_rooms_watched_at_once_each_keep_their_figure_and_the_least_recent_goes(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("mnist_cnn.training_figures.time.monotonic", lambda: clock[0])
    shared = SharedLiveFigure(max_age=0.5, max_runs=2)
    room_a, room_b = shared.figure(snapshot("run-a", 1)), shared.figure(snapshot("run-b", 1))
    for _ in range(3):  # the rooms' spectators refresh in turn: nothing is built again
        clock[0] += 1.0
        assert shared.figure(snapshot("run-a", 1)) is room_a and shared.figure(snapshot("run-b", 1)) is room_b
    shared.figure(snapshot("run-c", 1))  # a third run: the least recently shown (a) goes
    assert shared.figure(snapshot("run-b", 1)) is room_b and shared.figure(snapshot("run-a", 1)) is not room_a


def test_the_live_figure_shows_the_points_the_snapshot_counted_not_those_appended_since():
    live = training_snapshot((0.1, 0.2, 0.3), epochs=1)
    counted = dataclasses.replace(live, batch_count=2)
    raw = snapshot_figure(counted).data[0]
    assert list(raw.y) == pytest.approx(list(live.record.batch_history.column("loss", 2)), rel=5e-3)  # 3 significant digits
    assert [raw.x0 + i * raw.dx for i in range(len(raw.y))] == pytest.approx([0.1, 0.2])


def test_the_figure_every_spectator_downloads_every_second_stays_small():
    """No named template (plotly_white's 7 kB), evenly spaced steps as a start and a step, a few hundred short numbers."""
    import plotly.io

    sent = plotly.io.to_json(record_figure(read_run_record(BUNDLED_RUN_DIR)))  # 10 epochs, 4,220 batches
    assert len(sent) < 16_000, len(sent)


def test_a_shared_figure_makes_its_dict_once_and_it_is_the_figure_s_own():
    import json

    import plotly.io
    import plotly.tools

    live = snapshot_figure(snapshot("run-a", 1))
    shared = SharedLiveFigure().figure(snapshot("run-a", 1))
    assert isinstance(shared, SharedFigure)
    # What st.plotly_chart makes of a figure, on every call, for every viewer:
    as_sent = plotly.tools.return_figure_from_figure_or_data(shared, validate_figure=True)
    assert as_sent is plotly.tools.return_figure_from_figure_or_data(shared, validate_figure=True)
    assert json.loads(plotly.io.to_json(as_sent)) == json.loads(plotly.io.to_json(live.to_dict()))


def relative_luminance(colour):
    red, green, blue = (int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first, second):
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula_matches_wcag_examples():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def live_snapshot(progress_epochs, epochs=10, run_dir="run-a"):
    steps = tuple(np.linspace(0.01, progress_epochs, 50)) if progress_epochs else ()
    return training_snapshot(steps, epochs=epochs, run_dir=run_dir)


@pytest.mark.parametrize(
    "make_figure", [lambda: snapshot_figure(live_snapshot(1.3)), lambda: record_figure(read_run_record(BUNDLED_RUN_DIR))]
)
def test_text_is_large_and_dark_enough_for_a_projector(make_figure):
    figure = make_figure()
    layout = figure.layout
    assert layout.paper_bgcolor == layout.plot_bgcolor == BACKGROUND_COLOUR
    fonts = [layout.legend.font, layout.font] + [axis.tickfont for axis in (layout.xaxis, layout.xaxis2, layout.yaxis, layout.yaxis2)]
    fonts += [annotation.font for annotation in layout.annotations]  # the subplot titles
    for font in fonts:
        assert font.size >= 16, font
        assert contrast(font.color, BACKGROUND_COLOUR) >= 4.5, font


def test_loss_axis_is_labelled_at_decades_only_and_the_batch_line_is_visible():
    figure = snapshot_figure(live_snapshot(1.3))
    loss_axis = figure.layout.yaxis
    assert loss_axis.type == "log"
    labels = dict(zip(loss_axis.tickvals, loss_axis.ticktext, strict=True))
    assert {labels[0.01], labels[0.1], labels[1]} == {"0.01", "0.1", "1"}
    assert all(np.log10(value) == round(np.log10(value)) for value in loss_axis.tickvals)  # no minor-tick labels
    raw = figure.data[0]
    assert raw.name == "batch" and raw.line.width >= 1.5
    assert contrast(raw.line.color, BACKGROUND_COLOUR) >= 3  # WCAG's minimum for graphics


@pytest.mark.parametrize("losses", [[2.3, 2.1, 1.4], [0.35, 0.21], [0.04], [0.0009, 0.5], [250.0, 14.0], [], [float("nan"), 0.0]])
def test_the_loss_axis_always_shows_labelled_decades_whatever_the_losses(losses):
    """A run stopped after a few batches (losses between 1 and 2.3) once drew its loss axis with no number."""
    figure = training_figure(np.arange(len(losses)) / 10, losses, [0.5] * len(losses),
                             {"epoch": [], "loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}, epochs=1)
    low, high = figure.layout.yaxis.range
    shown = [tick for tick in figure.layout.yaxis.tickvals if low <= np.log10(tick) <= high]
    assert len(shown) >= 2, (losses, low, high)
    finite = [loss for loss in losses if np.isfinite(loss) and loss > 0]
    assert all(low <= np.log10(loss) <= high for loss in finite if 1e-3 <= loss <= 100)  # every point in view
    assert loss_axis_range([0.5], [None], [0.02]) == [-2, 0]  # epoch losses count too, and a missing one is skipped


def test_x_axis_grows_with_the_run_and_stops_at_its_end():
    ends = [x_axis_end(progress, epochs=10) for progress in np.linspace(0, 10, 400)]
    assert ends[0] >= 0.2 and ends[0] <= 0.5  # the first minute of a 10-epoch run is not 2% of the width
    assert all(later >= earlier for earlier, later in zip(ends, ends[1:], strict=False))
    assert all(end >= progress for end, progress in zip(ends, np.linspace(0, 10, 400), strict=True))
    assert ends[-1] == 10 and max(ends) == 10
    assert len(set(ends)) < 20  # grows in steps, not on every refresh
    assert snapshot_figure(live_snapshot(1.3)).layout.xaxis.range[1] == x_axis_end(1.3, 10) < 10
    assert x_axis_end(0.9, epochs=1) == 1  # never beyond a short run


def test_a_run_without_batches_yet_has_the_same_chart_empty():
    waiting, running = snapshot_figure(live_snapshot(0)), snapshot_figure(live_snapshot(0.5))
    assert waiting.layout.height == running.layout.height
    assert len(waiting.data) == len(running.data) and all(len(trace.x) == 0 for trace in waiting.data)
    assert waiting.layout.uirevision == running.layout.uirevision == str(Path("run-a"))
    assert snapshot_figure(live_snapshot(0.5, run_dir="run-b")).layout.uirevision != running.layout.uirevision
