"""How big a class one server holds: students as lightweight protocol clients, not browsers.

    python benchmarks/class_load.py record                      # one chromium session draws; saves its BackMsgs
    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/class_load.py run \\
        [--scenario draw|spectate|mix] [--students 10,30,60] [--seconds 90] [--quiet-seconds 40] \\
        [--server-cpus 0] [--browsers 1] [--no-training]
    MNIST_NPZ=... python benchmarks/class_load.py soak [--students 30] [--minutes 30] [--runs 3]
    MNIST_NPZ=... python benchmarks/class_load.py rooms [--rooms 3] [--students 30] [--seconds 90] [--training-rooms 2] [--epochs 1]

``record`` opens the Draw page in real chromium, draws a 1, clears the canvas with the page's Clear
button, and saves every ``BackMsg`` the browser sent (Playwright's WebSocket frames) in ``benchmarks/recordings/draw.json``.
``run`` starts the app (under ``taskset -c`` with ``--server-cpus``), has a teacher start the
longest run the Train page allows in chromium, then for each class size: a quiet window (training
alone, the baseline) followed by a class window in which ``--students`` asyncio WebSocket clients,
each its own Streamlit session, do the scenario:

- ``draw``: open the Draw page, then every 10-20 s send the recorded drawing's rerun with this
  student's own image (an MNIST test digit, placed and sized at random, as the canvas's PNG data
  URL) and wait for the message carrying the answer (the ``predicted-digit`` element, found by its
  CSS class in the markdown delta), then clear the canvas as the recorded browser did;
- ``spectate``: open the Train page and rerun its live fragment whenever the server asks
  (``auto_rerun``), as a browser does;
- ``quiz``: open the Class page, where the teacher (one more protocol client) runs quiz rounds one
  after another: the students vote within the same 5 s, then the teacher reveals; timed from the
  teacher's Reveal to the reveal on each student's screen (``benchmarks/quiz_reveal.py``'s round);
- ``mix``: half drawing, half spectating.
``--browsers`` real chromium sessions draw in the class window too (a 1 or a 0 with the mouse), as a
check that the light clients measure what a browser sees: both give the time from the WebSocket
frame carrying a drawing to the frame carrying its answer.

``rooms``: several classes on one server, each in a class room of its own (created on the server's
database as "Start a class" does; each client carries its room's cookie, the teachers their room
teacher's token too). In every room a third of ``--students`` draw, a third watch the Train page and a
third vote in the room's quiz, run by the room's teacher; the teachers of ``--training-rooms`` rooms
start a run each on the Train page, one after the other, so that each next one waits in the server's
queue (its page must say "Queued: your run starts after 1 other"). Every ForwardMsg every client
receives is scanned for what belongs to another room (join codes, run folder names, quiz digits): a
hit is a leak, printed. Prints JSON per room and overall: each action's median/p95/p99 (drawing,
refreshing the Train page, voting and refreshing the quiz, the quiz's reveal), errors, dropped
sessions, leaks, the bytes a second a spectator receives while its room's run trains, the server's
CPU and peak memory.

Prints JSON per class size: latency median/p95/p99 (drawing: to its answer; spectating: fragment
refresh), answers right, errors and dropped sessions, server CPU (cores) and memory (peak RSS),
training samples/s against the quiet window, and the capacity: the largest size with p95 under 1 s
and no errors. Widgets and answers are found by key, component name and CSS class, never by their
position on the page, so pages can change their layout.

This file holds the scenarios and their figures; the students and teachers are protocol clients of
``support/class_sessions.py``, the recorded browser is ``support/browser_drawing.py``.
"""
import argparse
import asyncio
import dataclasses
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import numpy as np  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

from benchmarks.spectator_bytes import TARGET_KB_PER_S  # noqa: E402
from classroom.class_set import ClassSet  # noqa: E402
from classroom.rooms import Rooms  # noqa: E402
from classroom.run_store import ROOMS_FOLDER  # noqa: E402
from classroom.runs import read_saved_run  # noqa: E402
from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE, issue_token  # noqa: E402
from mnist_cnn.run_folder import ACTIVE_STATES, METRICS_FILE, MODEL_FILE  # noqa: E402
from support.app_server import CHROMIUM, CHROMIUM_ARGS, start_streamlit  # noqa: E402
from support.browser_drawing import RECORDING, load_recording, record_drawing, recorded_drawing  # noqa: E402
from support.class_sessions import (  # noqa: E402
    TRAIN_PAGE,
    TrainingMonitor,
    Visitor,
    browser_student,
    drawing_class,
    drawing_student,
    open_browser_student,
    open_page_once,
    own_drawings,
    quiz_class,
    spectating_student,
    start_teacher_run,
    student_drawings,
    teacher_starts_run,
)
from support.measuring import cpu_seconds, percentile  # noqa: E402
from support.streamlit_client import element_text  # noqa: E402
from ui.identity import ROOM_COOKIE, ROOM_TEACHER_COOKIE, TEACHER_COOKIE  # noqa: E402
from ui.quiz import CLASS_PATH, REFRESH_SECONDS  # noqa: E402

