import re
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from classroom.jobs import WORKER_MODE_ENV
from classroom.run_manager import get_run_manager
from classroom.runs import read_saved_run
from mnist_cnn.paths import BUNDLED_RUN_DIR, runs_dir
from mnist_cnn.run_folder import RunState
from mnist_cnn.training import BOUNDS
from support.app_server import save_screenshot, wait_for_app_idle
from support.cookie_jar import CookieJar
from ui.identity import VISITOR_COOKIE

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "1_Train.py")


def widget(widgets, label):
    return next(w for w in widgets if w.label.startswith(label))


def status_text(app):
    return " ".join(m.value for m in app.markdown if m.value.startswith("**"))


def test_idle_page_shows_the_bundled_example_run():
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception
    assert "Idle: no run is training" in status_text(app)
    assert app.dataframe[0].value["run"].tolist()[0] == "bundled example"


def test_tiny_run_starts_trains_and_finishes(mnist_npz_path):
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    widget(app.number_input, "Epochs").set_value(1)
    widget(app.slider, "Training images").set_value(1000)
    next(b for b in app.button if b.label == "Start training").click().run()
    assert not app.exception and not app.error
    manager = get_run_manager()
    assert manager.snapshot().active or manager.snapshot().state == RunState.FINISHED
    manager.wait(180)
    app.run()
    assert re.search(r"Finished 1 epochs, test accuracy \d+\.\d\d%", status_text(app))
    runs = app.dataframe[0].value
    assert len(runs) == 2 and runs["status"].tolist() == [RunState.FINISHED, RunState.FINISHED]


def test_out_of_range_settings_never_reach_the_trainer(mnist_npz_path):
    """A crafted request (a value the widget would never send) cannot start a 10,000-epoch job.

    Streamlit replaces an out-of-range widget value by the widget's default on the server, and
    the run manager validates the whole configuration again (see test_run_manager).
    """
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    widget(app.number_input, "Epochs").set_value(10_000)
    widget(app.slider, "Training images").set_value(1000)
    next(b for b in app.button if b.label == "Start training").click().run()
    assert not app.exception
    manager = get_run_manager()
    started = manager.snapshot()
    manager.stop()
    manager.wait(120)
    assert started.config is not None
    assert BOUNDS["epochs"][0] <= started.config.epochs <= BOUNDS["epochs"][1]


def chart_points(page):
    return page.evaluate(
        """() => { const gd = document.querySelector('.st-key-train-chart .js-plotly-plot');
                   // _fullData: plotly's decoded traces; y, since evenly spaced batches come as x0 and dx
                   const trace = gd && gd._fullData && gd._fullData[0];
                   return trace && trace.y ? trace.y.length : -1; }"""
    )


@pytest.mark.browser
def test_live_chart_moves_while_training_and_stop_works(app_url, page, mnist_npz_path):
    page.set_viewport_size({"width": 1280, "height": 1800})
    page.goto(f"{app_url}/Train")
    page.locator(".st-key-train-status").wait_for(timeout=120_000)
    wait_for_app_idle(page)
    # No run active (the shared server may show an earlier test's stopped run).
    assert re.match(r"Idle|Stopped|Finished", page.locator(".st-key-train-status").inner_text())

    page.get_by_label("Epochs").fill("30")
    slider = page.get_by_role("slider", name=re.compile("Training images"))
    slider.focus()
    slider.press("Home")  # 1,000 images an epoch: the chart moves within a second, and the run is cheap to start
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function(
        "() => (document.querySelector('.st-key-train-status')?.innerText ?? '').includes('Training epoch')", timeout=120_000
    )
    seen = set()
    deadline = time.monotonic() + 60
    while len(seen) < 3 and time.monotonic() < deadline:
        seen.add(chart_points(page))
        time.sleep(0.5)
    seen.discard(-1)
    assert len(seen) >= 2, f"the live chart did not change while training: {seen}"
    save_screenshot(page, "train-live")

    page.get_by_role("button", name="Stop training").click()
    page.wait_for_function(
        "() => /Stopped at epoch|Finished/.test((document.querySelector('.st-key-train-status')?.innerText ?? ''))",
        timeout=60_000,
    )
    # The end of a run reruns the whole page: the form comes back and the run is listed.
    page.get_by_role("button", name="Start training").and_(page.locator(":enabled")).wait_for(timeout=30_000)
    wait_for_app_idle(page)
    assert "Stopped at epoch" in page.locator(".st-key-train-status").inner_text()
    page.wait_for_function(  # the saved runs grid (its accessible table) redraws a moment later
        "() => document.querySelector(\"[data-testid='stDataFrame']\").textContent.includes('stopped')", timeout=30_000
    )
    save_screenshot(page, "train-stopped")


