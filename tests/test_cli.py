import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn.cli import main
from mnist_cnn.run_folder import run_zip_bytes

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

    downloaded = tmp_path / "downloads" / f"{run_dir.name}.zip"  # the Train page's "Download run (.zip)"
    downloaded.parent.mkdir()
    downloaded.write_bytes(run_zip_bytes(run_dir))
    assert main(["evaluate", str(downloaded)]) == 0
    from_zip = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert from_zip["test_accuracy"] == result["test_accuracy"] and from_zip["model"] == str(downloaded)


def test_bundled_model_reaches_the_tutorials_claimed_accuracy(capsys):
    assert main(["evaluate"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 10000
    assert result["test_accuracy"] >= 0.992
    assert result["model"].endswith("assets/model/model.keras")


def test_a_zip_that_holds_no_run_is_a_clear_message(tmp_path, capsys):
    not_a_zip = tmp_path / "photo.zip"
    not_a_zip.write_bytes(b"\xff\xd8 a jpeg")
    assert main(["evaluate", str(not_a_zip)]) == 2
    assert "is not a zip file" in capsys.readouterr().err
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("notes/readme.txt", "no model here")
        archive.writestr("../../escape/model.keras", "nor here")
    assert main(["evaluate", str(other_zip)]) == 2
    assert "is not a run's zip" in capsys.readouterr().err
    climbing = tmp_path / "inside" / "climbing.zip"
    climbing.parent.mkdir()
    with zipfile.ZipFile(climbing, "w") as archive:
        archive.writestr("../model.keras", "written beside the temporary folder, if it were unpacked")
    assert main(["evaluate", str(climbing)]) == 2
    assert "is not a run's zip" in capsys.readouterr().err


def test_bad_settings_and_missing_files_exit_with_a_clear_message(tmp_path, capsys, monkeypatch):
    assert main(["train", "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert "epochs: expected an integer from 1 to 30, got 0" in capsys.readouterr().err

    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "missing.npz"))
    assert main(["train", "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err

    assert main(["evaluate", str(tmp_path / "nothing-here")]) == 2
    assert "there is none" in capsys.readouterr().err