TARGET_P95_S = 1.0
SCENARIOS = ("draw", "spectate", "quiz", "mix")
ROLES = ("draw", "spectate", "quiz", "browser")  # what a session in a class does (a mix has two)
# The one-class scenarios (run, soak) are a school's own deployment: a passcode, and the teacher's runs in the class
# without a room (a visitor of the open studio may train only a minute or two); the rooms scenario opens rooms instead.
TEACHER_PASSCODE = "class load benchmark"
TEACHER = Visitor({TEACHER_COOKIE: issue_token(TEACHER_PASSCODE)})


# ---------------------------------------------------------------- the server and the teacher


def servers_cpu_seconds(pids):
    return sum(cpu_seconds(pid) for pid in pids)


def memory_mb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


class PeakMemory:
    """The server processes' resident memory together, sampled twice a second from creation to ``stop()``."""

    def __init__(self, pids):
        self.pids, self.peak_mb = pids, 0.0
        self._task = asyncio.create_task(self._sample())

    async def _sample(self):
        while True:
            self.peak_mb = max(self.peak_mb, sum(memory_mb(pid, "VmRSS") or 0 for pid in self.pids))
            await asyncio.sleep(0.5)

    async def stop(self):
        """The peak, in MB."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.peak_mb


def start_profiler(pid, path):
    """py-spy sampling the server (all its threads, idle ones left out) into collapsed stacks at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(path), "--rate", "50"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler):
    profiler.send_signal(signal.SIGINT)  # py-spy writes its file on interrupt
    profiler.wait(timeout=60)


IDLE_FRAME = re.compile(
    r"^(sleep|wait|select|poll|epoll|get|_worker|accept|recv|read) \(|\(time\.sleep|threading\.py|selectors\.py|queue\.py"
)


def profile_summary(path, top=12):
    """The frames that hold most samples (inclusive) in py-spy's collapsed stacks: the app's own
    functions, and all functions, as shares of the samples."""
    inclusive, total = {}, 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if IDLE_FRAME.search(stack.rsplit(";", 1)[-1]):
            continue  # a thread asleep or waiting (py-spy's idle filter misses some here)
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
    ours = [f for f in inclusive if any(part in f for part in ("app_pages/", "ui/", "mnist_cnn/", "app.py"))]

    def shares(frames):
        return [[frame, round(inclusive[frame] / total, 3)] for frame in sorted(frames, key=inclusive.get, reverse=True)[:top]]

    return {"samples": total, "app_frames": shares(ours), "all_frames": shares(inclusive)}


