"""What goes wrong on a real server: killed mid-run, broken run folders, no disk, no MNIST."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from classroom.run_manager import get_run_manager
from classroom.runs import list_saved_runs
from mnist_cnn.data import load_test_set
from mnist_cnn.model import load_model
from mnist_cnn.predict import Predictor
from mnist_cnn.run_folder import RunState
from support.app_server import PROJECT_DIR

HOME, TRAIN, DRAW, MISTAKES = (
    PROJECT_DIR / "app.py", PROJECT_DIR / "app_pages" / "1_Train.py",
    PROJECT_DIR / "app_pages" / "2_Draw.py", PROJECT_DIR / "app_pages" / "3_Mistakes.py",
)


def run_page(path, session_state=None):
    app = AppTest.from_file(str(path), default_timeout=120)
    for key, value in (session_state or {}).items():
        app.session_state[key] = value
    return app.run()


def saved_runs_table(app):
    return app.dataframe[0].value.set_index("folder")


def start_tiny_run_from_the_page():
    app = run_page(TRAIN)
    next(w for w in app.number_input if w.label == "Epochs").set_value(1)
    next(w for w in app.slider if w.label.startswith("Training images")).set_value(1000)
    next(b for b in app.button if b.label == "Start training").click().run()
    return app


def run_folders(root):
    return [path for path in root.iterdir() if path.is_dir()] if root.is_dir() else []


# 1. The server is killed in the middle of a run.


def wait_for_first_checkpoint(runs, trainer, log, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for metrics_file in runs.glob("*/metrics.json"):  # written atomically: never half a file
            if json.loads(metrics_file.read_text()).get("completed_epochs", 0) >= 1:
                return
        assert trainer.poll() is None, f"training ended before it could be killed:\n{log.read_text()[-2000:]}"
        time.sleep(0.2)
    pytest.fail(f"no epoch completed within {timeout} s")


def test_a_server_killed_mid_run_leaves_an_interrupted_run_with_a_usable_model(mnist_npz_path, tmp_path, monkeypatch):
    runs, log = tmp_path / "killed-runs", tmp_path / "trainer.log"
    with open(log, "w") as output:
        trainer = subprocess.Popen(
            [sys.executable, "-m", "mnist_cnn", "train", "--train-size", "3000", "--epochs", "30", "--out", str(runs)],
            cwd=PROJECT_DIR, env={**os.environ, "MNIST_NPZ": str(mnist_npz_path)}, stdout=output, stderr=output,
        )
    try:
        wait_for_first_checkpoint(runs, trainer, log)
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait(30)
    assert trainer.returncode == -signal.SIGKILL

    [run] = list_saved_runs(runs)
    assert run.readable and run.status == RunState.INTERRUPTED and 1 <= run.record.completed_epochs < 30
    images, _ = load_test_set()
    probabilities = Predictor(load_model(run.model_path)).probabilities(images[:1])
    assert probabilities.shape == (1, 10) and np.isclose(probabilities.sum(), 1, atol=1e-4)

    monkeypatch.setenv("MNIST_CNN_RUNS", str(runs))
    app = run_page(TRAIN)
    assert not app.exception
    row = saved_runs_table(app).loc[run.name]
    assert row["status"] == RunState.INTERRUPTED and row["epochs"] == f"{run.record.completed_epochs} of 30"


# 2. Corrupt or half-written files in the runs folder.

BROKEN_METRICS = {
    "20250101-000000-tutorial-half": b'{"status": "fini',  # truncated JSON
    "20250102-000000-tutorial-list": b'["not", "a", "run"]',  # valid JSON, wrong structure
    "20250103-000000-tutorial-types": b'{"status": 1, "config": "tutorial"}',  # right keys, wrong types
    "20250104-000000-tutorial-bytes": b"\xff\xfe\x00garbage",  # not even UTF-8
}


def make_broken_runs(runs):
    for name, content in BROKEN_METRICS.items():
        (runs / name).mkdir(parents=True)
        (runs / name / "metrics.json").write_bytes(content)
    # Killed while writing its first metrics.json: only the temp file of the atomic write is left.
    (runs / "20250105-000000-tutorial-temp").mkdir()
    (runs / "20250105-000000-tutorial-temp" / ".tmp-k1ll3d.json").write_text('{"status": "tra')
    (runs / ".tmp-stray.json").write_text("{")  # stray temp files beside the run folders
    (runs / ".tmp-stray.keras").write_bytes(b"PK\x03\x04")


def test_broken_run_folders_are_listed_as_unreadable_on_the_train_page(monkeypatch, tmp_path):
    runs = tmp_path / "broken-runs"
    make_broken_runs(runs)
    monkeypatch.setenv("MNIST_CNN_RUNS", str(runs))

    app = run_page(TRAIN)
    assert not app.exception
    table = saved_runs_table(app)
    broken = sorted(path.name for path in run_folders(runs))
    assert sorted(table.index) == sorted(["", *broken])  # stray files are not listed as runs; "" is the bundled example
    assert set(table.loc[broken, "status"]) == {RunState.UNREADABLE}
    assert all(note.startswith("unreadable metrics.json") for note in table.loc[broken, "note"])
    assert table.loc["", "status"] == RunState.FINISHED


@pytest.mark.parametrize("page", [HOME, DRAW, MISTAKES], ids=lambda page: page.stem)
def test_broken_run_folders_do_not_break_the_other_pages(page, monkeypatch, tmp_path):
    runs = tmp_path / "broken-runs"
    make_broken_runs(runs)
    monkeypatch.setenv("MNIST_CNN_RUNS", str(runs))
    assert not run_page(page).exception


@pytest.mark.parametrize("fields", [{"completed_epochs": "two"}, {"test_accuracy": "high"}], ids=str)
def test_a_metrics_file_with_wrongly_typed_numbers_is_listed_not_a_crash(fields, monkeypatch, tmp_path):
    runs = tmp_path / "odd-runs"
    (runs / "20250101-000000-tutorial-odd").mkdir(parents=True)
    metrics = {"status": "finished", "config": {"preset": "tutorial", "epochs": 2}, **fields}
    (runs / "20250101-000000-tutorial-odd" / "metrics.json").write_text(json.dumps(metrics))
    monkeypatch.setenv("MNIST_CNN_RUNS", str(runs))
    app = run_page(TRAIN)
    assert not app.exception
    assert "20250101-000000-tutorial-odd" in saved_runs_table(app).index


@pytest.mark.parametrize("page", [HOME, MISTAKES], ids=lambda page: page.stem)
def test_a_corrupt_model_file_of_the_chosen_run_does_not_break_the_pages(page, monkeypatch, tmp_path):
    run = tmp_path / "corrupt-runs" / "20250101-000000-tutorial-cut"
    run.mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "assets" / "model" / "metrics.json", run / "metrics.json")
    (run / "model.keras").write_bytes((PROJECT_DIR / "assets" / "model" / "model.keras").read_bytes()[:5000])
    monkeypatch.setenv("MNIST_CNN_RUNS", str(run.parent))
    assert not run_page(page, session_state={"active_model_path": str(run / "model.keras")}).exception


# 3. The runs folder cannot be written, or the disk is full.


@pytest.fixture
def no_mnist_needed(monkeypatch, tmp_path):
    """A run that starts by mistake fails at once on a missing MNIST file instead of downloading it."""
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "absent-mnist.npz"))


def test_an_unwritable_runs_folder_refuses_to_start_with_a_clear_message(no_mnist_needed, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("runs cannot be created under a file, even by root")
    monkeypatch.setenv("MNIST_CNN_RUNS", str(blocker / "runs"))
    app = start_tiny_run_from_the_page()
    assert not app.exception
    [error] = app.error
    assert error.value.startswith("Training was not started: Cannot save runs in") and "MNIST_CNN_RUNS" in error.value
    assert get_run_manager().snapshot().state == RunState.IDLE
    assert "Idle" in " ".join(m.value for m in app.markdown)


def test_a_full_disk_refuses_to_start_with_a_clear_message(no_mnist_needed, monkeypatch, tmp_path):
    runs = tmp_path / "full-disk-runs"
    monkeypatch.setenv("MNIST_CNN_RUNS", str(runs))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 10**6, 10**6))
    app = start_tiny_run_from_the_page()
    assert not app.exception
    [error] = app.error
    assert "Training was not started" in error.value and "expected at least 64 MB free, got 1 MB" in error.value
    assert get_run_manager().snapshot().state == RunState.IDLE and run_folders(runs) == []


# 4. MNIST is unavailable: no MNIST_NPZ, no Keras cache, no network.


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No MNIST_NPZ, no Keras cache, and a download that fails as Keras's does without a network."""
    import keras

    def no_network(*args, **kwargs):
        # What keras.utils.get_file raises when urlretrieve fails.
        raise Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz: "
                        "None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)


@pytest.mark.parametrize("page", [HOME, DRAW, MISTAKES], ids=lambda page: page.stem)
def test_without_mnist_the_other_pages_still_work(offline, page):
    assert not run_page(page).exception


def test_without_mnist_the_train_page_says_how_to_provide_it_and_a_run_fails_cleanly(offline):
    app = run_page(TRAIN)
    assert not app.exception
    assert any("MNIST_NPZ" in info.value for info in app.info)

    app = start_tiny_run_from_the_page()
    assert not app.exception
    manager = get_run_manager()
    manager.wait(60)
    snapshot = manager.snapshot()
    assert snapshot.state == RunState.FAILED
    assert "MNIST_NPZ" in snapshot.message and "name resolution" in snapshot.message
    app.run()
    assert not app.exception
    failure = " ".join(error.value for error in app.error)
    assert failure.startswith("Failed:") and "MNIST_NPZ" in failure and "Traceback" not in failure


def test_a_run_that_failed_for_lack_of_mnist_is_not_listed_as_an_unreadable_run(offline):
    app = start_tiny_run_from_the_page()
    get_run_manager().wait(60)
    app.run()
    assert not app.exception
    assert RunState.UNREADABLE not in set(saved_runs_table(app)["status"])
