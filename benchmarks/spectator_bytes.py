"""What a spectating phone receives: bytes and WebSocket frames a second, per protocol client.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/spectator_bytes.py [--spectators 10] [--seconds 20] \\
        [--before DIR]      # DIR: a checkout of the version to compare against, e.g. a git worktree of main

For this checkout (and ``--before``'s, the same way, one after the other): start the app, open a class room,
have its teacher (a protocol client) start a run, wait ``--warmup-seconds`` of training (the chart has some
history), then ``--spectators`` protocol clients in the room (``support/streamlit_client.py``, which reports the big messages it
holds as a browser does, so unchanged ones come back as short references) open the Train page and
rerun its live fragment whenever the server asks; every frame each receives in the next ``--seconds``
is counted (the page's first load is not). Then the same on the Class page while a quiz round is open:
the room's teacher starts a round, the students watch it.

Prints JSON: per page, kB/s and frames/s per client (median and max), and where one client's bytes
go (by element kind and key, before compression). kB/s counts what crosses the connection (WebSocket
frames with their headers, compressed when the server and client agree to, as browsers do).
Target (issue 24): at most 8 kB/s for a spectator.
"""
import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import numpy as np  # noqa: E402

from classroom.class_set import ClassSet  # noqa: E402
from classroom.rooms import Rooms  # noqa: E402
from support.app_server import start_streamlit  # noqa: E402
from support.class_sessions import Visitor, click, longest_run_epochs, open_class, teacher_starts_run  # noqa: E402
from support.measuring import cpu_seconds  # noqa: E402
from support.streamlit_client import StreamlitClient, widget_key  # noqa: E402
from ui.identity import ROOM_COOKIE, ROOM_TEACHER_COOKIE  # noqa: E402

TRAIN_PAGE, CLASS_PAGE = "Train", "Class"
TARGET_KB_PER_S = 8.0


def frame_label(message):
    """What a frame carries, for the breakdown: an element's kind and key, a container, or the message kind."""
    kind = message.WhichOneof("type")
    if kind != "delta":
        return kind or "?"
    delta = message.delta
    if delta.WhichOneof("type") == "new_element":
        element = delta.new_element
        element_kind = element.WhichOneof("type")
        key = widget_key(getattr(getattr(element, element_kind), "id", "") or "")
        return f"{element_kind}:{key}" if key else element_kind
    if delta.WhichOneof("type") == "add_block":
        return "container"
    return delta.WhichOneof("type") or "?"


class Tally:
    """Bytes and frames one client receives, from ``start()`` on, with a breakdown by what they carry."""

    def __init__(self, client):
        self.client, self.started = client, None
        self.bytes = self.frames = 0
        self.by_label = {}
        client.listen(self._count)

    def start(self):
        self.started, self.bytes, self.frames, self.by_label = time.perf_counter(), 0, 0, {}
        self.wire_at_start, self.sent_at_start = self.client.wire_bytes, self.client.sent_wire_bytes

    @property
    def wire_bytes(self):
        """Bytes on the connection since ``start()``: frames with their headers, compressed when the server compresses."""
        return self.client.wire_bytes - self.wire_at_start

    @property
    def sent_wire_bytes(self):
        """Bytes the client sent since ``start()``: its rerun requests, with the hashes of the messages it holds."""
        return self.client.sent_wire_bytes - self.sent_at_start

    def _count(self, message, _received_at):
        if self.started is None:
            return
        size = self.client.last_frame_bytes
        self.bytes += size
        self.frames += 1
        label = ("reference to " if self.client.last_frame_was_reference else "") + frame_label(message)
        total, count = self.by_label.get(label, (0, 0))
        self.by_label[label] = (total + size, count + 1)


async def keep_refreshing(client, until):
    """Rerun the page's live fragments whenever the server asks (its ``auto_rerun`` intervals), as a browser does."""
    next_run = {fragment: time.perf_counter() + interval for fragment, interval in client.auto_reruns.items()}
    while time.perf_counter() < until:
        now = time.perf_counter()
        for fragment, at in list(next_run.items()):
            if now >= at:
                await client.send_rerun(fragment_id=fragment)
                await client.wait_for_run()
                next_run[fragment] = at + client.auto_reruns.get(fragment, 1.0)
        await asyncio.sleep(max(0.0, min(next_run.values(), default=now + 1) - time.perf_counter()))


def summary(tallies, seconds, breakdown_of=0):
    rates = [t.wire_bytes / seconds / 1000 for t in tallies]
    messages = [t.bytes / seconds / 1000 for t in tallies]
    sent = [t.sent_wire_bytes / seconds / 1000 for t in tallies]
    frames = [t.frames / seconds for t in tallies]
    shown = tallies[breakdown_of]
    breakdown = sorted(shown.by_label.items(), key=lambda item: -item[1][0])
    return {
        "clients": len(tallies),
        "seconds": round(seconds, 1),
        "kB_per_s": {"median": round(float(np.median(rates)), 2), "max": round(max(rates), 2)},
        "frames_per_s": {"median": round(float(np.median(frames)), 1), "max": round(max(frames), 1)},
        "sent_kB_per_s": {"median": round(float(np.median(sent)), 2), "max": round(max(sent), 2)},
        "messages_kB_per_s_decompressed": {"median": round(float(np.median(messages)), 2), "max": round(max(messages), 2)},
        "within_target": max(rates) <= TARGET_KB_PER_S,
        "one_client_by_element_decompressed": {
            label: {"kB_per_s": round(total / seconds / 1000, 2), "frames_per_s": round(count / seconds, 2)}
            for label, (total, count) in breakdown[:12]
        },
    }