def load_average():
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def run_state(run_dir):
    """A run folder's status in its metrics.json; None while the run loads its data (the file is written as training
    starts) or while the file is written."""
    try:
        return json.loads((Path(run_dir) / METRICS_FILE).read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


def training_active(runs):
    """Whether a run is under way in ``runs`` (a run folder gets its metrics.json as training starts)."""
    return any(run_state(run_dir) in (None, *ACTIVE_STATES) for run_dir in Path(runs).iterdir())


# ---------------------------------------------------------------- one class, and the sweep


def latency_summary(latencies):
    """How many, median, p95, p99 and max of a list of seconds."""
    return {
        "events": len(latencies),
        "median_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "p99_s": percentile(latencies, 99),
        "max_s": round(max(latencies), 3) if latencies else None,
    }


def class_figures(results, wall):
    by_role = {}
    for role in ROLES:
        records = [r for r in results if r["role"] == role]
        if not records:
            continue
        latencies = [v for r in records for v in r["latencies"]]
        answered = [(a, e) for r in records for a, e in zip(r["answers"], r["expected"], strict=False)]
        by_role[role] = {
            "sessions": len(records),
            **latency_summary(latencies),
            "open_page_median_s": percentile([r["open_s"] for r in records if r["open_s"] is not None], 50),
            "errors": [r["error"] for r in records if r["error"]],
            "dropped_sessions": sum(bool(r.get("dropped")) for r in records),
        }
        if role == "quiz":
            by_role[role].update(sessions=sum(r["students"] for r in records), rounds=sum(len(r["votes_counted"]) for r in records),
                                 votes_counted_per_round=[v for r in records for v in r["votes_counted"]],
                                 reveals_missed=sum(r["missed"] for r in records))
            for action in ("vote", "refresh"):  # what a student's phone does besides seeing the reveal
                by_role[role][action] = latency_summary([v for r in records for v in r["actions"][action]])
            by_role[role]["dropped_sessions"] = sum(r["dropped"] for r in records)
        elif role != "spectate":
            by_role[role]["answers_right"] = sum(a == e for a, e in answered)
            by_role[role]["no_answer"] = sum(a is None for a, _ in answered)
            by_role[role]["wrong_examples"] = [[a, e] for a, e in answered if a is not None and a != e][:8]  # (shown, meant)
    return by_role


async def one_class(urls, server_pids, monitor, args, size, recording, browser, drawings, runs):
    """Quiet window (training alone), then the class window; figures of both. ``urls``: the servers (their
    processes ``server_pids``), each student pinned to one in turn (as a sticky load balancer does); the teacher
    trains on the first, and ``monitor`` (a :class:`TrainingMonitor`, or None) reads its run's speed."""
    url, server_pid = urls[0], server_pids[0]
    with_browsers = browser is not None and args.scenario in ("draw", "mix")
    opened = [await open_browser_student(browser, urls[i % len(urls)]) for i in range(args.browsers)] if with_browsers else []
    quiet_started = time.perf_counter()
    cpu_before = servers_cpu_seconds(server_pids)
    await asyncio.sleep(args.quiet_seconds)
    quiet_cpu = (servers_cpu_seconds(server_pids) - cpu_before) / (time.perf_counter() - quiet_started)
    quiet_ended = time.perf_counter()

    results, tasks = [], []
    class_started = time.perf_counter()
    stop_at = class_started + args.seconds
    think = (args.think_min, args.think_max)
    drawers = size if args.scenario == "draw" else size // 2 if args.scenario == "mix" else 0
    if args.scenario == "quiz":
        tasks.append(quiz_class(url, size, stop_at, server_pid, results, teacher=TEACHER))
    for index in range(size if args.scenario != "quiz" else 0):
        if index < drawers:
            tasks.append(drawing_student(urls[index % len(urls)], recording, own_drawings(drawings, index), stop_at, think, results))
        else:
            tasks.append(spectating_student(urls[index % len(urls)], stop_at, results))
    tasks += [browser_student(session, i, stop_at, think, results) for i, session in enumerate(opened)]
    cpu_before, client_cpu_before = servers_cpu_seconds(server_pids), time.process_time()
    memory = PeakMemory(server_pids)
    profile = Path(args.profile) / f"server-{args.scenario}-{size}.txt" if args.profile else None
    profiler = start_profiler(server_pid, profile) if profile else None
    await asyncio.gather(*tasks)
    rss_peak = await memory.stop()
    if profiler:
        stop_profiler(profiler)
    wall = time.perf_counter() - class_started
    class_cpu = servers_cpu_seconds(server_pids) - cpu_before
    figures = {
        "students": size,
        "scenario": args.scenario,
        "servers": len(urls),
        **class_figures(results, wall),
        "server_cores_used": round(class_cpu / wall, 2),
        "load_generator_cores_used": round((time.process_time() - client_cpu_before) / wall, 2),
        "server_cpu_s_per_event": round(class_cpu / max(1, sum(len(r["latencies"]) for r in results)), 3),
        "server_cores_used_quiet": round(quiet_cpu, 2),
        "server_rss_peak_mb": round(rss_peak),
        "training_samples_per_s_quiet": monitor.samples_per_second(quiet_started, quiet_ended) if monitor else None,
        "training_samples_per_s_class": monitor.samples_per_second(class_started, class_started + wall) if monitor else None,
        "training_ran": training_active(runs) if args.training else None,
        "class_wall_s": round(wall, 1),
        "load_average": load_average(),
    }
    if profile:
        figures["profile"] = {"file": str(profile), **profile_summary(profile)}
    main_latencies = figures.get("draw") or figures.get("spectate") or figures.get("quiz") or {}
    # A quiz's reveal waits for each screen's next once-a-second refresh: its target is that second more.
    target = TARGET_P95_S + (REFRESH_SECONDS if args.scenario == "quiz" else 0)
    figures["passes"] = bool(main_latencies.get("p95_s") is not None and main_latencies["p95_s"] < target
                             and not any(figures[r]["errors"] for r in ROLES if r in figures)
                             and not figures.get("quiz", {}).get("reveals_missed"))
    return figures


async def run(args):
    sizes = [int(v) for v in args.students.split(",")]
    if args.client_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})
    drawings = student_drawings(args.drawing_pool, seed=args.seed)
    with tempfile.TemporaryDirectory() as workspace:
        runs = Path(workspace) / "runs"  # the first server's, where the teacher trains
        prefix = ("taskset", "-c", args.server_cpus) if args.server_cpus else ()
        # Every server on one database (a SQLite file here), each with its own runs folder, as on separate machines.
        env = {"MNIST_CNN_RUNS": str(runs), "MNIST_CNN_CLASS_DB_URL": f"sqlite:///{workspace}/studio.sqlite",
               PASSCODE_ENVIRONMENT_VARIABLE: TEACHER_PASSCODE}
        launcher = ("-m", "streamlit")
        if args.keras_cleanup:  # benchmarks/timed_streamlit.py undoes ui/server_tuning.py
            env.update(STREAMLIT_DEFAULT_CLEANUP="1", STREAMLIT_TIMINGS=str(Path(workspace) / "timings.jsonl"))
            launcher = (str(PROJECT_DIR / "benchmarks" / "timed_streamlit.py"),)
        started = [start_streamlit({**env, "MNIST_CNN_RUNS": str(runs) if i == 0 else f"{workspace}/runs-{i}"}, timeout=180,
                                   launcher=launcher, command_prefix=prefix) for i in range(args.servers)]
        servers, urls = [server for server, _ in started], [url for _, url in started]
        url = urls[0]
        runs.mkdir(exist_ok=True)
        server_pids = [each.pid for each in servers]
        report = {"scenario": args.scenario, "servers": args.servers, "server_cpus": args.server_cpus or "all", "training": args.training,
                  "keras_cleanup_baseline": args.keras_cleanup,
                  "load_average_before": load_average(), "classes": []}
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                recording = load_recording(await record_drawing(browser, url))
                report["recorded_browser_answer"] = recording["shown"]
                for other in urls[1:]:  # each server reads a drawing before the first window, as the first one just did
                    await record_drawing(browser, other)
                monitor = None
                if args.training:
                    await start_teacher_run(browser, url, visitor=TEACHER)
                    monitor = TrainingMonitor(url)
                    await monitor.start()
                for size in sizes:
                    if args.training and not training_active(runs):
                        await start_teacher_run(browser, url, visitor=TEACHER)  # the last run ended: the teacher starts another
                    figures = await one_class(urls, server_pids, monitor, args, size, recording,
                                              browser if args.browsers else None, drawings, runs)
                    report["classes"].append(figures)
                    print(json.dumps(figures), file=sys.stderr, flush=True)
                if monitor:
                    await monitor.stop()
                await browser.close()
            report["server_peak_rss_mb"] = round(sum(memory_mb(each.pid, "VmHWM") for each in servers))
        finally:
            for each in servers:
                each.terminate()
                each.wait(timeout=30)
    passing = [c["students"] for c in report["classes"] if c["passes"]]
    report["largest_passing_class"] = max(passing) if passing else None
    report["target_p95_s"] = TARGET_P95_S
    report["load_average_after"] = load_average()
    return report


