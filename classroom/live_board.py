"""A room's live run as every server on the database sees it.

The server that trains a run publishes it (state, settings, a thinned history, the last batch) to its
room's ``live_run`` row every :data:`PUBLISH_SECONDS`; every other server draws the room's Train page from
that row. A Stop pressed on another server is a flag in the row, which the training server reads at its next
publish and honours. One run trains at a time per room across all servers: :meth:`LiveBoard.claim` refuses a
second while the room's row is fresh; rooms claim independently (their runs share the CPU by waiting in the
job queue, not here). A row not refreshed for :data:`STALE_SECONDS` belongs to a server that died.
"""
import dataclasses
import json
import math
import secrets
import threading
import time

import sqlalchemy as sa

from classroom.class_set import DEFAULT_ROOM, LIVE_RUN, dialect_insert, room_code
from mnist_cnn.run_folder import ACTIVE_STATES, RunState
from mnist_cnn.run_record import BatchPoint, EpochPoint, History, RunRecord

PUBLISH_SECONDS = 0.5  # how often the training server writes the row: others see the run at most ~1 s late
READ_SECONDS = 0.5  # how long a server reuses the row it read (every spectator's page asks every second)
STALE_SECONDS = 5.0  # ten missed publishes: the server died (a busy one still publishes every second or two)
MAX_BATCH_POINTS = 1500  # the history others draw: enough for the chart, small enough to write twice a second


@dataclasses.dataclass(frozen=True)
class PublishedRun:
    """The live run as another server published it: a :class:`~classroom.run_manager.RunSnapshot`'s fields."""

    server_id: str
    run_name: str
    state: RunState
    config: dict
    message: str
    record: RunRecord
    last_batch: dict | None
    elapsed_seconds: float
    version: int
    warmed_up_at: tuple | None
    updated_at: float
    starter: str = ""

    @property
    def active(self):
        return self.state in ACTIVE_STATES


def thinned(record, batch_count, epoch_count):
    """A copy of ``record``'s first ``batch_count`` batches (every k-th, at most MAX_BATCH_POINTS, the
    last always kept) and first ``epoch_count`` epochs."""
    step = max(1, math.ceil(batch_count / MAX_BATCH_POINTS))
    keep = list(range(0, batch_count, step))
    if batch_count and keep[-1] != batch_count - 1:
        keep.append(batch_count - 1)
    batches = {name: [values[i] for i in keep] for name, values in record.batch_history.columns(batch_count).items()}
    return dataclasses.replace(
        record,
        batch_history=History(BatchPoint, batches),
        epoch_history=History(EpochPoint, {name: list(values) for name, values in record.epoch_history.columns(epoch_count).items()}),
    )


def snapshot_json(snapshot):
    """The row's JSON for a :class:`~classroom.run_manager.RunSnapshot`."""
    record = thinned(snapshot.record, snapshot.batch_count, snapshot.epoch_count)
    return json.dumps({
        "state": str(snapshot.state),
        "config": dataclasses.asdict(snapshot.config) if snapshot.config else {},
        "message": snapshot.message,
        "record": record.to_json(),
        "last_batch": dataclasses.asdict(snapshot.last_batch) if snapshot.last_batch else None,
        "elapsed_seconds": snapshot.elapsed_seconds,
        "version": snapshot.version,
        "warmed_up_at": snapshot.warmed_up_at,
        "starter": snapshot.starter,
    })


