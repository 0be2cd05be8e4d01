"""The class model's file in the runs folder: set, read back by a fresh process, and every way it breaks."""
import json
import subprocess
import sys

import pytest

from classroom.class_model import CLASS_MODEL_FILE, ClassModel, read_class_model, set_class_model


@pytest.fixture
def runs_root(tmp_path):
    root = tmp_path / "runs"
    for name in ("20260101-000000-tutorial-aaaa", "20260101-000001-tutorial-bbbb"):
        (root / name).mkdir(parents=True)
        (root / name / "model.keras").write_bytes(b"stand-in")
    return root


def test_no_file_means_no_class_model(runs_root):
    assert read_class_model(runs_root) == ClassModel()
    assert read_class_model(runs_root.parent / "missing") == ClassModel()


def test_set_read_change_and_clear(runs_root):
    first, second = sorted(runs_root.iterdir())
    set_class_model(runs_root, first)
    assert read_class_model(runs_root) == ClassModel(first.name, first / "model.keras")
    set_class_model(runs_root, second)
    assert read_class_model(runs_root).model_path == second / "model.keras"
    assert [p.name for p in runs_root.iterdir() if p.is_file()] == [CLASS_MODEL_FILE]  # no temp file left
    set_class_model(runs_root, None)
    assert read_class_model(runs_root) == ClassModel()
    set_class_model(runs_root, None)  # clearing twice is fine


def test_a_fresh_process_reads_the_class_model(runs_root):
    run = sorted(runs_root.iterdir())[1]
    set_class_model(runs_root, run)
    code = f"from classroom.class_model import read_class_model; print(read_class_model({str(runs_root)!r}).model_path)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == str(run / "model.keras")


def test_only_runs_of_this_folder_with_a_model_can_be_set(runs_root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "model.keras").write_bytes(b"x")
    with pytest.raises(ValueError, match="is not a run in"):
        set_class_model(runs_root, outside)
    empty = runs_root / "20260101-000002-tutorial-cccc"
    empty.mkdir()
    with pytest.raises(ValueError, match="has no saved model yet"):
        set_class_model(runs_root, empty)
    assert read_class_model(runs_root) == ClassModel()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "the class model setting (class_model.json) cannot be read"),
        ('["a list"]', "names no run folder"),
        ('{"run": 3}', "names no run folder"),
        ('{"run": "../../etc"}', "names no run folder"),
        ('{"run": ".."}', "names no run folder"),
    ],
)
def test_a_broken_or_tampered_file_gives_a_problem_not_a_model(runs_root, content, problem):
    (runs_root / CLASS_MODEL_FILE).write_text(content)
    class_model = read_class_model(runs_root)
    assert class_model.model_path is None and problem in class_model.problem


def test_a_deleted_run_or_model_gives_a_clear_problem(runs_root):
    first, second = sorted(runs_root.iterdir())
    set_class_model(runs_root, first)
    (first / "model.keras").unlink()
    assert read_class_model(runs_root) == ClassModel(first.name, None, f"the class model, run {first.name}, has no saved model")
    (runs_root / CLASS_MODEL_FILE).write_text(json.dumps({"run": "20250101-gone"}))
    assert read_class_model(runs_root).problem == "the class model, run 20250101-gone, was deleted"