# ---------------------------------------------------------------- class rooms: several classes on one server


@dataclasses.dataclass
class ClassRoom:
    """One class room of the ``rooms`` scenario: its join code, its teacher's token, whether its teacher trains,
    and its students' records."""

    code: str
    teacher_token: str
    trains: bool
    results: list = dataclasses.field(default_factory=list)

    def visitor(self, *watchers, teacher=False):
        """A browser in this room, as its cookies say (with the room teacher's token for its teacher)."""
        cookies = {ROOM_COOKIE: self.code, **({ROOM_TEACHER_COOKIE: self.teacher_token} if teacher else {})}
        return Visitor(cookies, watchers)


def open_rooms(database_url, count, training):
    """``count`` rooms created on the server's database as "Start a class" does, each by a teacher of its own;
    the first ``training`` of them train."""
    rooms = Rooms(ClassSet(database_url))
    made = [rooms.create(f"class-load-teacher-{index}") for index in range(count)]
    return [ClassRoom(room.code, rooms.issue_room_teacher_token(room), index < training) for index, room in enumerate(made)]


QUIZ_DIGIT = re.compile(rb'class="quiz-digit-image" src="(data:image/png;base64,[A-Za-z0-9+/=]+)"')


class LeakCheck:
    """Every ForwardMsg a room's clients receive, scanned for what belongs to another room: its join code (a
    word of its own), its run folders' names, its quiz digits (as its teacher was shown them). A hit is a
    leak: counted and printed. A quiz digit two rooms' quizzes drew by chance belongs to neither."""

    def __init__(self, codes):
        self.codes, self.hits = list(codes), []
        self._owners = {}  # marker (bytes) -> (room, kind); room None when two rooms have it
        self._foreign = {}  # room -> [(marker, owner, kind)] of the other rooms, made again when a marker comes

    def add(self, room, kind, marker):
        marker = marker.encode() if isinstance(marker, str) else marker
        owner, _ = self._owners.get(marker, (room, kind))
        self._owners[marker] = (room if owner == room else None, kind)
        self._foreign.clear()

    def watch(self, room, who):
        """A watcher (see :class:`Visitor`) that scans what a client of ``room`` (``who``: its role) receives."""
        others = [re.escape(code.encode()) for code in self.codes if code != room]
        codes = re.compile(rb"(?<![A-Za-z0-9])(" + b"|".join(others) + rb")(?![A-Za-z0-9])") if others else None
        return lambda client: client.listen(lambda _message, _at: self.scan(client.last_frame, room, who, codes))

    def quiz_digits(self, room):
        """A watcher for a room's teacher: the quiz digits it is shown are the room's."""
        def watch(client):
            client.listen(lambda _message, _at: [self.add(room, "quiz digit", m) for m in QUIZ_DIGIT.findall(client.last_frame)])
        return watch

    def scan(self, frame, room, who, codes):
        hits = [(match.group(1), match.group(1).decode(), "join code") for match in codes.finditer(frame)] if codes else []
        if room not in self._foreign:
            self._foreign[room] = [(m, owner, kind) for m, (owner, kind) in self._owners.items() if owner not in (room, None)]
        hits += [(m, owner, kind) for m, owner, kind in self._foreign[room] if m in frame]
        for marker, owner, kind in hits:
            hit = {"room": room, "client": who, "saw": kind, "of_room": owner, "marker": marker[:48].decode(errors="replace")}
            self.hits.append(hit)
            print(f"LEAK: {json.dumps(hit)}", file=sys.stderr, flush=True)

    def count(self, room=None):
        return sum(room is None or hit["room"] == room for hit in self.hits)

    def markers(self):
        """What the check looked for: how many markers of each kind (join codes included), and how many two rooms shared."""
        kinds = {"join code": len(self.codes)}
        for owner, kind in self._owners.values():
            label = kind if owner else f"{kind}, in two rooms by chance"
            kinds[label] = kinds.get(label, 0) + 1
        return kinds