class LiveBoard:
    """The ``live_run`` row of ``room`` (a join code; DEFAULT_ROOM: the class without a room) in ``database``
    (a :class:`~classroom.class_set.ClassSet`), for one server.

    Database failures raise :class:`~classroom.class_set.ClassSetUnavailableError`.
    """

    def __init__(self, database, room=DEFAULT_ROOM, server_id=None, clock=time.time):
        self.database = database
        self.room = room_code(room)
        self._mine = LIVE_RUN.c.room == self.room  # every statement keeps to the room's row
        self.server_id = server_id or secrets.token_hex(8)
        self._clock = clock
        self._read_at, self._read = float("-inf"), None
        self._read_lock = threading.Lock()

    def claim(self, run_name):
        """Take the row for a run starting here; False while another server's run is active and fresh."""
        values = {
            "server_id": self.server_id, "run_name": run_name, "stop_requested": False, "updated_at": self._clock(),
            "snapshot": json.dumps({"state": str(RunState.LOADING)}),
        }
        with self.database.transaction(writes=True) as connection:
            # The room's first run makes its row; one statement, so two servers claiming it at once get one row.
            first = dialect_insert(connection, LIVE_RUN).values(room=self.room, **values).on_conflict_do_nothing()
            if connection.execute(first.returning(LIVE_RUN.c.room)).first() is not None:
                return True
            row = connection.execute(sa.select(LIVE_RUN).where(self._mine).with_for_update()).one()
            elsewhere = self._fresh(self._published(row), self._clock())
            if elsewhere is not None and elsewhere.active:
                return False
            connection.execute(LIVE_RUN.update().where(self._mine).values(**values))
        return True

    def publish(self, run_name, snapshot):
        """Write this server's run; returns whether another server asked it to stop."""
        with self.database.transaction(writes=True) as connection:
            mine = self._mine & (LIVE_RUN.c.server_id == self.server_id) & (LIVE_RUN.c.run_name == run_name)
            connection.execute(LIVE_RUN.update().where(mine).values(snapshot=snapshot_json(snapshot), updated_at=self._clock()))
            return bool(connection.execute(sa.select(LIVE_RUN.c.stop_requested).where(mine)).scalar())

    def request_stop(self, run_name):
        """Ask the server training ``run_name`` to stop it; False when it is not the live run."""
        with self.database.transaction(writes=True) as connection:
            updated = connection.execute(
                LIVE_RUN.update().where(self._mine & (LIVE_RUN.c.run_name == run_name)).values(stop_requested=True)
            ).rowcount
        self._read_at = float("-inf")
        return bool(updated)

    def elsewhere(self):
        """The class's latest run when another server started it (a :class:`PublishedRun`: training now, or
        how it ended), else None; read at most every READ_SECONDS. An active run whose server stopped
        publishing (killed) is None too."""
        now = self._clock()
        # One thread reads; the others reuse the last row, or wait for the first one (none yet is not "no run").
        if now - self._read_at >= READ_SECONDS and self._read_lock.acquire(blocking=self._read_at == float("-inf")):
            try:
                if self._read_at != float("-inf") and now - self._read_at < READ_SECONDS:
                    return self._fresh(self._read, now)  # read while this thread waited
                with self.database.transaction() as connection:
                    row = connection.execute(sa.select(LIVE_RUN).where(self._mine)).first()
                self._read, self._read_at = (self._published(row) if row is not None else None), now
            finally:
                self._read_lock.release()
        return self._fresh(self._read, now)

    def _fresh(self, run, now):
        """``run`` unless it is this server's own, or active but no longer published (its server died)."""
        if run is None or run.server_id == self.server_id or (run.active and now - run.updated_at > STALE_SECONDS):
            return None
        return run

    @staticmethod
    def _published(row):
        data = json.loads(row.snapshot)
        return PublishedRun(
            server_id=row.server_id, run_name=row.run_name, state=RunState(data["state"]), config=data.get("config", {}),
            message=data.get("message", ""), record=RunRecord.from_json(data["record"]) if "record" in data else RunRecord(),
            last_batch=data.get("last_batch"), elapsed_seconds=data.get("elapsed_seconds", 0.0), version=data.get("version", 0),
            warmed_up_at=tuple(data["warmed_up_at"]) if data.get("warmed_up_at") else None,
            updated_at=row.updated_at, starter=data.get("starter", ""),
        )
