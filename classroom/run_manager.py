"""One training run at a time per server, trained in a background thread and watched by anyone.

The Train page never trains inside a page script: it asks the process-wide :class:`RunManager`
to start a run, then polls :meth:`RunManager.snapshot`. The run goes on when pages are left,
reloaded or closed; every visitor sees the same run. Who may start and stop runs is the page's
decision (:func:`classroom.rooms.may_control_run`): a run keeps who started it (a digest of their
browser's visitor id, not the browser session), so that a reload or another tab of the same browser
still stops it.
"""
import contextlib
import dataclasses
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from classroom.class_set import ClassSetUnavailableError
from classroom.live_board import PUBLISH_SECONDS
from mnist_cnn.data import MnistUnavailableError, load_mnist, load_test_set
from mnist_cnn.model import ModelFileError
from mnist_cnn.paths import runs_dir
from mnist_cnn.prediction_wall import PredictionWall
from mnist_cnn.roofline import machine_sgemm_gflops, preset_training_flops
from mnist_cnn.run_folder import ACTIVE_STATES, RunsFolderError, RunState, check_runs_folder, new_run_dir
from mnist_cnn.run_record import RunRecord
from mnist_cnn.training import BatchEvent, TrainingConfig, check_class_data, train

# The time left is estimated from the rate after the first batches (they trace and compile the step,
# a second or more), once a few more have been timed: the first batch alone said "672 s" for a minute.
WARM_UP_BATCHES = 3
TIMED_BATCHES_FOR_ESTIMATE = 5


class RunAlreadyActiveError(RuntimeError):
    """A run is already training on this server or another one on the same database."""


@dataclass(frozen=True)
class RunSnapshot:
    """An immutable view of the current (or last) run, safe to read from any thread.

    ``record`` is the run's own record, which the training thread goes on appending to: read its first
    ``batch_count`` batches and ``epoch_count`` epochs (taking a snapshot copies no history: every
    spectator takes one every second)."""

    state: RunState = RunState.IDLE
    config: TrainingConfig | None = None
    run_dir: Path | None = None
    message: str = ""
    record: RunRecord = field(default_factory=RunRecord)
    batch_count: int = 0
    epoch_count: int = 0
    last_batch: BatchEvent | None = None
    elapsed_seconds: float = 0.0
    version: int = 0
    wall: object = None  # a prediction_wall.WallState, or None
    warmed_up_at: tuple | None = None  # (batches done, seconds elapsed) after the warm-up batches
    starter: str = ""  # who started it (classroom.rooms.visitor_digest); "" when unknown

    @property
    def active(self):
        return self.state in ACTIVE_STATES

    @property
    def completed_epochs(self):
        return self.epoch_count

    @property
    def progress(self):
        return self.last_batch.progress if self.last_batch else 0.0

    @property
    def remaining_seconds(self):
        """Seconds left at the steady rate since the warm-up, or None until enough batches were timed."""
        if not self.last_batch or self.warmed_up_at is None:
            return None
        done, total = batches_done(self.last_batch), self.last_batch.epochs * self.last_batch.batches
        warm_done, warm_seconds = self.warmed_up_at
        if done - warm_done < TIMED_BATCHES_FOR_ESTIMATE:
            return None
        seconds_per_batch = (self.last_batch.elapsed_seconds - warm_seconds) / (done - warm_done)
        return seconds_per_batch * (total - done)


def batches_done(event):
    """How many batches of the whole run are done at a :class:`BatchEvent`."""
    return (event.epoch - 1) * event.batches + event.batch


@dataclass
class _LiveRun:
    config: TrainingConfig
    stop_requested: threading.Event = field(default_factory=threading.Event)
    state: RunState = RunState.LOADING
    run_dir: Path | None = None
    message: str = ""
    record: RunRecord = field(default_factory=RunRecord)  # appended to by train(), in the training thread
    batch_count: int = 0  # points of record complete when last counted (a reader's prefix)
    epoch_count: int = 0
    last_batch: BatchEvent | None = None
    class_data: tuple | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    version: int = 0
    thread: threading.Thread | None = None
    wall: object = None
    warmed_up_at: tuple | None = None
    starter: str = ""


