"""Two servers on one database share one live run: B sees A's run move, cannot start another, and stops it."""
import json
import time

import pytest
import sqlalchemy as sa

from classroom.class_set import LIVE_RUN, ClassSet
from classroom.live_board import MAX_BATCH_POINTS, STALE_SECONDS, LiveBoard, thinned
from classroom.rooms import visitor_digest
from classroom.run_manager import RunAlreadyActiveError, RunManager, RunSnapshot
from mnist_cnn.run_folder import RunState
from mnist_cnn.run_record import BatchPoint, RunRecord
from mnist_cnn.training import TrainingConfig
from support.waiting import wait_until

ALICE = visitor_digest("a" * 32)  # the visitor who starts the run


@pytest.fixture
def database(class_set_url):
    database = ClassSet(class_set_url)
    yield database
    database.dispose()


def test_server_b_watches_and_stops_the_run_server_a_trains(database, small_mnist, tmp_path):
    server_a = RunManager(tmp_path / "a", load_data=lambda: small_mnist, prediction_wall=False, board=LiveBoard(database))
    server_b = RunManager(tmp_path / "b", load_data=lambda: small_mnist, prediction_wall=False, board=LiveBoard(database))
    config = TrainingConfig.for_preset("tutorial", epochs=30, batch_size=100, train_size=1000)
    run_dir = server_a.start(config, starter=ALICE)
    try:
        seen = wait_until(lambda: (s := server_b.snapshot()).state == RunState.TRAINING and s.batch_count > 0 and s)
        assert seen.run_dir == tmp_path / "b" / run_dir.name and seen.config == server_a.snapshot().config
        assert seen.starter == ALICE
        later = wait_until(lambda: (s := server_b.snapshot()).batch_count > seen.batch_count + 5 and s)
        assert later.last_batch.elapsed_seconds > seen.last_batch.elapsed_seconds
        assert abs(later.progress - server_a.snapshot().progress) < 0.1  # at most about a second behind

        with pytest.raises(RunAlreadyActiveError, match="another server"):
            server_b.start(config)
        assert not list((tmp_path / "b").glob("*-tutorial-*"))  # the refused run left no folder

        asked = time.monotonic()
        assert server_b.stop()
        wait_until(lambda: not server_a.snapshot().active)
        assert time.monotonic() - asked < 2.0
        assert server_a.snapshot().state == RunState.STOPPED
        # Its last state is published: B shows how the class's latest run ended.
        assert wait_until(lambda: (s := server_b.snapshot()).state == RunState.STOPPED and s).run_dir.name == run_dir.name
    finally:
        server_a.stop()
        server_a.wait(60)


def test_another_server_sees_who_started_the_run_and_stops_it_only_when_it_names_this_run(database, tmp_path):
    run_name, earlier_run = "20260101-000001-tutorial-live", "20260101-000000-tutorial-earlier"
    server_a = LiveBoard(database)
    assert server_a.claim(run_name)
    training = RunSnapshot(state=RunState.TRAINING, config=TrainingConfig(), starter=ALICE)
    server_a.publish(run_name, training)
    server_b = RunManager(tmp_path, board=LiveBoard(database))
    assert server_b.snapshot().starter == ALICE
    with database.transaction() as connection:
        published = connection.execute(sa.select(LIVE_RUN.c.snapshot)).scalar()
    assert ALICE in published and "a" * 32 not in published  # its digest, never the visitor id itself
    assert not server_b.stop(run_name=earlier_run)  # a page drawn for an earlier run
    assert not server_a.publish(run_name, training)
    assert server_b.stop(run_name=run_name)
    assert server_a.publish(run_name, training)


def test_a_dead_servers_run_is_not_shown_and_does_not_block(database, tmp_path):
    now = [1000.0]
    dead, alive = LiveBoard(database, clock=lambda: now[0]), LiveBoard(database, clock=lambda: now[0])
    assert dead.claim("20260101-000000-tutorial-dead")
    assert not alive.claim("20260101-000001-tutorial-next")  # fresh: one run at a time
    now[0] += STALE_SECONDS + 1  # the server that claimed it was killed
    assert alive.elsewhere() is None
    assert alive.claim("20260101-000001-tutorial-next")


def test_the_published_history_is_thinned_but_keeps_the_last_batch():
    record = RunRecord()
    for step in range(10_000):
        record.batch_history.append(BatchPoint(epoch=1 + step // 1000, batch=1 + step % 1000, loss=1.0, accuracy=0.5))
    small = thinned(record, 9_000, 0)
    batches = small.batch_history.columns()
    assert len(small.batch_history) <= MAX_BATCH_POINTS + 1
    assert (batches["epoch"][-1], batches["batch"][-1]) == (9, 1000)  # the 9,000th batch
    assert len(json.dumps(small.to_json())) < 200_000
