"""Training runs as jobs (classroom/jobs.py): procrastinate's queue on PostgreSQL, in-process on SQLite."""
import dataclasses
import threading
import time

import pytest

import classroom.jobs as jobs_module
from classroom.class_set import DEFAULT_ROOM, ClassSet, ClassSetUnavailableError
from classroom.jobs import (
    InProcessJobs,
    QueuedJobs,
    keep_a_worker_running,
    place_in_queue,
    run_worker,
    train_job,
    uses_queue,
)
from classroom.rooms import visitor_digest
from classroom.run_manager import RunAlreadyActiveError, RunManager
from classroom.worker import main as worker_main
from mnist_cnn.run_folder import RunState
from mnist_cnn.training import TrainingConfig

TINY = TrainingConfig(epochs=1, train_size=1000, batch_size=128)
ALICE, BOB = visitor_digest("a" * 32), visitor_digest("b" * 32)  # two visitors of the open studio


class RecordingManager:
    """Stands in for a RunManager: records what it trained; refuses the first ``busy`` starts (another
    server's run is live). With ``hold``, a run trains until the test sets that event."""

    steps_per_call = 1

    def __init__(self, busy=0, hold=None, log=None, room=""):
        self.started, self.starters, self.busy, self.hold = [], [], busy, hold
        self.log, self.room = log if log is not None else [], room

    def start(self, config, class_data=None, starter=""):
        if self.busy:
            self.busy -= 1
            raise RunAlreadyActiveError("another run is live")
        self.started.append(config)
        self.starters.append(starter)
        self.log.append((self.room, config.seed))

    @property
    def trains_here(self):
        return bool(self.started) and self.hold is not None and not self.hold.is_set()

    def wait(self, timeout=None):
        if self.hold is not None:
            self.hold.wait(timeout)


class RecordingRooms:
    """``manager_for(room)``: one RecordingManager per room, all writing to one log of (room, seed) in training order."""

    def __init__(self, **manager_options):
        self.log, self.managers, self.options = [], {}, manager_options

    def __call__(self, room):
        if room not in self.managers:
            self.managers[room] = RecordingManager(log=self.log, room=room, **self.options)
        return self.managers[room]


def only_room(manager):
    """A ``manager_for`` that gives ``manager`` for the open studio (DEFAULT_ROOM) and fails for any room."""
    def manager_for(room):
        assert room == DEFAULT_ROOM, room
        return manager
    return manager_for


def work_off_the_queue(url, manager_for, database):
    """A worker that takes every queued run and returns, in a thread of its own (as a server runs one: the
    test process may have an event loop running already)."""
    worker = threading.Thread(target=run_worker, args=(url, manager_for, database), kwargs={"wait_for_jobs": False})
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()


@pytest.fixture
def database(postgres_url):
    database = ClassSet(postgres_url)
    database.schema_revision()  # the queue's tables come with the app's migrations
    yield database
    database.dispose()


def test_only_postgresql_goes_through_the_queue(tmp_path):
    assert uses_queue("postgresql+psycopg://user@host/db")
    assert not uses_queue(f"sqlite:///{tmp_path / 'app.sqlite'}")


def test_in_process_jobs_start_the_run_at_once():
    manager = RecordingManager()
    InProcessJobs(only_room(manager)).start(TINY)
    assert manager.started == [TINY]


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_in_process_runs_train_one_at_a_time_rooms_first_and_a_room_cancels_only_its_own():
    first_run_ends = threading.Event()
    rooms = RecordingRooms()
    rooms("CDFHJK").hold = first_run_ends  # the first room's run trains until the test lets it end
    jobs = InProcessJobs(rooms)
    assert jobs.start(dataclasses.replace(TINY, seed=1), room="CDFHJK") is None and rooms.log == [("CDFHJK", 1)]
    jobs.start(dataclasses.replace(TINY, seed=2), room="")  # a visitor of the open studio: after every room
    jobs.start(dataclasses.replace(TINY, seed=3), room="MNPQRT")
    jobs.start(dataclasses.replace(TINY, seed=4), room="VWXY34")
    queue = jobs.queue()
    assert [(run.room, run.training) for run in queue] == [
        ("CDFHJK", True), ("MNPQRT", False), ("VWXY34", False), ("", False)]
    assert [run.room for run in place_in_queue(queue, "VWXY34")] == ["CDFHJK", "MNPQRT"]
    assert place_in_queue(queue, "CDFHJK") is None  # training, not waiting
    assert jobs.cancel_waiting("VWXY34") == 1 and jobs.cancel_waiting("VWXY34") == 0
    assert rooms.log == [("CDFHJK", 1)]  # nothing else starts while the first run trains

    first_run_ends.set()
    assert wait_for(lambda: len(rooms.log) == 3), rooms.log
    assert rooms.log == [("CDFHJK", 1), ("MNPQRT", 3), ("", 2)]
    assert wait_for(lambda: jobs.queue() == [])