class SpectatorBytes:
    """What spectators of the Train page receive on the wire (compressed WebSocket frames, as
    ``benchmarks/spectator_bytes.py`` counts them), while their room's run trains and while it does not:
    the connection's byte count at each status line the page shows."""

    def __init__(self):
        self.samples = []  # per spectator: (time, bytes received so far, whether the status line says it trains)

    def watch(self, client):
        samples = []
        self.samples.append(samples)

        def listen(message, received_at):
            if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
                return
            status, text = client.block_paths.get("train-status"), element_text(message.delta.new_element)
            if status and text.startswith("**") and tuple(message.metadata.delta_path[: len(status)]) == status:
                samples.append((received_at, client.wire_bytes, "Training epoch" in text))  # the status line, in bold

        client.listen(listen)

    def summary(*meters):
        """kB/s per spectator of these meters (median and max over spectators) while training and while not."""
        rates = {True: [], False: []}
        for samples in (samples for meter in meters for samples in meter.samples):
            for training in rates:
                spans = [(after[0] - before[0], after[1] - before[1]) for before, after in zip(samples, samples[1:], strict=False)
                         if before[2] == after[2] == training]
                seconds = sum(s for s, _ in spans)
                if seconds >= 5:  # a few refreshes at least
                    rates[training].append(sum(b for _, b in spans) / seconds / 1000)
        return {("while_training" if training else "not_training"): {
            "spectators": len(values), "median": round(float(np.median(values)), 2) if values else None,
            "max": round(max(values), 2) if values else None} for training, values in rates.items()}


async def train_in_turn(url, rooms, epochs, leaks, log, delay=3.0):
    """The training rooms' teachers start a run each, one after the other, ``delay`` seconds into the window:
    the first trains, each next one waits in the queue behind the ones before (its page says so)."""
    await asyncio.sleep(delay)
    for position, room in enumerate(room for room in rooms if room.trains):
        expect = "Training epoch" if position == 0 else f"Queued: your run starts after {position} other"
        entry = {"room": room.code, "expected": expect}
        log.append(entry)
        try:
            entry["seen_after_s"], entry["shown"] = await teacher_starts_run(
                url, room.visitor(leaks.watch(room.code, "teacher"), teacher=True), epochs, expect)
        except Exception as error:  # noqa: BLE001 - counted, not fatal
            entry["error"] = f"{type(error).__name__}: {error}"


async def watch_run_folders(runs, rooms, leaks, stop_at, timeline, started):
    """Each room's run folders as they appear (their names are markers for the leak check), when each run
    wrote its first metrics.json (as training starts, after loading the data) and when it ended."""
    while time.perf_counter() < stop_at:
        for room in rooms:
            folder = Path(runs) / ROOMS_FOLDER / room.code
            for run_dir in sorted(folder.iterdir()) if folder.is_dir() else ():
                now = round(time.perf_counter() - started, 1)
                if run_dir.name not in timeline:
                    leaks.add(room.code, "run folder", run_dir.name)
                    timeline[run_dir.name] = {"room": room.code, "folder_s": now, "metrics_s": None, "ended_s": None}
                state, run = run_state(run_dir), timeline[run_dir.name]
                run["metrics_s"] = run["metrics_s"] or (now if state else None)
                run["ended_s"] = run["ended_s"] or (now if state and state not in ACTIVE_STATES else None)
                run["state"] = state
        await asyncio.sleep(0.5)


