"""Nothing lost: a lesson's state outlives a server killed with SIGKILL and a wiped disk.

Server A has two finished runs, a class model and class digits, and is killed mid-run. Server B starts in
an empty copy of the project folder with only the database's URL, as Community Cloud restarts an app,
and shows all of it; the killed run is "interrupted" with its last epoch's model, which still reads digits.
"""
import dataclasses
import json
import re
import shutil
import time

import numpy as np
import pytest

from classroom.class_set import ClassSet
from classroom.run_store import RunStore
from classroom.runs import read_saved_run
from mnist_cnn.data import load_test_set
from mnist_cnn.paths import BUNDLED_RUN_DIR, PROJECT_DIR
from support.app_server import start_streamlit, wait_for_app_idle, witness

pytestmark = pytest.mark.browser

FINISHED_RUNS = ["20250301-090000-tutorial-aaaa", "20250302-090000-tutorial-bbbb"]
STATUS = ".st-key-train-status"
# What a fresh clone has, without what a server leaves behind (runs, data) or a developer keeps.
NOT_THE_PROJECT = shutil.ignore_patterns(".git", ".venv", "runs", "data", "test-artifacts", "__pycache__", ".*cache")


def lesson_state(database_url, runs_root):
    """Two finished runs (saved as training saves them), the second the class model, and three class digits."""
    database = ClassSet(database_url)
    store = RunStore(database, runs_root)
    for name in FINISHED_RUNS:
        shutil.copytree(BUNDLED_RUN_DIR, runs_root / name)
        store.save(runs_root / name)
    store.set_class_model_name(FINISHED_RUNS[1])
    images, labels = load_test_set()
    for image, label in zip(images[:3], labels[:3], strict=True):
        database.add(image, int(label), int(label), 0.99, "student-before-the-restart")
    return database, store


def start_a_run_and_kill_the_server_mid_epoch(page, server, store, runs_root):
    page.get_by_label("Epochs").fill("30")
    slider = page.get_by_role("slider", name="Training images")
    slider.focus()
    slider.press("Home")  # the smallest training set: short epochs
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function(f"() => document.querySelector('{STATUS}').innerText.includes('Training epoch')", timeout=120_000)
    [run_name] = {path.name for path in runs_root.iterdir()} - set(FINISHED_RUNS)
    deadline = time.monotonic() + 120
    while not json.loads(store.record(run_name))["completed_epochs"]:  # its first epoch's checkpoint is in the database
        assert time.monotonic() < deadline, "no epoch checkpoint reached the database"
        time.sleep(0.1)
    server.kill()  # SIGKILL: no shutdown code runs
    server.wait(timeout=20)
    return run_name


def test_a_lesson_outlives_a_killed_server_and_a_wiped_disk(browser, tmp_path, mnist_npz_path):
    database_url = f"sqlite:///{tmp_path / 'lesson.sqlite'}"
    runs_a = tmp_path / "server-a-runs"
    database, store = lesson_state(database_url, runs_a)
    server_a, url_a = start_streamlit({"MNIST_CNN_CLASS_DB_URL": database_url, "MNIST_CNN_RUNS": str(runs_a)})
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = context.new_page()
        with witness("restart-server-a", train=page):
            page.goto(f"{url_a}/Train", timeout=120_000)
            page.get_by_role("button", name="Start training").wait_for(timeout=120_000)
            wait_for_app_idle(page)
            killed_run = start_a_run_and_kill_the_server_mid_epoch(page, server_a, store, runs_a)
        database.dispose()

        empty_copy = tmp_path / "fresh-project"
        shutil.copytree(PROJECT_DIR, empty_copy, ignore=NOT_THE_PROJECT)
        server_b, url_b = start_streamlit(
            {"MNIST_CNN_CLASS_DB_URL": database_url, "MNIST_CNN_RUNS": None, "MNIST_CNN_DATA": None}, project_dir=empty_copy
        )
        try:
            with witness("restart-server-b", train=page):
                page.goto(f"{url_b}/Train", timeout=120_000)
                page.get_by_text("Saved runs", exact=True).wait_for(timeout=120_000)
                wait_for_app_idle(page)
                grid = page.locator("[data-testid='stDataFrame']").first
                titles = [dataclasses.replace(read_saved_run(BUNDLED_RUN_DIR), name=name).title() for name in FINISHED_RUNS]
                for title in titles:
                    grid.locator("[role='row']", has_text=title).wait_for(state="attached", timeout=30_000)
                killed_row = grid.locator("[role='row']", has_text=re.compile(r"\d+ of 30 epochs"))
                assert "interrupted" in killed_row.first.text_content(timeout=30_000)
                page.get_by_text(f"Class model: run “{titles[1]}”").wait_for(timeout=30_000)
                page.goto(f"{url_b}/Class", timeout=120_000)
                page.locator(".st-key-class-counts").get_by_text("3 digits").wait_for(timeout=120_000)
        finally:
            server_b.terminate()
            server_b.wait(timeout=20)
    finally:
        context.close()
        if server_a.poll() is None:
            server_a.kill()

    # The killed run's last epoch, restored to the empty copy, still reads digits.
    restored = read_saved_run(empty_copy / "runs" / killed_run)
    assert restored.status == "interrupted" and restored.record.completed_epochs >= 1 and restored.has_model
    from mnist_cnn.model import load_model

    images, labels = load_test_set()
    readings = load_model(restored.model_path).predict(images[:500], verbose=0).argmax(axis=1)
    assert np.mean(readings == labels[:500]) > 0.5