async def watch(url, page, count, seconds, server_pid, visitor):
    """``count`` clients on ``page``, each the browser ``visitor`` (a :class:`Visitor`); returns their tallies over
    ``seconds`` after all have opened it, and the
    server's CPU meanwhile (the training run's included)."""
    clients = [StreamlitClient(url) for _ in range(count)]
    try:
        for client in clients:
            await visitor.connect(client)
        await asyncio.gather(*(client.open_page(page) for client in clients))
        tallies = [Tally(client) for client in clients]
        for tally in tallies:
            tally.start()
        started, cpu_before = time.perf_counter(), cpu_seconds(server_pid)
        await asyncio.gather(*(keep_refreshing(client, started + seconds) for client in clients))
        wall = time.perf_counter() - started
        server_cores = round((cpu_seconds(server_pid) - cpu_before) / wall, 2)
        errors = [client.closed or client.exceptions[-1] for client in clients if client.closed or client.exceptions]
        return {**summary(tallies, wall), "server_cores_used": server_cores, "errors": errors}
    finally:
        await asyncio.gather(*(client.close() for client in clients))


async def quiz_round_open(url, visitor):
    """The teacher ``visitor`` (a protocol client) on the Class page starts a quiz round; returns the client."""
    teacher = await open_class(url, visitor)
    await click(teacher, "quiz-next-button")
    return teacher


def class_room(database_url):
    """A class room opened on the server's database as "Start a class" does: (its teacher, a student) as browsers."""
    rooms = Rooms(ClassSet(database_url))
    room = rooms.create("spectator-bytes-teacher")
    teacher = {ROOM_COOKIE: room.code, ROOM_TEACHER_COOKIE: rooms.issue_room_teacher_token(room)}
    return Visitor(teacher), Visitor({ROOM_COOKIE: room.code})


async def measure(project_dir, args):
    """Both pages for the checkout at ``project_dir``."""
    with tempfile.TemporaryDirectory() as workspace:
        database_url = f"sqlite:///{workspace}/studio.sqlite"
        env = {"MNIST_CNN_RUNS": f"{workspace}/runs", "MNIST_CNN_CLASS_DB_URL": database_url}
        Path(f"{workspace}/runs").mkdir()
        server, url = start_streamlit(env, timeout=180, project_dir=project_dir)
        try:
            teacher, student = class_room(database_url)
            await teacher_starts_run(url, teacher, args.epochs or longest_run_epochs(), "Training epoch")
            trained_from = time.perf_counter()
            await asyncio.sleep(args.warmup_seconds)
            train = await watch(url, TRAIN_PAGE, args.spectators, args.seconds, server.pid, student)
            train["training_seconds_at_window_start"] = round(args.warmup_seconds, 1)
            train["training_seconds_at_window_end"] = round(time.perf_counter() - trained_from, 1)
            quiz_host = await quiz_round_open(url, teacher)
            try:
                quiz = await watch(url, CLASS_PAGE, args.spectators, args.seconds, server.pid, student)
            finally:
                await quiz_host.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {"checkout": str(project_dir), "train_page_during_a_run": train, "class_page_quiz_round_open": quiz}


async def run(args):
    report = {"spectators": args.spectators, "window_s": args.seconds, "target_kB_per_s": TARGET_KB_PER_S,
              "load_average_before": os.getloadavg()}
    versions = {"after": PROJECT_DIR}
    if args.before:
        versions = {"before": args.before.resolve(), **versions}
    for name, directory in versions.items():
        report[name] = await measure(directory, args)
        print(json.dumps({name: report[name]}), file=sys.stderr, flush=True)
    if args.before:
        for page in ("train_page_during_a_run", "class_page_quiz_round_open"):
            before, after = report["before"][page], report["after"][page]
            report[f"{page}_ratio_after_to_before"] = {
                "kB_per_s": round(after["kB_per_s"]["median"] / max(before["kB_per_s"]["median"], 1e-9), 3),
                "frames_per_s": round(after["frames_per_s"]["median"] / max(before["frames_per_s"]["median"], 1e-9), 3),
            }
    report["load_average_after"] = os.getloadavg()
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spectators", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20, help="the counting window on each page")
    parser.add_argument("--warmup-seconds", type=float, default=30, help="training before the Train page's window")
    parser.add_argument("--epochs", type=int, default=None, help="the teacher's run on the full training set "
                        "(default: the most the Train page allows)")
    parser.add_argument("--before", type=Path, help="a checkout of the version to compare against")
    args = parser.parse_args()
    if not os.environ.get("MNIST_NPZ"):
        sys.exit("Set MNIST_NPZ to a local mnist.npz (the teacher's run trains on the full training set).")
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