def room_students(url, room, number, args, leaks, meter, recording, drawings, stop_at):
    """The tasks of one room's class on the server at ``url``: a third drawing, a third watching the Train page,
    a third in the quiz that the room's teacher runs."""
    think, students = (args.think_min, args.think_max), args.students
    roles = [("draw", "spectate", "quiz")[index % 3] for index in range(students)]
    tasks = [drawing_student(url, recording, own_drawings(drawings, number * students + index), stop_at, think,
                             room.results, room.visitor(leaks.watch(room.code, role)))
             for index, role in enumerate(roles) if role == "draw"]
    tasks += [spectating_student(url, stop_at, room.results, room.visitor(leaks.watch(room.code, role), meter.watch))
              for role in roles if role == "spectate"]
    if "quiz" in roles:
        teacher = room.visitor(leaks.watch(room.code, "teacher"), leaks.quiz_digits(room.code), teacher=True)
        tasks.append(quiz_class(url, roles.count("quiz"), stop_at, None, room.results, teacher=teacher,
                                student=room.visitor(leaks.watch(room.code, "quiz"))))
    return tasks


def room_passes(figures, quiz_target=TARGET_P95_S + REFRESH_SECONDS):
    """Each action's p95 within the target (a quiz's reveal: that plus the screen's once-a-second refresh), no
    errors or dropped sessions."""
    p95s = [figures.get(role, {}).get("p95_s") for role in ("draw", "spectate")]
    p95s += [figures.get("quiz", {}).get(action, {}).get("p95_s") for action in ("vote", "refresh")]
    reveal = figures.get("quiz", {}).get("p95_s")
    return (all(p is None or p < TARGET_P95_S for p in p95s) and (reveal is None or reveal < quiz_target)
            and not any(figures[role]["errors"] or figures[role]["dropped_sessions"] for role in ROLES if role in figures))


async def rooms_window(url, server_pids, rooms, args, recording, drawings, runs):
    """Every room's class at once on the server at ``url`` for ``args.seconds`` while the training rooms' teachers
    train in turn; the server's CPU and memory from ``server_pids`` (none: not measured)."""
    leaks = LeakCheck([room.code for room in rooms])
    meters = {room.code: SpectatorBytes() for room in rooms}
    started = time.perf_counter()
    stop_at = started + args.seconds
    teachers, timeline = [], {}
    # Every room's class, the training rooms' teachers in turn, and the run folders (markers for the leak check).
    tasks = [task for number, room in enumerate(rooms)
             for task in room_students(url, room, number, args, leaks, meters[room.code], recording, drawings, stop_at)]
    tasks += [train_in_turn(url, rooms, args.epochs, leaks, teachers),
              watch_run_folders(runs, rooms, leaks, stop_at, timeline, started)]
    # The server's CPU and memory (and a profile) over the window.
    cpu_before, client_cpu_before, memory = servers_cpu_seconds(server_pids), time.process_time(), PeakMemory(server_pids)
    profile = Path(args.profile) / f"server-rooms-{len(rooms)}x{args.students}.txt" if getattr(args, "profile", "") else None
    profiler = start_profiler(server_pids[0], profile) if profile else None
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    rss_peak = await memory.stop()
    if profiler:
        stop_profiler(profiler)
    # Figures per room, then over every room.
    per_room = []
    for room in rooms:
        figures = {"room": room.code, "trains": room.trains, **class_figures(room.results, wall),
                   "spectator_kB_per_s": meters[room.code].summary(), "leaks": leaks.count(room.code)}
        figures["passes"] = room_passes(figures) and not figures["leaks"]
        per_room.append(figures)
        print(json.dumps(figures), file=sys.stderr, flush=True)
    overall = class_figures([record for room in rooms for record in room.results], wall)
    return per_room, {
        **overall,
        "spectator_kB_per_s": SpectatorBytes.summary(*meters.values()),
        "leaks": leaks.count(), "leak_examples": leaks.hits[:20], "leak_markers": leaks.markers(),
        "teachers": teachers, "runs": timeline,
        "server_cores_used": round((servers_cpu_seconds(server_pids) - cpu_before) / wall, 2),
        "load_generator_cores_used": round((time.process_time() - client_cpu_before) / wall, 2),
        "server_rss_peak_mb": round(rss_peak),
        "window_s": round(wall, 1),
        **({"profile": {"file": str(profile), **profile_summary(profile)}} if profile else {}),
    }