@pytest.mark.usefixtures("cookie_jar")
def test_without_a_passcode_another_visitor_watches_a_run_and_only_its_starter_stops_it_also_after_a_reload(mnist_npz_path):
    """The run is its starter's browser's: a reload (a new session with the browser's cookies) still has Stop."""
    browser = {VISITOR_COOKIE: "a" * 32}
    starter = CookieJar.active.start(AppTest.from_file(PAGE, default_timeout=120), browser)
    widget(starter.number_input, "Epochs").set_value(30)
    widget(starter.slider, "Training images").set_value(1000)
    next(b for b in starter.button if b.label == "Start training").click().run()
    manager = get_run_manager()
    try:
        deadline = time.monotonic() + 60
        while manager.snapshot().state != RunState.TRAINING and time.monotonic() < deadline:
            time.sleep(0.1)
        other = CookieJar.active.start(AppTest.from_file(PAGE, default_timeout=120), {VISITOR_COOKIE: "b" * 32})
        assert not other.exception
        assert next(b for b in other.button if b.label == "Start training").disabled
        assert any("A new one can start when it ends" in caption.value for caption in other.caption)
        assert not [b for b in other.button if b.label == "Stop training"]
        reloaded = CookieJar.active.start(AppTest.from_file(PAGE, default_timeout=120), browser)
        next(b for b in reloaded.button if b.label == "Stop training").click().run()
        assert manager.snapshot().state in (RunState.STOPPING, RunState.STOPPED)
    finally:
        manager.stop()
        manager.wait(120)
    assert manager.snapshot().state == RunState.STOPPED


def test_the_form_starts_from_the_chosen_preset_and_recipe():
    app = AppTest.from_file(PAGE, default_timeout=120).run()  # the open studio: the one-minute demo first
    assert widget(app.number_input, "Epochs").value == 3 and widget(app.slider, "Training images").value == 5000
    widget(app.selectbox, "Settings").set_value("The preset's own settings").run()
    assert widget(app.number_input, "Epochs").value == 10 and widget(app.slider, "Training images").value == 60000
    widget(app.selectbox, "Settings").set_value("The tutorial's bug (SGD, raw 0-255 pixels)").run()
    assert widget(app.selectbox, "Optimizer").value == "sgd" and widget(app.number_input, "Learning rate").value == 0.01
    assert widget(app.checkbox, "Scale pixels").value is False
    widget(app.selectbox, "Network").set_value("regularized").run()
    assert widget(app.number_input, "Learning rate").value == 0.01  # the recipe's rate wins over the preset's
    widget(app.selectbox, "Settings").set_value("The preset's own settings").run()
    assert widget(app.number_input, "Learning rate").value == 0.002 and widget(app.checkbox, "Scale pixels").value


def copy_of_the_bundled_run(name):
    run_dir = runs_dir() / name
    shutil.copytree(BUNDLED_RUN_DIR, run_dir)
    return run_dir


def select_rows(app, *positions):
    """Tick rows of the saved-runs table as a browser would (the table's widget state)."""
    table = app.dataframe[0]
    app.session_state[table.key] = {"selection": {"rows": list(positions), "columns": [], "cells": []}}
    return app.run()


def selected_run(app):
    return next(m.value for m in app.markdown if m.value.startswith("Selected: "))


def saved_runs(app):
    return app.dataframe[0].value


def test_a_new_run_at_the_top_never_moves_a_selection_to_its_neighbour():
    older, newer = copy_of_the_bundled_run("20260101-000000-tutorial-aaaa"), copy_of_the_bundled_run("20260102-000000-tutorial-bbbb")
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert saved_runs(app)["folder"].tolist() == ["", newer.name, older.name]
    select_rows(app, 2)
    assert selected_run(app) == f"Selected: **{read_saved_run(older).title()}**"

    copy_of_the_bundled_run("20260103-000000-tutorial-cccc")  # e.g. the teacher started a run: it is listed first
    app.run()
    assert saved_runs(app)["folder"].tolist()[1] == "20260103-000000-tutorial-cccc"
    assert selected_run(app) == f"Selected: **{read_saved_run(older).title()}**"  # not the neighbour now at row 2
    next(b for b in app.button if b.label.startswith("Use this model")).click().run()
    in_use = saved_runs(app).set_index("folder")["in use"]
    assert in_use[older.name] == "✓" and in_use[newer.name] == ""

    shutil.rmtree(older)  # the chosen run is deleted: the choice is cleared, with a note
    app.run()
    assert not [m for m in app.markdown if m.value.startswith("Selected: ")]
    assert any("no longer listed" in info.value for info in app.info)


def test_on_postgresql_a_run_waits_for_a_worker_and_the_teacher_can_cancel_it(postgres_url, monkeypatch, mnist_npz_path):
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", postgres_url)
    monkeypatch.setenv(WORKER_MODE_ENV, "separate")  # no worker runs: the run stays queued
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    widget(app.number_input, "Epochs").set_value(1)
    widget(app.slider, "Training images").set_value(1000)
    next(b for b in app.button if b.label == "Start training").click().run()
    assert not app.exception and not app.error
    assert "Queued: your run starts as soon as a training worker is free." in status_text(app)
    assert next(b for b in app.button if b.label == "Start training").disabled  # one queued run at a time per class
    next(b for b in app.button if b.label == "Cancel the waiting run").click().run()
    assert "Idle: no run is training" in status_text(app)
    assert not next(b for b in app.button if b.label == "Start training").disabled