class RunManager:
    """Starts, stops and reports training runs; at most one trains at a time."""

    def __init__(self, runs_root=None, load_data=load_mnist, steps_per_call=1, prediction_wall=True, on_saved=None, board=None):
        self.runs_root = Path(runs_root or runs_dir())
        self._on_saved = on_saved  # called with the run folder after every save (the run store's copy)
        self._board = board  # a LiveBoard: the servers on one database share one live run
        self._prediction_wall = prediction_wall
        self._load_data = load_data
        # One batch per compiled call, so a stop takes effect within one batch.
        self._steps_per_call = steps_per_call
        self._lock = threading.Lock()
        self._run = None

    def start(self, config, class_data=None, starter=""):
        """Validate ``config`` and start training it in the background; return the run's folder.

        ``class_data``: the class set's ``(images, labels)`` for a config that trains on it; ``starter``: who
        started it (:func:`classroom.rooms.visitor_digest`), kept in its snapshot.
        Raises ValueError for bad settings, RunAlreadyActiveError while another run trains,
        RunsFolderError when the run could not be saved.
        """
        config = dataclasses.replace(config, steps_per_call=self._steps_per_call).validated()
        class_data = check_class_data(config, class_data)
        with self._lock:
            if self._run is not None and self._run.state in ACTIVE_STATES:
                raise RunAlreadyActiveError(
                    "A run is already training on this server: watch it live, or wait for it to finish "
                    "before starting another."
                )
            check_runs_folder(self.runs_root)
            run = _LiveRun(config=config, class_data=class_data, record=RunRecord(config=dataclasses.asdict(config)), starter=starter)
            run.run_dir = new_run_dir(self.runs_root, config.preset)
            if not self._claim(run.run_dir.name):
                run.run_dir.rmdir()
                raise RunAlreadyActiveError(
                    "A run is already training on another server of this class: watch it live, or wait for it to "
                    "finish before starting another."
                )
            run.thread = threading.Thread(target=self._train, args=(run,), name="mnist-training", daemon=True)
            self._run = run
            run.thread.start()  # under the lock: whoever sees the run may wait() for its thread at once
        if self._board is not None:
            threading.Thread(target=self._publish, args=(run,), name="mnist-live-board", daemon=True).start()
        return run.run_dir

    def _claim(self, run_name):
        if self._board is None:
            return True
        try:
            return self._board.claim(run_name)
        except ClassSetUnavailableError:
            traceback.print_exc()
            return True  # the database is down: this server trains alone, as it would without one

    def _publish(self, run):
        """Publish ``run`` to the other servers until it ends, and honour a Stop pressed on one of them."""
        while True:
            snapshot = self._local_snapshot()
            try:
                if self._board.publish(run.run_dir.name, snapshot) and snapshot.active:
                    self.stop()
            except ClassSetUnavailableError:
                traceback.print_exc()
            if not snapshot.active:
                return  # its last state is published
            time.sleep(PUBLISH_SECONDS)

    def stop(self, run_name=None):
        """Ask the current run to stop after its current batch (a run on another server: at its next
        publish); False when no run is active, or it is not ``run_name`` (a folder's name) when that is given."""
        with self._lock:
            run = self._run
            if run is not None and run.state in ACTIVE_STATES:
                if run_name not in (None, run.run_dir.name):
                    return False
                run.stop_requested.set()
                run.state = RunState.STOPPING if run.state == RunState.TRAINING else run.state
                run.version += 1
                return True
        elsewhere = self._elsewhere()
        try:
            return (elsewhere is not None and elsewhere.active and run_name in (None, elsewhere.run_name)
                    and self._board.request_stop(elsewhere.run_name))
        except ClassSetUnavailableError:
            return False

    @property
    def trains_here(self):
        """Whether this manager's own run (not another server's) is loading, training or stopping."""
        with self._lock:
            return self._run is not None and self._run.state in ACTIVE_STATES

    @property
    def steps_per_call(self):
        """Batches per compiled call of the runs this manager trains."""
        return self._steps_per_call

    def snapshot(self):
        """The current run as an immutable :class:`RunSnapshot` (state idle before any run): this server's,
        or the class's latest when another server on the database started it."""
        local = self._local_snapshot()
        if local.active:
            return local
        elsewhere = self._elsewhere()
        return local if elsewhere is None else self._published_snapshot(elsewhere)

    def _elsewhere(self):
        if self._board is None:
            return None
        try:
            return self._board.elsewhere()
        except ClassSetUnavailableError:
            return None  # the database is down: this server shows its own runs only

    def _published_snapshot(self, published):
        try:
            config = TrainingConfig(**published.config)
            last_batch = BatchEvent(**published.last_batch) if published.last_batch else None
        except TypeError:  # published by another version of the app
            config, last_batch = None, None
        record = published.record
        return RunSnapshot(
            state=published.state, config=config, run_dir=self.runs_root / published.run_name, message=published.message,
            record=record, batch_count=len(record.batch_history), epoch_count=len(record.epoch_history),
            last_batch=last_batch, elapsed_seconds=published.elapsed_seconds, version=published.version,
            warmed_up_at=published.warmed_up_at, starter=published.starter,
        )

    def _local_snapshot(self):
        with self._lock:
            run = self._run
            if run is None:
                return RunSnapshot()
            end = run.finished if run.finished is not None else time.monotonic()
            return RunSnapshot(
                state=run.state,
                config=run.config,
                run_dir=run.run_dir,
                message=run.message,
                record=run.record,
                batch_count=run.batch_count,
                epoch_count=run.epoch_count,
                last_batch=run.last_batch,
                elapsed_seconds=end - run.started,
                version=run.version,
                wall=run.wall,
                warmed_up_at=run.warmed_up_at,
                starter=run.starter,
            )

    def wait(self, timeout=None):
        """Block until the current run's thread ends (for tests and scripts)."""
        with self._lock:
            run = self._run
        if run is not None and run.thread is not None:
            run.thread.join(timeout)

    def _update(self, run, **changes):
        with self._lock:
            for name, value in changes.items():
                setattr(run, name, value)
            run.version += 1

    def _record(self, run, event):
        """Count the point that train() has just appended to the record (in the training thread)."""
        with self._lock:
            if isinstance(event, BatchEvent):
                run.batch_count = len(run.record.batch_history)
                run.last_batch = event
                if run.warmed_up_at is None and batches_done(event) >= WARM_UP_BATCHES:
                    run.warmed_up_at = (batches_done(event), event.elapsed_seconds)
            else:
                run.epoch_count = len(run.record.epoch_history)
            if run.state == RunState.LOADING:
                run.state, run.message = RunState.TRAINING, ""
            run.version += 1

    def _watch(self, run, wall, model, event):
        """The prediction wall's turn, in the training thread (the only one that touches the model)."""
        if run.wall is None:
            return  # disabled after an error: the wall must never stop a run
        try:
            state = wall.watch(model, event)
        except Exception:
            traceback.print_exc()
            self._update(run, wall=None)
            return
        if state is not None:
            self._update(run, wall=state)

    def _train(self, run):
        try:
            data = self._load_data()
            machine_sgemm_gflops()  # measured once per server, before training can slow it (the page's share of it)
            preset_training_flops(run.config.preset)  # the page's work count, before every spectator's page asks for it
            if run.stop_requested.is_set():
                self._stopped_before_training(run)
                return
            wall = PredictionWall(*load_test_set()) if self._prediction_wall else None
            self._update(run, state=RunState.STOPPING if run.stop_requested.is_set() else RunState.TRAINING, message="",
                         wall=wall.state if wall else None)
            result = train(
                run.config,
                data=data,
                on_event=lambda event: self._record(run, event),
                stop_requested=run.stop_requested,
                run_dir=run.run_dir,
                class_data=run.class_data,
                on_model=(lambda model, event: self._watch(run, wall, model, event)) if wall else None,
                record=run.record,
                on_saved=self._on_saved,
            )
            del data
            run.class_data = None
            if result.record.status == RunState.STOPPED and not len(result.record.batch_history):
                self._stopped_before_training(run)  # stopped while it set up: an untrained model is no run
                return
            self._update(run, state=RunState(result.record.status), finished=time.monotonic())
        except (MnistUnavailableError, RunsFolderError, ModelFileError, ValueError, OSError) as error:
            self._fail(run, str(error))
        except Exception as error:  # a bug must not leave the run "training" for ever
            traceback.print_exc()
            self._fail(run, f"Training failed unexpectedly: {error!r}")

    def _stopped_before_training(self, run):
        self._update(run, state=RunState.STOPPED, message="Stopped before training began.", finished=time.monotonic())
        shutil.rmtree(run.run_dir, ignore_errors=True)  # nothing trained, nothing to keep: no empty run left behind

    def _fail(self, run, message):
        self._update(run, state=RunState.FAILED, message=message, finished=time.monotonic())
        with contextlib.suppress(OSError):
            run.run_dir.rmdir()  # only if empty: the run failed before it saved anything


_managers = {}
_managers_lock = threading.Lock()


def get_run_manager(runs_root=None, load_data=load_mnist, on_saved=None, board=None):
    """The process-wide :class:`RunManager` for a runs folder (default: ``runs_dir()``).

    ``load_data``, ``on_saved`` and ``board`` are used only by the call that creates the manager.
    """
    root = Path(runs_root or runs_dir()).resolve()
    with _managers_lock:
        if root not in _managers:
            _managers[root] = RunManager(root, load_data=load_data, on_saved=on_saved, board=board)
        return _managers[root]

