"""The class model: the saved run every visitor's Draw and Mistakes pages use unless they chose another.

Its run's name is kept in the database per room (:meth:`classroom.run_store.RunStore.class_model_name`), so
every server on that database uses it and a restart keeps it; this module turns that name into a model file
in the room's runs folder (:attr:`RunStore.runs_root`), never raising for a run that was deleted or has no model.
"""
from dataclasses import dataclass
from pathlib import Path

from mnist_cnn.run_folder import MODEL_FILE


@dataclass(frozen=True)
class ClassModel:
    """The class model as set for a runs folder.

    ``run_name`` is None when no class model is set. ``model_path`` is the model to use, None when none is
    set or when the set one cannot be used; ``problem`` then says why, in one sentence.
    """

    run_name: str | None = None
    model_path: Path | None = None
    problem: str = ""


def read_class_model(runs_root, run_name):
    """The class model of ``runs_root`` when the run ``run_name`` (None: none) is chosen."""
    if run_name is None:
        return ClassModel()
    if not _is_plain_folder_name(run_name):
        return ClassModel(problem="the class model setting names no run folder")
    run_dir = Path(runs_root) / run_name
    if not run_dir.is_dir():
        return ClassModel(run_name, problem=f"the class model, run {run_name}, was deleted")
    model_path = run_dir / MODEL_FILE
    if not model_path.is_file():
        return ClassModel(run_name, problem=f"the class model, run {run_name}, has no saved model")
    return ClassModel(run_name, model_path)


def class_model_name(runs_root, run_dir):
    """The name to keep for making the run in ``run_dir`` the class model (None clears it).

    Raises ValueError for a folder outside ``runs_root`` or without a model.
    """
    if run_dir is None:
        return None
    run_dir = Path(run_dir)
    if run_dir.resolve().parent != Path(runs_root).resolve():
        raise ValueError(f"{run_dir} is not a run in {runs_root}")
    if not (run_dir / MODEL_FILE).is_file():
        raise ValueError(f"run {run_dir.name} has no saved model yet")
    return run_dir.name


def _is_plain_folder_name(name):
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name
