"""What goes wrong on a real server: killed mid-run, broken run folders, no disk, no MNIST."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import PROJECT_DIR
from mnist_cnn.data import load_test_set
from mnist_cnn.model import load_model
from mnist_cnn.predict import Predictor
from mnist_cnn.run_manager import RunManager

PAGES = PROJECT_DIR / "pages"


def run_page(path, timeout=120):
    return AppTest.from_file(str(path), default_timeout=timeout).run()


def saved_runs_table(app):
    return app.dataframe[0].value.set_index("run")


def test_a_server_killed_mid_run_leaves_an_interrupted_run_with_a_usable_model(mnist_npz_path, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    trainer = subprocess.Popen(
        [sys.executable, "-m", "mnist_cnn", "train", "--train-size", "2000", "--epochs", "30", "--out", str(runs)],
        cwd=PROJECT_DIR, env={**os.environ, "MNIST_NPZ": str(mnist_npz_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            metrics_files = list(runs.glob("*/metrics.json"))
            if metrics_files and json.loads(metrics_files[0].read_text()).get("completed_epochs", 0) >= 1:
                break
            assert trainer.poll() is None, "training ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("no epoch completed in time")
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait()

    [run] = RunManager(runs).list_runs()
    assert run.status == "interrupted" and run.completed_epochs >= 1
    images, _ = load_test_set()
    probabilities = Predictor(load_model(run.model_path)).probabilities(images[:5])
    assert probabilities.shape == (5, 10)

    monkeypatch.setenv("MNIST_CNN_RUNS", str(runs))
    app = run_page(PAGES / "1_Train.py")
    assert not app.exception
    assert saved_runs_table(app).loc[run.name, "status"] == "interrupted"


def test_broken_run_folders_are_listed_as_unreadable_and_every_page_still_works(monkeypatch, tmp_path):
    runs = tmp_path / "runs"
    for name, content in [
        ("20250101-000000-tutorial-half", '{"status": "fini'),  # half-written
        ("20250102-000000-tutorial-shape", '["not", "a", "run"]'),  # wrong structure
        ("20250103-000000-tutorial-binary", "\x00\x01garbage"),
    ]:
        (runs / name).mkdir(parents=True)
        (runs / name / "metrics.json").write_text(content)
    (runs / ".metrics.json.tmp123").write_text("{")  # a stray temp file from a crash
    monkeypatch.setenv("MNIST_CNN_RUNS", str(runs))

    train = run_page(PAGES / "1_Train.py")
    assert not train.exception
    table = saved_runs_table(train)
    assert set(table.loc[[path.name for path in runs.iterdir() if path.is_dir()], "status"]) == {"unreadable"}
    assert table.loc["bundled example", "status"] == "finished"
    for page in (PROJECT_DIR / "app.py", PAGES / "2_Draw.py", PAGES / "3_Mistakes.py"):
        assert not run_page(page).exception, page.name


def start_tiny_run_from_the_page():
    app = run_page(PAGES / "1_Train.py")
    next(w for w in app.number_input if w.label == "Epochs").set_value(1)
    next(w for w in app.slider if w.label.startswith("Training images")).set_value(1000)
    next(b for b in app.button if b.label == "Start training").click().run()
    return app


def test_an_unwritable_runs_folder_refuses_to_start_with_a_clear_message(monkeypatch, tmp_path, mnist_npz_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("runs cannot be created under a file, even by root")
    monkeypatch.setenv("MNIST_CNN_RUNS", str(blocker / "runs"))
    app = start_tiny_run_from_the_page()
    assert not app.exception
    [error] = app.error
    assert error.value.startswith("Training was not started: Cannot save runs in")
    assert "Idle" in " ".join(m.value for m in app.markdown)


def test_a_full_disk_refuses_to_start_with_a_clear_message(monkeypatch, tmp_path, mnist_npz_path):
    import shutil

    monkeypatch.setenv("MNIST_CNN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 10**6, 10**6))
    app = start_tiny_run_from_the_page()
    assert not app.exception
    [error] = app.error
    assert "Training was not started" in error.value and "expected at least 64 MB free, got 1 MB" in error.value


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No MNIST_NPZ, no Keras cache, and a download that fails as it does without a network."""
    import keras

    def no_network(*args, **kwargs):
        raise OSError("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)


def test_without_mnist_every_page_works_and_the_train_page_says_how_to_get_it(offline, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_CNN_RUNS", str(tmp_path / "runs"))
    for page in (PROJECT_DIR / "app.py", PAGES / "2_Draw.py", PAGES / "3_Mistakes.py"):
        assert not run_page(page).exception, page.name

    app = start_tiny_run_from_the_page()
    assert not app.exception
    assert any("MNIST_NPZ" in info.value for info in app.info)
    from mnist_cnn.run_manager import get_run_manager

    get_run_manager().wait(60)
    app.run()
    failure = " ".join(error.value for error in app.error)
    assert failure.startswith("Failed:") and "MNIST_NPZ" in failure and "Traceback" not in failure
    assert not app.exception