async def run_rooms(args):
    """``args.rooms`` class rooms of ``args.students`` on one server (see the module's docstring)."""
    drawings = student_drawings(args.drawing_pool, seed=args.seed)
    with tempfile.TemporaryDirectory() as workspace:
        runs, database_url = Path(workspace) / "runs", f"sqlite:///{workspace}/studio.sqlite"
        server, url = start_streamlit({"MNIST_CNN_RUNS": str(runs), "MNIST_CNN_CLASS_DB_URL": database_url}, timeout=180)
        report = {"rooms": args.rooms, "students_per_room": args.students, "load_average_before": load_average()}
        try:
            # A drawing recorded in chromium, each page's first run, then the rooms, made on the server's database.
            recording = load_recording(await recorded_drawing(url))  # also loads the model, as a first visit does
            for page in (TRAIN_PAGE, CLASS_PATH):
                await open_page_once(url, page)  # each page's first run after a server start is not the class's
            classes = open_rooms(database_url, args.rooms, min(args.training_rooms, args.rooms))
            report["per_room"], report["overall"] = await rooms_window(url, [server.pid], classes, args, recording, drawings, runs)
            report["overall"]["server_peak_rss_mb_since_start"] = round(memory_mb(server.pid, "VmHWM"))
        finally:
            server.terminate()
            server.wait(timeout=30)
    overall, teachers = report["overall"], report["overall"]["teachers"]
    report["passes"] = {
        "p95_every_action": all(room_passes(room) for room in report["per_room"]) and room_passes(overall),
        "no_leak": overall["leaks"] == 0,
        "memory_within_mb": overall["server_peak_rss_mb_since_start"] <= args.memory_mb,
        "spectator_within_kB_per_s": (overall["spectator_kB_per_s"]["while_training"]["max"] or 0) <= TARGET_KB_PER_S,
        "second_run_queued": len(teachers) >= 2 and all("shown" in teacher for teacher in teachers),
    }
    report["load_average_after"] = load_average()
    return report


def runs_left_behind(runs):
    """What a class leaves in the runs folder: each run's state and files, and anything that is not a finished run."""
    runs, found, stray = Path(runs), [], []
    for path in sorted(runs.iterdir()):
        if not path.is_dir():
            stray.append(path.name)  # e.g. a temporary file left by an interrupted write
            continue
        run = read_saved_run(path)
        files = sorted(p.name for p in path.iterdir())
        found.append({"run": path.name, "status": run.status, "epochs": run.record.completed_epochs,
                      "files": files, "test_accuracy": run.record.test_accuracy})
        if run.status != "finished" or not {MODEL_FILE, METRICS_FILE} <= set(files):
            stray.append(path.name)
        stray += [f"{path.name}/{name}" for name in files if name.startswith(".tmp")]
    return {"runs": found, "not_finished_or_stray": stray}


