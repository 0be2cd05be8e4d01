"""Training runs as jobs: one interface, a queue in PostgreSQL or this process.

With PostgreSQL a run started on a page is a job in procrastinate's queue (its tables live in the app's
database, migration ``0008``): any worker that reaches the database takes it, each worker one run at a
time, in the order they were started (``python -m classroom worker``, or the worker each server runs
for itself unless told otherwise). With SQLite, :class:`InProcessJobs` trains on the server itself, as
before: the embedded default needs no extra process. Either way the run is seen on every server through
the live board and stopped through it (a flag the training process reads every half second).
"""
import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import threading
import time
import traceback
import typing

import procrastinate
import psycopg
import psycopg_pool
import sqlalchemy as sa
from procrastinate.exceptions import ConnectorException

from classroom.class_set import DEFAULT_ROOM, ClassSetUnavailableError
from classroom.rooms import is_among

# mnist_cnn.training and classroom.run_manager (TensorFlow) are imported where used: the home page imports
# this module and must render before TensorFlow is loaded. (procrastinate and psycopg take 0.1 s together.)
QUEUE = "training"
TASK = "train_run"
WAITING_READ_SECONDS = 0.5  # how long a server reuses its count of waiting runs (every page asks every second)
CLAIM_RETRY_SECONDS = 1.0  # a worker whose run must wait for the class's live run to end asks again this often
WORKER_MODE_ENV = "MNIST_CNN_TRAINING_WORKER"  # "separate": servers only queue runs; workers of their own train them
CONNECT_SECONDS = 3  # how long a page waits for the queue's database before saying it cannot be reached
RETRY_SECONDS = 15.0  # after a failure, the queue is not asked again (a page says so at once) for this long
# Connections per process: the pages' pool is small (a count and an insert now and then); the worker's needs
# one to listen and one to work.
POOL_SIZES = {"min_size": 1, "max_size": 3}
ROOM_PRIORITY = 1  # a class room's runs train before the open studio's visitors' runs (priority 0)


def uses_queue(url):
    """Whether runs on the database ``url`` go through the job queue (PostgreSQL) or train in-process."""
    return sa.make_url(str(url)).get_backend_name() == "postgresql"


