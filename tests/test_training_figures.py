from pathlib import Path

import numpy as np
import pytest

from mnist_cnn.run_manager import RunSnapshot
from mnist_cnn.training import TrainingConfig
from mnist_cnn.training_figures import MAX_RAW_POINTS, SharedLiveFigure, smooth, training_figure


def test_smoothing_starts_at_the_first_value_and_follows_a_step():
    values = [1.0] * 5 + [0.0] * 200
    smoothed = smooth(values)
    assert smoothed[0] == pytest.approx(1.0)  # bias-corrected, not pulled towards zero
    assert smoothed[4] == pytest.approx(1.0)
    assert smoothed[-1] < 0.01 and np.all(np.diff(smoothed[5:]) <= 0)


def test_long_runs_are_thinned_for_the_browser_but_the_smoothed_curve_is_exact():
    n = 3 * MAX_RAW_POINTS
    figure = training_figure(np.arange(n) / 100, np.linspace(2, 0.1, n), np.linspace(0.1, 1, n), {
        key: [] for key in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")}, epochs=10)
    raw, smoothed = figure.data[0], figure.data[1]
    assert len(raw.x) <= MAX_RAW_POINTS and len(smoothed.x) == n


def snapshot(run_dir, version):
    config = TrainingConfig.for_preset("tutorial", epochs=2)
    return RunSnapshot(state="training", config=config, run_dir=Path(run_dir), batch_steps=(0.1, 0.2),
                       batch_losses=(2.0, 1.5), batch_accuracies=(0.2, 0.4), version=version)


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
