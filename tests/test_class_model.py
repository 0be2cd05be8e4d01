"""The class model: chosen by run name in the database, turned into a model file, and every way it breaks."""
import pytest

from classroom.class_model import ClassModel, class_model_name, read_class_model
from classroom.class_set import ClassSet
from classroom.run_store import RunStore


@pytest.fixture
def runs_root(tmp_path):
    root = tmp_path / "runs"
    for name in ("20260101-000000-tutorial-aaaa", "20260101-000001-tutorial-bbbb"):
        (root / name).mkdir(parents=True)
        (root / name / "model.keras").write_bytes(b"stand-in")
    return root


@pytest.fixture
def database(tmp_path):
    database = ClassSet(f"sqlite:///{tmp_path / 'studio.sqlite'}")
    yield database
    database.dispose()


def test_no_choice_means_no_class_model(runs_root):
    assert read_class_model(runs_root, None) == ClassModel()


def test_set_read_change_and_clear_for_every_server_on_the_database(runs_root, database):
    first, second = sorted(runs_root.iterdir())
    here, other_server = RunStore(database, runs_root), RunStore(database, runs_root, clock=lambda: 0.0)
    here.set_class_model_name(class_model_name(runs_root, first))
    assert read_class_model(runs_root, here.class_model_name()) == ClassModel(first.name, first / "model.keras")
    assert other_server.class_model_name() == first.name
    here.set_class_model_name(class_model_name(runs_root, second))
    assert read_class_model(runs_root, here.class_model_name()).model_path == second / "model.keras"
    assert RunStore(database, runs_root).class_model_name() == second.name  # a restarted server reads it back
    here.set_class_model_name(None)
    assert here.class_model_name() is None and RunStore(database, runs_root).class_model_name() is None
    here.set_class_model_name(None)  # clearing twice is fine


def test_only_runs_of_this_folder_with_a_model_can_be_chosen(runs_root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "model.keras").write_bytes(b"x")
    with pytest.raises(ValueError, match="is not a run in"):
        class_model_name(runs_root, outside)
    empty = runs_root / "20260101-000002-tutorial-cccc"
    empty.mkdir()
    with pytest.raises(ValueError, match="has no saved model yet"):
        class_model_name(runs_root, empty)
    assert class_model_name(runs_root, None) is None


@pytest.mark.parametrize("name", ["../../etc", "..", "a/b", ""])
def test_a_tampered_name_gives_a_problem_not_a_model(runs_root, name):
    class_model = read_class_model(runs_root, name)
    assert class_model.model_path is None and "names no run folder" in class_model.problem


def test_a_deleted_run_or_model_gives_a_clear_problem(runs_root):
    first, _ = sorted(runs_root.iterdir())
    (first / "model.keras").unlink()
    assert read_class_model(runs_root, first.name) == ClassModel(
        first.name, None, f"the class model, run {first.name}, has no saved model"
    )
    assert read_class_model(runs_root, "20250101-gone").problem == "the class model, run 20250101-gone, was deleted"