def test_the_starter_travels_through_in_process_jobs_to_the_run_s_snapshot_and_a_visitor_cancels_only_their_own(
        tmp_path, small_mnist):
    alice_loads, bob_loads = threading.Event(), threading.Event()  # each run loads its data until its gate opens
    gates = iter([alice_loads, bob_loads])

    def load_data():
        next(gates).wait(30)
        return small_mnist

    manager = RunManager(tmp_path, load_data=load_data, prediction_wall=False)
    jobs = InProcessJobs(only_room(manager))
    try:
        jobs.start(TINY, starter=ALICE)
        assert manager.snapshot().starter == ALICE
        jobs.start(dataclasses.replace(TINY, seed=2), starter=BOB)  # waits behind Alice's run
        queue = jobs.queue()
        assert [(run.starter, run.training) for run in queue] == [(ALICE, True), (BOB, False)]
        assert place_in_queue(queue, DEFAULT_ROOM, ALICE) is None  # Alice has no run waiting
        assert place_in_queue(queue, DEFAULT_ROOM, BOB) == queue[:1]
        assert place_in_queue(queue, DEFAULT_ROOM) == queue[:1]  # the room's, whoever started it
        assert jobs.cancel_waiting(DEFAULT_ROOM, starter=ALICE) == 0 and len(jobs.queue()) == 2

        assert not manager.stop(run_name="20260101-000000-tutorial-not-this-one")  # a Stop for another run
        assert manager.snapshot().state == RunState.LOADING
        manager.stop()  # Alice's run ends: Bob's starts, as Bob's
        alice_loads.set()
        assert wait_for(lambda: manager.snapshot().starter == BOB and manager.snapshot().active, seconds=30)
    finally:
        manager.stop()
        alice_loads.set()
        bob_loads.set()
        manager.wait(30)


def test_a_queued_in_process_run_is_checked_before_it_waits():
    hold = threading.Event()
    rooms = RecordingRooms(hold=hold)
    jobs = InProcessJobs(rooms)
    jobs.start(TINY, room="CDFHJK")
    with pytest.raises(ValueError, match="epochs"):
        jobs.start(dataclasses.replace(TINY, epochs=10_000), room="MNPQRT")
    assert [run.room for run in jobs.queue()] == ["CDFHJK"]
    hold.set()


def test_queued_runs_wait_and_a_worker_trains_them_one_at_a_time_in_order(database, postgres_url):
    jobs = QueuedJobs(postgres_url)
    first, second = TINY, dataclasses.replace(TINY, seed=7)
    jobs.start(first)
    jobs.start(second)
    assert len(jobs.queue()) == 2

    manager = RecordingManager()
    work_off_the_queue(postgres_url, only_room(manager), database)
    assert [config.seed for config in manager.started] == [first.seed, second.seed]
    time.sleep(0.6)  # the server's copy of the queue is reused for half a second
    assert jobs.queue() == []


def test_queued_runs_train_in_their_room_rooms_first_and_a_room_cancels_only_its_own(database, postgres_url):
    jobs = QueuedJobs(postgres_url)
    jobs.start(dataclasses.replace(TINY, seed=1), room="")
    jobs.start(dataclasses.replace(TINY, seed=2, epochs=3), room="CDFHJK")
    jobs.start(dataclasses.replace(TINY, seed=3), room="MNPQRT")
    jobs.start(dataclasses.replace(TINY, seed=4), room="CDFHJK")
    queue = jobs.queue()
    assert [run.room for run in queue] == ["CDFHJK", "MNPQRT", "CDFHJK", ""]
    assert queue[0].epochs == 3 and queue[0].train_samples == 900 and not queue[0].training
    assert [run.room for run in place_in_queue(queue, "MNPQRT")] == ["CDFHJK"]
    assert jobs.cancel_waiting("CDFHJK") == 2

    rooms = RecordingRooms()
    work_off_the_queue(postgres_url, rooms, database)
    assert rooms.log == [("MNPQRT", 3), ("", 1)]