def libpq_conninfo(url):
    """``url`` (SQLAlchemy's ``postgresql+psycopg://...``) as the libpq address procrastinate connects to."""
    return sa.make_url(str(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def job_config(config):
    """A run's settings as the job's JSON arguments."""
    return dataclasses.asdict(config)


@dataclasses.dataclass(frozen=True)
class QueuedRun:
    """A run in the server's queue, as any room may see it: whose it is and how long it trains."""

    room: str
    epochs: int
    train_samples: int
    training: bool  # being trained now; else waiting
    starter: str = ""  # who started it (classroom.rooms.visitor_digest); "" when unknown


def queued_run(room, config, training, starter=""):
    config = dict(config)
    samples = int(config.get("train_size", 0) * (1 - config.get("validation_split", 0.0)))
    return QueuedRun(room, int(config.get("epochs", 1)), samples, training, starter)


def is_theirs(run_room, run_starter, room, starter=None):
    """Whether a run of ``run_room`` started by ``run_starter`` is ``room``'s, and ``starter``'s unless that is None."""
    return run_room == room and is_among(starter, run_starter)


def place_in_queue(queue, room, starter=None):
    """The runs (:class:`QueuedRun`) before ``room``'s first waiting run (``starter``'s, unless that is None), or
    None when it has none waiting."""
    for position, run in enumerate(queue):
        if is_theirs(run.room, run.starter, room, starter) and not run.training:
            return queue[:position]
    return None


def checked_run(config, class_data, steps_per_call):
    """``(config, class_data)`` checked now as the run's start will check them (ValueError), for a run that waits."""
    from mnist_cnn.training import check_class_data  # imports TensorFlow

    config = dataclasses.replace(config, steps_per_call=steps_per_call).validated()
    return config, check_class_data(config, class_data)


def job_priority(room):
    """A room's run goes before the open studio's (procrastinate runs higher priorities first)."""
    return ROOM_PRIORITY if room != DEFAULT_ROOM else 0


class _Waiting(typing.NamedTuple):
    """A run in :class:`InProcessJobs`' heap, which pops the smallest: rooms' runs first, then in starting order."""
    priority: int  # -job_priority(room)
    order: int
    room: str
    config: object
    class_data: object
    starter: str


class _Training(typing.NamedTuple):
    """A run an :class:`InProcessJobs` started: whose, with what settings, and the manager that trains it."""

    room: str
    config: object
    manager: object
    starter: str


class InProcessJobs:
    """Runs trained in this process, one at a time: at once when none trains, else queued (rooms' runs
    first, then in the order they were started) and started by a thread of its own when the run before ends.

    ``manager_for(room)``: the room's :class:`~classroom.run_manager.RunManager` (:func:`classroom.room_runs.room_run_manager`).
    """

    def __init__(self, manager_for):
        self._manager_for = manager_for
        self._lock = threading.Lock()
        self._queue = []  # heap of _Waiting
        self._order = itertools.count()
        self._training = None  # the _Training this queue started last
        self._draining = False

    def _busy(self):
        return self._training is not None and self._training.manager.trains_here

    def start(self, config, class_data=None, room=DEFAULT_ROOM, starter=""):
        """Start ``config`` for ``room`` now (errors as :meth:`RunManager.start`), or queue it behind the run
        training here (returns None then; its settings are checked first, ValueError). ``starter``: who started
        it (:func:`classroom.rooms.visitor_digest`)."""
        manager = self._manager_for(room)
        with self._lock:
            if not self._queue and not self._busy():
                run_dir = manager.start(config, class_data=class_data, starter=starter)
                self._training = _Training(room, config, manager, starter)
                return run_dir
            config, class_data = checked_run(config, class_data, manager.steps_per_call)
            heapq.heappush(self._queue, _Waiting(-job_priority(room), next(self._order), room, config, class_data, starter))
            if not self._draining:
                self._draining = True
                threading.Thread(target=self._drain, name="mnist-run-queue", daemon=True).start()
        return None

    def _drain(self):
        while True:
            with self._lock:
                training = self._training
            if training is not None:
                training.manager.wait()
            with self._lock:
                if self._busy():
                    continue  # a run started by start() in the meantime
                if not self._queue:
                    self._draining = False
                    return
                run = heapq.heappop(self._queue)
                try:
                    manager = self._manager_for(run.room)
                    manager.start(run.config, class_data=run.class_data, starter=run.starter)
                    self._training = _Training(run.room, run.config, manager, run.starter)
                except Exception:  # noqa: BLE001 - the folder or the database failed: the next run still starts
                    traceback.print_exc()

    def queue(self):
        """The run training here (if this queue started it) and the waiting runs, in the order they will train."""
        with self._lock:
            training = self._training
            training = [queued_run(training.room, dataclasses.asdict(training.config), True, training.starter)] if self._busy() else []
            waiting = [queued_run(run.room, dataclasses.asdict(run.config), False, run.starter) for run in sorted(self._queue)]
        return training + waiting

    def cancel_waiting(self, room=DEFAULT_ROOM, starter=None):
        """Take ``room``'s waiting runs (``starter``'s, unless that is None) out of the queue; how many were."""
        with self._lock:
            kept = [run for run in self._queue if not is_theirs(run.room, run.starter, room, starter)]
            cancelled = len(self._queue) - len(kept)
            heapq.heapify(kept)
            self._queue = kept
        return cancelled


class QueuedJobs:
    """Runs queued in procrastinate's tables in the PostgreSQL database at ``url``.

    Database failures raise :class:`~classroom.class_set.ClassSetUnavailableError`.
    """

    def __init__(self, url, steps_per_call=1, clock=time.monotonic):
        self.url = url
        self.app = queue_app(url)
        self._pool, self._lock_open = None, threading.Lock()
        self._down_until, self._down_message = float("-inf"), ""
        self._steps_per_call = steps_per_call
        self._clock = clock
        self._lock = threading.Lock()
        self._queue, self._queue_read_at = [], float("-inf")

    def start(self, config, class_data=None, room=DEFAULT_ROOM, starter=""):
        """Queue ``config`` for ``room``, started by ``starter``, after checking it as the worker will (ValueError);
        returns the job's id.

        ``class_data`` is only checked: the worker reads the class set from the database when it starts."""
        config, _ = checked_run(config, class_data, self._steps_per_call)
        with self._reaching():
            task = self._open().tasks[TASK].configure(priority=job_priority(room))
            job_id = task.defer(config=job_config(config), room=room, starter=starter)
        self._queue_read_at = float("-inf")
        return job_id

    def _open(self):
        """The app, open on a pool of its own for the server's lifetime (procrastinate's would wait 30 s
        for a database that is down, with the page's visitor waiting too)."""
        with self._lock_open:
            if self._pool is None:
                pool = psycopg_pool.ConnectionPool(
                    libpq_conninfo(self.url), kwargs={"connect_timeout": CONNECT_SECONDS}, timeout=CONNECT_SECONDS,
                    check=psycopg_pool.ConnectionPool.check_connection, open=False, **POOL_SIZES,
                )
                try:
                    pool.open(wait=True, timeout=CONNECT_SECONDS)
                except BaseException:
                    pool.close()  # no pool left retrying in the background
                    raise
                self.app.open(pool)
                self._pool = pool
        return self.app

    @contextlib.contextmanager
    def _reaching(self):
        """A block that talks to the queue: refused at once while the queue is known to be down, and a
        failure raised as ClassSetUnavailableError, remembered for RETRY_SECONDS."""
        if self._clock() < self._down_until:
            raise ClassSetUnavailableError(self._down_message)
        try:
            yield
        except (ConnectorException, psycopg.Error, OSError) as error:  # psycopg.Error: a pool's timeout too
            cause = error.__cause__ or error
            self._down_message = f"The job queue's database cannot be reached ({type(cause).__name__}: {cause})."
            self._down_until = self._clock() + RETRY_SECONDS
            raise ClassSetUnavailableError(self._down_message) from error

    def _jobs(self):
        manager = self._open().job_manager
        # A "doing" job without a worker is a killed worker's (procrastinate unsets it when the worker's
        # heartbeat is pruned): nothing trains it.
        doing = [job for job in manager.list_jobs(queue=QUEUE, status="doing") if job.worker_id is not None]
        return doing + manager.list_jobs(queue=QUEUE, status="todo")

    def queue(self):
        """The runs training and waiting (:class:`QueuedRun`), in the order they train; read at most every
        WAITING_READ_SECONDS (every page asks every second)."""
        with self._lock:
            if self._clock() - self._queue_read_at >= WAITING_READ_SECONDS:
                with self._reaching():
                    jobs = sorted(self._jobs(), key=lambda job: (job.status != "doing", -job.priority, job.id))
                self._queue = [queued_run(job.task_kwargs.get("room", DEFAULT_ROOM), job.task_kwargs.get("config", {}),
                                          job.status == "doing", job.task_kwargs.get("starter", "")) for job in jobs]
                self._queue_read_at = self._clock()
            return self._queue

    def cancel_waiting(self, room=DEFAULT_ROOM, starter=None):
        """Take ``room``'s waiting runs (``starter``'s, unless that is None) out of the queue; how many were."""
        with self._reaching():
            manager = self._open().job_manager
            cancelled = sum(
                manager.cancel_job_by_id(job.id) for job in manager.list_jobs(queue=QUEUE, status="todo")
                if is_theirs(job.task_kwargs.get("room", DEFAULT_ROOM), job.task_kwargs.get("starter", ""), room, starter)
            )
        self._queue_read_at = float("-inf")
        return cancelled


def queue_app(url, run_job=None):
    """procrastinate's App on the database ``url`` with the training task; ``run_job(config, room, starter, should_abort)``
    trains a job's run (only a worker needs it)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_conninfo(url), timeout=CONNECT_SECONDS, kwargs={"connect_timeout": CONNECT_SECONDS}, **POOL_SIZES
    )
    app = procrastinate.App(connector=connector)

    @app.task(name=TASK, queue=QUEUE, pass_context=True)
    def train_run(context, config, room=DEFAULT_ROOM, starter=""):  # a job queued by an older version has no starter
        if run_job is None:
            raise RuntimeError("This process only queues runs; it has no worker to train them.")
        run_job(config, room, starter, context.should_abort)

    return app


def train_job(manager, config, class_set, should_abort=lambda: False, retry_seconds=CLAIM_RETRY_SECONDS, starter=""):
    """A worker's job: train ``config`` (a job's JSON arguments), started by ``starter``, with ``manager`` (the
    room's) once the room's live run has ended, and return when the run does. ``class_set`` (the room's) gives the
    digits of a run that trains on them."""
    from classroom.run_manager import RunAlreadyActiveError  # imports TensorFlow
    from mnist_cnn.training import TrainingConfig

    config = TrainingConfig(**config)
    while not should_abort():
        try:
            class_data = class_set.images_and_labels() if config.use_class_set else None
            manager.start(config, class_data=class_data, starter=starter)
        except RunAlreadyActiveError:
            time.sleep(retry_seconds)  # another worker's run is the class's live run: this one waits its turn
            continue
        except (ValueError, ClassSetUnavailableError):
            traceback.print_exc()  # the class set changed since the run was queued: nothing to train
            return
        manager.wait()
        return


def keep_a_worker_running(url, manager_for, database, stop, retry_seconds=RETRY_SECONDS):
    """A server's own worker (in a thread of its own): :func:`run_worker` until ``stop`` is set, started
    again after a failure (the database was down) rather than leaving the server without one."""
    while not stop.is_set():
        try:
            # One plain connection first: a worker's pool on a database that is down retries (and logs) for 30 s.
            psycopg.connect(libpq_conninfo(url), connect_timeout=CONNECT_SECONDS).close()
            run_worker(url, manager_for, database, stop)
        except psycopg.OperationalError:
            pass  # the database is down: the pages say so; try again later
        except Exception:  # noqa: BLE001 - anything: the next try may work, and the pages must not depend on it
            traceback.print_exc()
        stop.wait(retry_seconds)


def run_worker(url, manager_for, database, stop=None, wait_for_jobs=True):
    """Take training jobs from the queue on ``url`` one at a time until ``stop`` (a threading.Event) is set
    (in a thread of its own: the worker's event loop) or, with ``wait_for_jobs`` False, until none is left.

    ``manager_for(room)``: the room's run manager; ``database``: the app's :class:`~classroom.class_set.ClassSet`."""
    def run_job(config, room, starter, should_abort):
        train_job(manager_for(room), config, database.in_room(room), should_abort, starter=starter)

    app = queue_app(url, run_job=run_job)

    options = {
        "queues": [QUEUE], "concurrency": 1, "wait": wait_for_jobs, "install_signal_handlers": stop is None,
        # LISTEN/NOTIFY wakes it at once; the poll catches a run queued while it was still starting to listen.
        "fetch_job_polling_interval": 1.0,
    }

    async def work():
        async with app.open_async():
            if stop is None:  # the command line: until a signal, and its errors are the caller's
                await app.run_worker_async(**options)
                return
            worker = asyncio.ensure_future(app.run_worker_async(**options))
            while not stop.is_set() and not worker.done():
                await asyncio.sleep(0.2)
            if not worker.done():
                worker.cancel()  # procrastinate's worker shuts down when its task is cancelled
            await asyncio.gather(worker, return_exceptions=True)

    asyncio.run(work())
