import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn.cli import main

PROJECT_DIR = Path(__file__).resolve().parent.parent


def run_cli(*args, env=None):
    """``python -m mnist_cnn ...`` in its own process, as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "mnist_cnn", *args],
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def small_npz(tmp_path, small_mnist):
    """A file in MNIST's layout whose 'training set' is the first 3,000 bundled test digits, padded."""
    (x_train, y_train), _ = small_mnist
    from mnist_cnn.data import load_test_set

    x_test, y_test = load_test_set()
    path = tmp_path / "small-mnist.npz"
    np.savez(path, x_train=np.resize(x_train, (60000, 28, 28)), y_train=np.resize(y_train, 60000), x_test=x_test, y_test=y_test)
    return path


def test_train_then_evaluate_end_to_end(small_npz, tmp_path, capsys):
    out = tmp_path / "runs"
    trained = run_cli("train", "--epochs", "2", "--train-size", "2000", "--seed", "1", "--out", str(out), env={"MNIST_NPZ": str(small_npz)})
    assert trained.returncode == 0, trained.stderr
    lines = trained.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["epoch 1/2", "epoch 2/2"]
    run_dir = Path(lines[-1].removeprefix("run folder: "))
    assert run_dir.parent == out and (run_dir / "model.keras").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())

    assert main(["evaluate", str(run_dir)]) == 0  # in this process: one start of TensorFlow is enough
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 10000
    assert result["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-4)
    assert result["test_loss"] == pytest.approx(metrics["test_loss"], rel=1e-3)


def test_bundled_model_reaches_the_tutorials_claimed_accuracy(capsys):
    assert main(["evaluate"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 10000
    assert result["test_accuracy"] >= 0.992
    assert result["model"].endswith("assets/model/model.keras")


def test_bad_settings_and_missing_files_exit_with_a_clear_message(tmp_path, capsys, monkeypatch):
    assert main(["train", "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert "epochs: expected an integer from 1 to 30, got 0" in capsys.readouterr().err

    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "missing.npz"))
    assert main(["train", "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err

    assert main(["evaluate", str(tmp_path / "nothing-here")]) == 2
    assert "there is none" in capsys.readouterr().err
