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
import threading
import time
import traceback

import sqlalchemy as sa

from classroom.class_set import ClassSetUnavailableError

# procrastinate, psycopg and mnist_cnn.training (TensorFlow) are imported where used: the home page imports
# this module and must render before they are loaded.
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


def uses_queue(url):
    """Whether runs on the database ``url`` go through the job queue (PostgreSQL) or train in-process."""
    return sa.make_url(str(url)).get_backend_name() == "postgresql"


def libpq_conninfo(url):
    """``url`` (SQLAlchemy's ``postgresql+psycopg://...``) as the libpq address procrastinate connects to."""
    return sa.make_url(str(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def job_config(config):
    """A run's settings as the job's JSON arguments."""
    return dataclasses.asdict(config)


class InProcessJobs:
    """Runs trained by this server's :class:`~classroom.run_manager.RunManager`, as soon as they start."""

    def __init__(self, manager):
        self.manager = manager

    def start(self, config, class_data=None):
        """Start ``config`` now (errors as :meth:`RunManager.start`)."""
        return self.manager.start(config, class_data=class_data)

    def waiting(self):
        return 0

    def cancel_waiting(self):
        return 0


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
        self._waiting, self._waiting_at = 0, float("-inf")

    def start(self, config, class_data=None):
        """Queue ``config`` after checking it as the worker will (ValueError); returns the job's id.

        ``class_data`` is only checked: the worker reads the class set from the database when it starts."""
        from mnist_cnn.training import check_class_data  # imports TensorFlow

        config = dataclasses.replace(config, steps_per_call=self._steps_per_call).validated()
        check_class_data(config, class_data)
        with self._reaching():
            job_id = self._open().tasks[TASK].defer(config=job_config(config))
        self._waiting_at = float("-inf")
        return job_id

    def _open(self):
        """The app, open on a pool of its own for the server's lifetime (procrastinate's would wait 30 s
        for a database that is down, with the page's visitor waiting too)."""
        import psycopg_pool

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
        import psycopg
        from procrastinate.exceptions import ConnectorException

        if self._clock() < self._down_until:
            raise ClassSetUnavailableError(self._down_message)
        try:
            yield
        except (ConnectorException, psycopg.Error, OSError) as error:  # psycopg.Error: a pool's timeout too
            cause = error.__cause__ or error
            self._down_message = f"The job queue's database cannot be reached ({type(cause).__name__}: {cause})."
            self._down_until = self._clock() + RETRY_SECONDS
            raise ClassSetUnavailableError(self._down_message) from error

    def waiting(self):
        """How many runs wait for a worker (read at most every WAITING_READ_SECONDS)."""
        with self._lock:
            if self._clock() - self._waiting_at >= WAITING_READ_SECONDS:
                with self._reaching():
                    self._waiting = len(self._open().job_manager.list_jobs(queue=QUEUE, status="todo"))
                self._waiting_at = self._clock()
            return self._waiting

    def cancel_waiting(self):
        """Take every waiting run out of the queue; how many were."""
        with self._reaching():
            manager = self._open().job_manager
            cancelled = sum(manager.cancel_job_by_id(job.id) for job in manager.list_jobs(queue=QUEUE, status="todo"))
        self._waiting_at = float("-inf")
        return cancelled


def queue_app(url, run_job=None):
    """procrastinate's App on the database ``url`` with the training task; ``run_job(config, should_abort)``
    trains a job's run (only a worker needs it)."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_conninfo(url), timeout=CONNECT_SECONDS, kwargs={"connect_timeout": CONNECT_SECONDS}, **POOL_SIZES
    )
    app = procrastinate.App(connector=connector)

    @app.task(name=TASK, queue=QUEUE, pass_context=True)
    def train_run(context, config):
        if run_job is None:
            raise RuntimeError("This process only queues runs; it has no worker to train them.")
        run_job(config, context.should_abort)

    return app


def train_job(manager, config, class_set, should_abort=lambda: False, retry_seconds=CLAIM_RETRY_SECONDS):
    """A worker's job: train ``config`` (a job's JSON arguments) with ``manager`` once the class's live run
    has ended, and return when the run does. ``class_set`` gives the digits of a run that trains on them."""
    from classroom.run_manager import RunAlreadyActiveError  # imports TensorFlow
    from mnist_cnn.training import TrainingConfig

    config = TrainingConfig(**config)
    while not should_abort():
        try:
            class_data = class_set.images_and_labels() if config.use_class_set else None
            manager.start(config, class_data=class_data)
        except RunAlreadyActiveError:
            time.sleep(retry_seconds)  # another worker's run is the class's live run: this one waits its turn
            continue
        except (ValueError, ClassSetUnavailableError):
            traceback.print_exc()  # the class set changed since the run was queued: nothing to train
            return
        manager.wait()
        return


def keep_a_worker_running(url, manager, class_set, stop, retry_seconds=RETRY_SECONDS):
    """A server's own worker (in a thread of its own): :func:`run_worker` until ``stop`` is set, started
    again after a failure (the database was down) rather than leaving the server without one."""
    import psycopg

    while not stop.is_set():
        try:
            # One plain connection first: a worker's pool on a database that is down retries (and logs) for 30 s.
            psycopg.connect(libpq_conninfo(url), connect_timeout=CONNECT_SECONDS).close()
            run_worker(url, manager, class_set, stop)
        except psycopg.OperationalError:
            pass  # the database is down: the pages say so; try again later
        except Exception:  # noqa: BLE001 - anything: the next try may work, and the pages must not depend on it
            traceback.print_exc()
        stop.wait(retry_seconds)


def run_worker(url, manager, class_set, stop=None, wait_for_jobs=True):
    """Take training jobs from the queue on ``url`` one at a time until ``stop`` (a threading.Event) is set
    (in a thread of its own: the worker's event loop) or, with ``wait_for_jobs`` False, until none is left."""
    app = queue_app(url, run_job=lambda config, should_abort: train_job(manager, config, class_set, should_abort))

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