async def soak(args):
    """A class drawing for ``--minutes`` while the teacher starts ``--runs`` runs, one every
    ``minutes / runs`` (each after the previous one ended): memory, latency and errors over time."""
    drawings = student_drawings(args.drawing_pool, seed=args.seed)
    bucket_s, seconds = args.bucket_minutes * 60, args.minutes * 60
    with tempfile.TemporaryDirectory() as runs:
        prefix = ("taskset", "-c", args.server_cpus) if args.server_cpus else ()
        server, url = start_streamlit({"MNIST_CNN_RUNS": runs, PASSCODE_ENVIRONMENT_VARIABLE: TEACHER_PASSCODE}, timeout=180,
                                      command_prefix=prefix)
        memory, runs_started = [], []
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                recording = load_recording(await record_drawing(browser, url))
                started = time.perf_counter()
                cpu_before = cpu_seconds(server.pid)

                async def teacher():
                    for index in range(args.runs):
                        await asyncio.sleep(max(0.0, started + index * seconds / args.runs - time.perf_counter()))
                        while training_active(runs):
                            await asyncio.sleep(5)
                        await start_teacher_run(browser, url, args.epochs, visitor=TEACHER)
                        runs_started.append(round(time.perf_counter() - started))

                async def sample_memory():
                    while True:
                        memory.append((time.perf_counter() - started, memory_mb(server.pid, "VmRSS")))
                        await asyncio.sleep(10)

                background = [asyncio.create_task(teacher()), asyncio.create_task(sample_memory())]
                results = await drawing_class(url, recording, drawings, args.students, seconds, (args.think_min, args.think_max))
                wall = time.perf_counter() - started
                cpu = cpu_seconds(server.pid) - cpu_before
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
                while training_active(runs):  # let the last run finish before looking at what is left
                    await asyncio.sleep(5)
                await browser.close()
            peak = memory_mb(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
        left = runs_left_behind(runs)
    buckets = []
    for start in range(0, max(1, round(seconds / bucket_s)) * bucket_s, bucket_s):
        latencies = [v for r in results for v, t in zip(r["latencies"], r["answered_at"], strict=True)
                     if start <= t - started < start + bucket_s]
        rss = [mb for t, mb in memory if start <= t < start + bucket_s]
        buckets.append({"minutes": [start // 60, (start + bucket_s) // 60], "drawings": len(latencies),
                        "median_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95),
                        "rss_mb_max": round(max(rss)) if rss else None})
    figures = class_figures(results, wall)["draw"]
    return {"students": args.students, "minutes": args.minutes, "server_cpus": args.server_cpus or "all",
            "runs_started_at_s": runs_started, "draw": figures, "buckets": buckets,
            "rss_mb_after_1_min": next(round(mb) for t, mb in memory if t >= 60 or (t, mb) == memory[-1]),
            "rss_mb_last": round(memory[-1][1]),
            "server_peak_rss_mb": round(peak), "server_cores_used": round(cpu / wall, 2),
            "runs_folder": left, "load_average": load_average()}


async def record(args):
    with tempfile.TemporaryDirectory() as runs:
        server, url = start_streamlit({"MNIST_CNN_RUNS": runs}, timeout=180)
        try:
            recording = await recorded_drawing(url)
        finally:
            server.terminate()
            server.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(recording, indent=1) + "\n")
    return {"saved": str(args.out), "backmsgs": len(recording["backmsgs"]), "canvas_key": recording["canvas_key"],
            "browser_showed": recording["shown"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    recorder = commands.add_parser("record", help="record one chromium session drawing on the Draw page")
    recorder.add_argument("--out", type=Path, default=RECORDING)
    runner = commands.add_parser("run", help="load the server with a class")
    runner.add_argument("--scenario", choices=SCENARIOS, default="draw")
    runner.add_argument("--students", default="10,30,60", help="class sizes, comma separated, one window each")
    runner.add_argument("--seconds", type=float, default=90, help="length of each class window")
    runner.add_argument("--quiet-seconds", type=float, default=40, help="training alone before each class window")
    runner.add_argument("--think-min", type=float, default=10)
    runner.add_argument("--think-max", type=float, default=20)
    runner.add_argument("--browsers", type=int, default=2, help="real chromium sessions drawing in each class")
    runner.add_argument("--servers", type=int, default=1, help="server processes on one database, students spread over them")
    runner.add_argument("--server-cpus", default="", help="run the server under taskset -c, e.g. 0")
    runner.add_argument("--client-cpus", default="", help="pin this load generator (and chromium) to these cores")
    runner.add_argument("--no-training", dest="training", action="store_false")
    runner.add_argument("--drawing-pool", type=int, default=400)
    runner.add_argument("--seed", type=int, default=0)
    runner.add_argument(
        "--keras-cleanup", action="store_true",
        help="baseline: Streamlit clears the Keras session after every run, as it did for a class that "
        "deep-linked to /Draw while the pages lived in pages/",
    )
    runner.add_argument("--profile", default="", help="folder for a py-spy profile of the server in each class window (root)")
    roomer = commands.add_parser("rooms", help="several class rooms on one server, two of them training in turn")
    roomer.add_argument("--rooms", type=int, default=3)
    roomer.add_argument("--students", type=int, default=30, help="students per room: a third drawing, spectating, in the quiz")
    roomer.add_argument("--seconds", type=float, default=90, help="length of the window in which every room works")
    roomer.add_argument("--training-rooms", type=int, default=2, help="rooms whose teacher starts a run, one after the other")
    roomer.add_argument("--epochs", type=int, default=1, help="epochs of each teacher's run (the full training set)")
    roomer.add_argument("--memory-mb", type=float, default=1500, help="the server's peak resident memory must stay within this")
    roomer.add_argument("--think-min", type=float, default=10)
    roomer.add_argument("--think-max", type=float, default=20)
    roomer.add_argument("--drawing-pool", type=int, default=400)
    roomer.add_argument("--seed", type=int, default=0)
    roomer.add_argument("--profile", default="", help="folder for a py-spy profile of the server during the window (root)")
    soaker = commands.add_parser("soak", help="a class drawing for half an hour while the teacher trains three runs")
    soaker.add_argument("--students", type=int, default=30)
    soaker.add_argument("--minutes", type=float, default=30)
    soaker.add_argument("--runs", type=int, default=3, help="training runs, started evenly over the soak")
    soaker.add_argument("--epochs", type=int, default=None, help="epochs of each run (default: the most the Train page allows)")
    soaker.add_argument("--bucket-minutes", type=int, default=5)
    soaker.add_argument("--think-min", type=float, default=10)
    soaker.add_argument("--think-max", type=float, default=20)
    soaker.add_argument("--server-cpus", default="")
    soaker.add_argument("--drawing-pool", type=int, default=400)
    soaker.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.command != "record" and getattr(args, "training", True) and not os.environ.get("MNIST_NPZ"):
        sys.exit("Set MNIST_NPZ to a local mnist.npz (the teachers' runs train on the full training set); `run` takes --no-training.")
    random.seed(getattr(args, "seed", 0))
    command = {"record": record, "run": run, "rooms": run_rooms, "soak": soak}[args.command]
    print(json.dumps(asyncio.run(command(args)), indent=2))

if __name__ == "__main__":
    main()
