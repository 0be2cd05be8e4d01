"""The class model: the saved run every visitor's Draw and Mistakes pages use unless they chose another.

Kept as a small JSON file in the runs folder, next to the runs themselves, so it survives reloads
and server restarts (and goes away with the runs when the folder is wiped).
"""
import json
import time
from dataclasses import dataclass
from pathlib import Path

from mnist_cnn.run_folder import MODEL_FILE, write_json_atomically

CLASS_MODEL_FILE = "class_model.json"


@dataclass(frozen=True)
class ClassModel:
    """The class model as set in a runs folder.

    ``run_name`` is None when no class model is set. ``model_path`` is the model to use, None when none is
    set or when the set one cannot be used; ``problem`` then says why, in one sentence.
    """

    run_name: str | None = None
    model_path: Path | None = None
    problem: str = ""


def read_class_model(runs_root):
    """The class model of ``runs_root``, never raising for a missing, broken or tampered file."""
    path = Path(runs_root) / CLASS_MODEL_FILE
    try:
        with open(path) as file:
            setting = json.load(file)
    except FileNotFoundError:
        return ClassModel()
    except (OSError, ValueError) as error:
        return ClassModel(problem=f"the class model setting ({CLASS_MODEL_FILE}) cannot be read: {error}")
    run_name = setting.get("run") if isinstance(setting, dict) else None
    if not isinstance(run_name, str) or not _is_plain_folder_name(run_name):
        return ClassModel(problem=f"the class model setting ({CLASS_MODEL_FILE}) names no run folder")
    run_dir = Path(runs_root) / run_name
    if not run_dir.is_dir():
        return ClassModel(run_name, problem=f"the class model, run {run_name}, was deleted")
    model_path = run_dir / MODEL_FILE
    if not model_path.is_file():
        return ClassModel(run_name, problem=f"the class model, run {run_name}, has no saved model")
    return ClassModel(run_name, model_path)


def set_class_model(runs_root, run_dir):
    """Make the run in ``run_dir`` (a folder of ``runs_root`` with a saved model) the class model.

    ``None`` clears it: every visitor who chose nothing is back on the bundled model.
    Raises ValueError for a folder outside ``runs_root`` or without a model, OSError when the runs
    folder cannot be written.
    """
    runs_root = Path(runs_root)
    path = runs_root / CLASS_MODEL_FILE
    if run_dir is None:
        path.unlink(missing_ok=True)
        return
    run_dir = Path(run_dir)
    if run_dir.resolve().parent != runs_root.resolve():
        raise ValueError(f"{run_dir} is not a run in {runs_root}")
    if not (run_dir / MODEL_FILE).is_file():
        raise ValueError(f"run {run_dir.name} has no saved model yet")
    runs_root.mkdir(parents=True, exist_ok=True)
    write_json_atomically({"run": run_dir.name, "set_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, path)


def _is_plain_folder_name(name):
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name
