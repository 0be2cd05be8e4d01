"""Saved runs in the database: a wiped runs folder gets them back, old folders go in, two servers share them."""
import json
import os
import shutil
import time

import pytest

from classroom.class_set import ClassSet, ClassSetUnavailableError
from classroom.run_store import LEGACY_CLASS_MODEL_FILE, RunStore
from classroom.runs import list_saved_runs
from mnist_cnn.paths import BUNDLED_RUN_DIR
from mnist_cnn.run_folder import METRICS_FILE, MODEL_FILE

RUN = "20260101-000000-tutorial-aaaa"


@pytest.fixture
def database(class_set_url):
    database = ClassSet(class_set_url)
    yield database
    database.dispose()


def copy_bundled_run(runs_root, name=RUN):
    shutil.copytree(BUNDLED_RUN_DIR, runs_root / name)
    return runs_root / name


def test_a_wiped_runs_folder_gets_every_run_back_byte_for_byte(database, tmp_path):
    before = tmp_path / "before-restart"
    run = copy_bundled_run(before)
    RunStore(database, before).sync(force=True)  # an old folder goes in on first start

    assert RunStore(database, before).record("20990101-000000-tutorial-none") is None  # never saved: no outage either

    after = tmp_path / "empty-disk"
    assert RunStore(database, after).sync(force=True) == [RUN]
    for file in (METRICS_FILE, MODEL_FILE):
        assert (after / RUN / file).read_bytes() == (run / file).read_bytes()
    [restored] = list_saved_runs(after)
    assert restored.readable and restored.has_model and restored.title() == list_saved_runs(before)[0].title()
    assert RunStore(database, after).sync(force=True) == []  # nothing copied back and forth once in step


def test_the_newer_side_wins_and_a_second_server_sees_a_run_saved_by_the_first(database, tmp_path):
    server_a, server_b = tmp_path / "a", tmp_path / "b"
    store_a, store_b = RunStore(database, server_a), RunStore(database, server_b)
    run = copy_bundled_run(server_a)
    store_a.save(run)  # what the training loop does after every epoch
    assert store_b.sync(force=True) == [RUN]

    metrics = run / METRICS_FILE
    metrics.write_text(metrics.read_text().replace('"finished"', '"stopped"'))
    future = time.time() + 10
    os.utime(metrics, (future, future))  # changed on server A after the last save
    store_a.sync(force=True)
    assert store_b.sync(force=True) == [RUN]
    assert '"stopped"' in (server_b / RUN / METRICS_FILE).read_text()


def test_a_folder_deleted_while_its_server_runs_is_a_deleted_run_everywhere(database, tmp_path):
    server_a, server_b = RunStore(database, tmp_path / "a"), RunStore(database, tmp_path / "b")
    kept, deleted = copy_bundled_run(tmp_path / "a"), copy_bundled_run(tmp_path / "a", "20260102-000000-tutorial-bbbb")
    server_a.sync(force=True)
    assert sorted(server_b.sync(force=True)) == [kept.name, deleted.name]
    shutil.rmtree(deleted)  # e.g. a run stopped before it trained
    server_a.sync(force=True)
    server_b.sync(force=True)
    assert [run.name for run in list_saved_runs(tmp_path / "b")] == [kept.name]
    assert RunStore(database, tmp_path / "after-restart").sync(force=True) == [kept.name]  # a wiped disk: only the kept one


def test_sync_runs_at_most_every_few_seconds_unless_forced(database, tmp_path):
    now = [0.0]
    server_a = RunStore(database, tmp_path / "a")
    server_a.save(copy_bundled_run(tmp_path / "a"))
    store = RunStore(database, tmp_path / "b", sync_seconds=2.0, clock=lambda: now[0])
    assert store.sync() == [RUN]
    later_run = "20260102-000000-tutorial-bbbb"
    server_a.save(copy_bundled_run(tmp_path / "a", later_run))
    now[0] = 1.0
    assert store.sync() == []  # too soon
    assert store.sync(force=True) == [later_run]
    server_a.save(copy_bundled_run(tmp_path / "a", "20260103-000000-tutorial-cccc"))
    now[0] = 3.5
    assert store.sync() == ["20260103-000000-tutorial-cccc"]


def test_a_class_model_set_before_the_database_goes_in_once(database, tmp_path):
    runs_root = tmp_path / "runs"
    copy_bundled_run(runs_root)
    (runs_root / LEGACY_CLASS_MODEL_FILE).write_text(f'{{"run": "{RUN}"}}')
    store = RunStore(database, runs_root)
    store.sync(force=True)
    assert store.class_model_name() == RUN and not (runs_root / LEGACY_CLASS_MODEL_FILE).exists()
    assert RunStore(database, tmp_path / "elsewhere").class_model_name() == RUN


def test_a_database_that_is_down_leaves_the_folder_working_and_says_why(tmp_path):
    runs_root = tmp_path / "runs"
    run = copy_bundled_run(runs_root)
    database = ClassSet("postgresql+psycopg://nobody@127.0.0.1:1/none")
    store = RunStore(database, runs_root)
    assert store.sync(force=True) == []
    assert "cannot be reached" in store.problem
    store.backup(run)  # the training loop's save never raises
    assert "cannot be reached" in store.problem
    with pytest.raises(ClassSetUnavailableError):
        store.set_class_model_name(RUN)
    assert [saved.name for saved in list_saved_runs(runs_root)] == [RUN]


def test_a_run_trained_here_is_in_the_database_after_every_epoch_with_a_model_that_loads(small_mnist, tmp_path):
    from classroom.run_manager import RunManager
    from mnist_cnn.model import load_model
    from mnist_cnn.training import TrainingConfig

    database = ClassSet(f"sqlite:///{tmp_path / 'studio.sqlite'}")
    store = RunStore(database, tmp_path / "runs")
    saved_statuses = []

    def backup_and_look(run_dir):
        store.backup(run_dir)
        saved_statuses.append(json.loads(store.record(run_dir.name))["status"])

    manager = RunManager(tmp_path / "runs", load_data=lambda: small_mnist, prediction_wall=False, on_saved=backup_and_look)
    run_dir = manager.start(TrainingConfig.for_preset("tutorial", epochs=2, batch_size=100, train_size=1000))
    manager.wait(120)
    assert saved_statuses == ["training", "training", "training", "finished"]  # start, two epochs, the end

    empty_disk = tmp_path / "after-restart"
    assert RunStore(database, empty_disk).sync(force=True) == [run_dir.name]
    [restored] = list_saved_runs(empty_disk)
    assert restored.status == "finished" and restored.record.completed_epochs == 2
    images, _ = small_mnist[1]
    assert load_model(restored.model_path).predict(images[:5], verbose=0).shape == (5, 10)
    database.dispose()