def test_a_queued_run_s_starter_travels_to_the_worker_and_a_visitor_cancels_only_their_own(database, postgres_url):
    jobs = QueuedJobs(postgres_url)
    jobs.start(TINY, starter=ALICE)
    jobs.start(dataclasses.replace(TINY, seed=2), starter=BOB)
    jobs.start(dataclasses.replace(TINY, seed=3), starter=BOB)
    queue = jobs.queue()
    assert [run.starter for run in queue] == [ALICE, BOB, BOB]
    assert place_in_queue(queue, DEFAULT_ROOM, BOB) == queue[:1]
    assert jobs.cancel_waiting(DEFAULT_ROOM, starter=BOB) == 2

    manager = RecordingManager()
    work_off_the_queue(postgres_url, only_room(manager), database)
    assert manager.starters == [ALICE]


def test_a_waiting_run_can_be_cancelled(database, postgres_url):
    jobs = QueuedJobs(postgres_url)
    jobs.start(TINY)
    assert jobs.cancel_waiting() == 1
    manager = RecordingManager()
    work_off_the_queue(postgres_url, only_room(manager), database)
    assert manager.started == [] and jobs.queue() == []


def test_bad_settings_are_refused_before_they_are_queued(database, postgres_url):
    jobs = QueuedJobs(postgres_url)
    with pytest.raises(ValueError, match="epochs"):
        jobs.start(dataclasses.replace(TINY, epochs=10_000))
    with pytest.raises(ValueError, match="class set"):
        jobs.start(dataclasses.replace(TINY, use_class_set=True), class_data=None)
    assert jobs.queue() == []


def test_a_job_waits_for_the_class_live_run_to_end_and_gives_up_when_aborted(database):
    manager = RecordingManager(busy=2)
    train_job(manager, dataclasses.asdict(TINY), database, retry_seconds=0.01)
    assert manager.started == [TINY]  # started on the third try

    never_free = RecordingManager(busy=10**6)
    aborted = threading.Event()
    threading.Timer(0.1, aborted.set).start()
    train_job(never_free, dataclasses.asdict(TINY), database, should_abort=aborted.is_set, retry_seconds=0.01)
    assert never_free.started == []


def test_a_queue_that_cannot_be_reached_is_said_at_once_and_not_asked_again_for_a_while(postgres_server_url, monkeypatch):
    monkeypatch.setattr(jobs_module, "CONNECT_SECONDS", 0.5)
    unreachable = "postgresql+psycopg://postgres@/postgres?host=/nonexistent-socket-folder"
    jobs = QueuedJobs(unreachable)
    started = time.monotonic()
    with pytest.raises(ClassSetUnavailableError, match="cannot be reached"):
        jobs.queue()
    first = time.monotonic() - started
    with pytest.raises(ClassSetUnavailableError, match="cannot be reached"):
        jobs.start(TINY)
    assert first < 5 and time.monotonic() - started - first < 0.1  # the second answer comes without a try


def test_the_worker_command_explains_that_sqlite_needs_no_worker(tmp_path, capsys):
    assert worker_main(["--database-url", f"sqlite:///{tmp_path / 'app.sqlite'}"]) == 2
    assert "with SQLite" in capsys.readouterr().err


def test_a_server_s_own_worker_takes_runs_as_they_come_and_stops_with_the_server(database, postgres_url):
    manager, stop = RecordingManager(), threading.Event()
    worker = threading.Thread(target=run_worker, args=(postgres_url, only_room(manager), database, stop), daemon=True)
    worker.start()
    QueuedJobs(postgres_url).start(TINY)
    deadline = time.monotonic() + 10
    while not manager.started and time.monotonic() < deadline:
        time.sleep(0.05)
    taken = 10 - (deadline - time.monotonic())
    stop.set()
    worker.join(timeout=10)
    assert [config.train_size for config in manager.started] == [TINY.train_size] and taken < 3.0, f"taken after {taken:.1f} s"
    assert not worker.is_alive()


def test_a_server_s_own_worker_waits_quietly_for_a_database_that_is_down(postgres_server_url, caplog):
    stop = threading.Event()
    worker = threading.Thread(
        target=keep_a_worker_running, args=("postgresql+psycopg://postgres@/postgres?host=/nonexistent-socket-folder",
                                            RecordingManager(), None, stop), kwargs={"retry_seconds": 0.2}, daemon=True,
    )
    worker.start()
    time.sleep(1.0)  # several tries
    stop.set()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert not [record for record in caplog.records if record.name.startswith("psycopg.pool")]  # no pool retrying
