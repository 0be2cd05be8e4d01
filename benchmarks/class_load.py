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
"""
import argparse
import asyncio
import base64
import dataclasses
import json
import math
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
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from mnist_cnn.display import png_data_url  # noqa: E402 - the canvas sends its image as one
from support.app_server import CHROMIUM, CHROMIUM_ARGS, start_streamlit  # noqa: E402
from support.canvas_styles import place_digit, render_on_canvas  # noqa: E402
from support.streamlit_client import (  # noqa: E402
    ANSWER_CLASS,
    ProtocolError,
    StreamlitClient,
    answer_in,
    canvas_value,
    element_text,
    widget_key,
)
from ui.quiz import CLASS_PATH, REFRESH_SECONDS  # noqa: E402

RECORDING = PROJECT_DIR / "benchmarks" / "recordings" / "draw.json"
CANVAS_COMPONENT = "streamlit_drawable_canvas"  # part of the canvas component's name
DRAW_PAGE, TRAIN_PAGE = "Draw", "Train"
TARGET_P95_S = 1.0
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
STROKES = {
    "1": [(150, 50 + 9 * k) for k in range(21)],
    "0": [(140 + 60 * math.sin(2 * math.pi * k / 40), 140 - 90 * math.cos(2 * math.pi * k / 40)) for k in range(42)],
}
SCENARIOS = ("draw", "spectate", "quiz", "mix")
ROLES = ("draw", "spectate", "quiz", "browser")  # what a session in a class does (a mix has two)


# ---------------------------------------------------------------- recording a real browser


def canvas_state(message, canvas_ids):
    """The canvas widget's state in a rerun BackMsg, or None."""
    if message.WhichOneof("type") != "rerun_script":
        return None
    for state in message.rerun_script.widget_states.widgets:
        if state.id in canvas_ids:
            return state
    return None


def drawn(state):
    """Whether a canvas state carries strokes (a drawing), not a cleared canvas."""
    return state is not None and bool(((json.loads(state.json_value).get("drawing") or {}).get("raw") or {}).get("objects"))


class BrowserTap:
    """Decodes one chromium page's Streamlit WebSocket frames; times drawing-to-answer pairs."""

    def __init__(self, page):
        self.sent, self.canvas_ids, self.latencies, self.answers = [], set(), [], []
        self._drawing_sent_at = None
        self._held = {}  # message hash -> message, for the references the server sends instead
        page.on("websocket", lambda socket: self._watch(socket))

    def _watch(self, socket):
        socket.on("framesent", self._on_sent)
        socket.on("framereceived", self._on_received)

    def _on_sent(self, payload):
        message = BackMsg()
        message.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        self.sent.append(message)
        if drawn(canvas_state(message, self.canvas_ids)):
            self._drawing_sent_at = time.perf_counter()

    def _on_received(self, payload):
        message = ForwardMsg()
        message.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        if message.WhichOneof("type") == "ref_hash":  # an element the browser holds, sent again as its hash
            message = self._held.get(message.ref_hash, message)
        elif message.hash:
            self._held[message.hash] = message
        if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            if element.WhichOneof("type") == "bidi_component" and CANVAS_COMPONENT in element.bidi_component.component_name:
                self.canvas_ids.add(element.bidi_component.id)
        text = answer_in(message)
        if text is not None and self._drawing_sent_at is not None:
            self.latencies.append(time.perf_counter() - self._drawing_sent_at)
            self.answers.append(text)
            self._drawing_sent_at = None


async def draw_in_browser(page, digit):
    """One mouse stroke of ``digit`` ("1" or "0") on the Draw page's canvas; returns the digit shown."""
    canvas = page.locator("canvas.upper-canvas").first
    box = await canvas.bounding_box()
    points = STROKES[digit]
    await page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    await page.mouse.down()
    for x, y in points[1:]:
        await page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    await page.mouse.up()
    shown = page.locator(f".{ANSWER_CLASS}")
    await shown.wait_for(timeout=120_000)
    return (await shown.inner_text()).strip()


async def clear_in_browser(page):
    await page.locator(".st-key-canvas-buttons").get_by_role("button", name="Clear").click()  # the page's own Clear
    await page.locator(f".{ANSWER_CLASS}").wait_for(state="detached", timeout=120_000)


async def open_draw_in_browser(page, url):
    await page.goto(f"{url}/{DRAW_PAGE}")
    await page.locator("canvas.upper-canvas").first.wait_for(timeout=180_000)
    await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=180_000)


async def record_drawing(browser, url):
    """What a real chromium session sends while it opens the Draw page, draws a 1 and clears it."""
    page = await browser.new_page(viewport={"width": 1000, "height": 1200})
    tap = BrowserTap(page)
    await open_draw_in_browser(page, url)
    shown = await draw_in_browser(page, "1")
    await clear_in_browser(page)
    await page.close()
    drawing = next((m for m in tap.sent if drawn(canvas_state(m, tap.canvas_ids))), None)
    clearing = clearing_messages(tap.sent[tap.sent.index(drawing) + 1 :], tap.canvas_ids) if drawing else []
    if drawing is None or not clearing:
        raise RuntimeError(f"the recorded session sent no drawing and clearing ({len(tap.sent)} BackMsgs, canvas {tap.canvas_ids})")
    import streamlit

    return {
        "streamlit": streamlit.__version__,
        "page": DRAW_PAGE,
        "shown": shown,
        "canvas_key": widget_key(canvas_state(drawing, tap.canvas_ids).id),
        "backmsgs": [base64.b64encode(m.SerializeToString()).decode() for m in tap.sent],
        "drawing": base64.b64encode(drawing.SerializeToString()).decode(),
        "clearing": [base64.b64encode(m.SerializeToString()).decode() for m in clearing],
    }


async def recorded_drawing(url):
    """:func:`record_drawing` in a chromium of its own, closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return await record_drawing(browser, url)
        finally:
            await browser.close()


def clearing_messages(after_drawing, canvas_ids):
    """The reruns a browser sends to clear the canvas: the Clear button's, up to the canvas's own empty state.

    The page keeps showing the last verdict until the canvas reports it is empty, so a replay that
    sent the button alone would leave every later drawing answered with the first one's digit.
    """
    clearing = []
    for message in after_drawing:
        state = canvas_state(message, canvas_ids)
        if state is None:
            continue
        clearing.append(message)
        if not drawn(state):
            return clearing
    return []


def load_recording(recording=None):
    """A recording (as ``record_drawing`` returns it; default: the saved one) with its BackMsgs decoded."""
    recording = recording or json.loads(RECORDING.read_text())

    def decode(text):
        message = BackMsg()
        message.ParseFromString(base64.b64decode(text))
        return message

    return {**recording, "drawing": decode(recording["drawing"]), "clearing": [decode(m) for m in recording["clearing"]]}


# ---------------------------------------------------------------- the students


@dataclasses.dataclass(frozen=True)
class Visitor:
    """Who a protocol client is: the cookies its browser carries (its class room, a teacher's token) and
    the watchers its messages go to (each ``watch(client)`` adds a listener), e.g. the leak check."""

    cookies: dict | None = None
    watchers: tuple = ()

    async def connect(self, client):
        await client.connect(cookies=self.cookies)
        for watch in self.watchers:
            watch(client)


ANYONE = Visitor()  # no cookies, nothing watching: a visitor of the open studio


def student_drawings(count, seed):
    """``count`` (canvas PNG data URL, label) pairs: MNIST test digits placed and sized at random,
    light ink on the Draw page's black canvas."""
    from mnist_cnn.data import load_test_set

    images, labels = load_test_set()
    rng = np.random.default_rng(seed)
    drawings = []
    for index in rng.choice(len(images), count, replace=False):
        size = int(rng.integers(140, 230))
        top, left = (int(v) for v in rng.integers(0, 280 - size, 2))
        ink = place_digit(images[index], size, top, left)
        drawings.append((png_data_url(render_on_canvas(ink, "light ink on dark")), str(labels[index])))
    return drawings


async def drawing_student(url, recording, drawings, stop_at, think, results, visitor=ANYONE):
    """A student on the Draw page: a drawing every ``think`` seconds (a (low, high) range) until ``stop_at``."""
    record = {"role": "draw", "latencies": [], "answered_at": [], "answers": [], "expected": [], "drawn": [], "open_s": None, "error": None}
    results.append(record)
    client = StreamlitClient(url)
    canvas_key = recording["canvas_key"]
    try:
        await visitor.connect(client)
        record["open_s"] = await client.open_page(DRAW_PAGE)
        if canvas_key not in client.widget_ids:  # the page renamed its canvas: find it by its component
            canvas_key = next((widget_key(i) for n, i in client.components.items() if CANVAS_COMPONENT in n), canvas_key)
        await asyncio.sleep(random.uniform(0, think[1]))  # students do not all start together
        for image, label in drawings:
            if record["latencies"] and time.perf_counter() > stop_at:
                break  # every student draws at least once

            def with_image(state, image=image):
                state.json_value = canvas_value(state.json_value, image)

            states = client.widget_states(recording["drawing"].rerun_script.widget_states.widgets, {canvas_key: with_image})
            if not any(widget_key(s.id) == canvas_key for s in states):
                raise ProtocolError(f"the Draw page has no canvas keyed {canvas_key!r} (keys: {sorted(client.widget_ids)})")
            seconds, answer = await client.rerun_until_answer(states)
            record["latencies"].append(seconds)
            record["answered_at"].append(time.perf_counter())
            record["answers"].append(answer)
            record["expected"].append(label)
            record["drawn"].append(image)
            await asyncio.sleep(random.uniform(*think) / 2)  # looks at the answer, then clears
            for message in recording["clearing"]:
                await client.send_rerun(widgets=client.widget_states(message.rerun_script.widget_states.widgets))
                await client.wait_for_run()
            await asyncio.sleep(random.uniform(*think) / 2)
    except Exception as error:  # noqa: BLE001 - a failed session is counted, not fatal
        record["error"] = f"{type(error).__name__}: {error}"
    finally:
        record["dropped"] = bool(client.closed) and record["error"] is not None
        await client.close()


async def spectating_student(url, stop_at, results, visitor=ANYONE):
    """A student watching the Train page: reruns its live fragments as often as the server asks."""
    record = {"role": "spectate", "latencies": [], "answers": [], "expected": [], "open_s": None, "error": None}
    results.append(record)
    client = StreamlitClient(url)
    try:
        await visitor.connect(client)
        record["open_s"] = await client.open_page(TRAIN_PAGE)
        await asyncio.sleep(random.uniform(0, 1))
        while time.perf_counter() < stop_at:
            if not client.auto_reruns:
                raise ProtocolError("the Train page asks for no live refresh (no auto_rerun fragment)")
            started = time.perf_counter()
            for fragment_id in list(client.auto_reruns):
                sent = await client.send_rerun(fragment_id=fragment_id)
                await client.wait_for_run()
                record["latencies"].append(time.perf_counter() - sent)
            interval = min(client.auto_reruns.values(), default=1.0)
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))
    except Exception as error:  # noqa: BLE001
        record["error"] = f"{type(error).__name__}: {error}"
    finally:
        record["dropped"] = bool(client.closed) and record["error"] is not None
        await client.close()


async def quiz_class(url, size, stop_at, pid, results, vote_seconds=None, teacher=ANYONE, student=ANYONE):
    """``size`` students on the Class page and a teacher running quiz rounds until ``stop_at``; ``teacher`` and
    ``student``: who they are (in a class room, only its teacher runs the quiz)."""
    from benchmarks.quiz_reveal import VOTE_SECONDS, click, one_round, open_class

    record = {"role": "quiz", "students": size, "latencies": [], "answers": [], "expected": [], "votes_counted": [],
              "missed": 0, "open_s": None, "error": None, "actions": {"vote": [], "refresh": []}}
    results.append(record)
    clients = []
    try:
        host = await open_class(url, teacher)
        clients.append(host)
        await click(host, "quiz-next-button")  # the first round makes this session the quiz's host
        opened = time.perf_counter()
        clients += await asyncio.gather(*(open_class(url, student) for _ in range(size)))
        record["open_s"] = time.perf_counter() - opened  # the whole class opening the page at once
        while not record["votes_counted"] or time.perf_counter() < stop_at:  # at least one round
            latencies, missing, votes, _ = await one_round(host, clients[1:], REFRESH_SECONDS, pid, vote_seconds or VOTE_SECONDS,
                                                           record["actions"])
            record["latencies"] += latencies
            record["missed"] += missing
            record["votes_counted"].append(votes)
    except Exception as error:  # noqa: BLE001 - a failed class is counted, not fatal
        record["error"] = f"{type(error).__name__}: {error}"
    finally:
        record["dropped"] = sum(bool(c.closed) for c in clients) if record["error"] else 0
        if clients and not clients[0].closed and "quiz-end-button" in clients[0].widget_ids:
            await click(clients[0], "quiz-end-button")  # the next class's teacher starts a quiz of their own
        await asyncio.gather(*(c.close() for c in clients))


async def open_browser_student(browser, url):
    """A real chromium session with the Draw page open (opened before the class window: chromium
    shares the server's cores here, a real student's phone does not)."""
    page = await browser.new_page(viewport={"width": 1000, "height": 1200})
    tap = BrowserTap(page)
    started = time.perf_counter()
    await open_draw_in_browser(page, url)
    return page, tap, time.perf_counter() - started


async def browser_student(opened, index, stop_at, think, results):
    """A real chromium session drawing on the Draw page, timed from its own WebSocket frames."""
    page, tap, open_s = opened
    record = {"role": "browser", "latencies": [], "answers": [], "expected": [], "open_s": open_s, "error": None}
    results.append(record)
    try:
        await asyncio.sleep(random.uniform(0, think[1]))
        drawing = index
        while not record["expected"] or time.perf_counter() < stop_at:
            digit = "10"[drawing % 2]
            drawing += 1
            shown = await draw_in_browser(page, digit)
            record["expected"].append(digit)
            record["answers"].append(shown)
            await asyncio.sleep(random.uniform(*think) / 2)
            await clear_in_browser(page)
            await asyncio.sleep(random.uniform(*think) / 2)
    except Exception as error:  # noqa: BLE001
        record["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        record["latencies"] = tap.latencies[: len(record["expected"])]
        await page.close()


async def drawing_class(url, recording, drawings, students, seconds, think):
    """``students`` light clients drawing for ``seconds``, each from its own place in ``drawings``; their records."""
    results, stop_at = [], time.perf_counter() + seconds
    await asyncio.gather(*(drawing_student(url, recording, own_drawings(drawings, i), stop_at, think, results) for i in range(students)))
    return results


async def open_page_once(url, page):
    """Open ``page`` in one short session (e.g. to warm the server up); the seconds it took."""
    client = StreamlitClient(url)
    await client.connect()
    try:
        return await client.open_page(page, timeout=300)
    finally:
        await client.close()


def own_drawings(drawings, index):
    """Student ``index``'s drawings: the shared pool, from its own starting point."""
    start = (index * 7) % len(drawings)
    return drawings[start:] + drawings[:start]


# ---------------------------------------------------------------- the server and the teacher


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(field) for field in fields[11:15]) / TICKS_PER_SECOND


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


class TrainingMonitor:
    """One light spectator on the Train page that reads the live samples/s of the teacher's run."""

    def __init__(self, url):
        self.url, self.readings, self.client, self.task = url, [], None, None

    async def start(self):
        self.client = StreamlitClient(self.url)
        await self.client.connect()

        def read(message, received_at):
            if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                if element.WhichOneof("type") == "progress":
                    match = re.search(r"([\d,]+) samples/s", element.progress.text)
                    if match:
                        self.readings.append((received_at, float(match.group(1).replace(",", ""))))

        self.client._listeners.append(read)
        await self.client.open_page(TRAIN_PAGE)
        self.task = asyncio.create_task(self._refresh())

    async def _refresh(self):
        while not self.client.closed:
            for fragment_id in list(self.client.auto_reruns):
                await self.client.send_rerun(fragment_id=fragment_id)
                await self.client.wait_for_run()
            await asyncio.sleep(min(self.client.auto_reruns.values(), default=1.0))

    def samples_per_second(self, since, until):
        values = [value for t, value in self.readings if since <= t <= until]
        return round(float(np.median(values))) if values else None

    async def stop(self):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()


async def start_teacher_run(browser, url, epochs=None):
    """The teacher starts a run in chromium: by default the longest the Train page allows."""
    from mnist_cnn.training import BOUNDS

    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await page.goto(f"{url}/{TRAIN_PAGE}")
    await page.get_by_label("Epochs").fill(str(epochs or BOUNDS["epochs"][1]))
    await page.get_by_role("button", name="Start training").click(timeout=180_000)
    await page.wait_for_function(
        "() => (document.querySelector('.st-key-train-status')?.innerText || '').includes('Training epoch')", timeout=180_000
    )
    await page.close()


def run_state(run_dir):
    """A run folder's status in its metrics.json; None while the run loads its data (the file is written as training
    starts) or while the file is written."""
    from mnist_cnn.run_folder import METRICS_FILE

    try:
        return json.loads((Path(run_dir) / METRICS_FILE).read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


def training_active(runs):
    """Whether a run is under way in ``runs`` (a run folder gets its metrics.json as training starts)."""
    from mnist_cnn.run_folder import ACTIVE_STATES

    return any(run_state(run_dir) in (None, *ACTIVE_STATES) for run_dir in Path(runs).iterdir())


# ---------------------------------------------------------------- one class, and the sweep


def percentile(values, q):
    return round(float(np.percentile(values, q)), 3) if len(values) else None


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


async def one_class(urls, args, size, recording, browser, drawings, runs):
    """Quiet window (training alone), then the class window; figures of both. ``urls``: the servers, each
    student pinned to one in turn (as a sticky load balancer does); the teacher trains on the first."""
    url, server_pid = urls[0], args.server_pids[0]
    monitor = args.monitor
    with_browsers = browser is not None and args.scenario in ("draw", "mix")
    opened = [await open_browser_student(browser, urls[i % len(urls)]) for i in range(args.browsers)] if with_browsers else []
    quiet_started = time.perf_counter()
    cpu_before = servers_cpu_seconds(args.server_pids)
    await asyncio.sleep(args.quiet_seconds)
    quiet_cpu = (servers_cpu_seconds(args.server_pids) - cpu_before) / (time.perf_counter() - quiet_started)
    quiet_ended = time.perf_counter()

    results, tasks = [], []
    class_started = time.perf_counter()
    stop_at = class_started + args.seconds
    think = (args.think_min, args.think_max)
    drawers = size if args.scenario == "draw" else size // 2 if args.scenario == "mix" else 0
    if args.scenario == "quiz":
        tasks.append(quiz_class(url, size, stop_at, server_pid, results))
    for index in range(size if args.scenario != "quiz" else 0):
        if index < drawers:
            tasks.append(drawing_student(urls[index % len(urls)], recording, own_drawings(drawings, index), stop_at, think, results))
        else:
            tasks.append(spectating_student(urls[index % len(urls)], stop_at, results))
    tasks += [browser_student(session, i, stop_at, think, results) for i, session in enumerate(opened)]
    cpu_before, client_cpu_before = servers_cpu_seconds(args.server_pids), time.process_time()
    memory = PeakMemory(args.server_pids)
    profile = Path(args.profile) / f"server-{args.scenario}-{size}.txt" if args.profile else None
    profiler = start_profiler(server_pid, profile) if profile else None
    await asyncio.gather(*tasks)
    rss_peak = await memory.stop()
    if profiler:
        stop_profiler(profiler)
    wall = time.perf_counter() - class_started
    class_cpu = servers_cpu_seconds(args.server_pids) - cpu_before
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
    from playwright.async_api import async_playwright

    sizes = [int(v) for v in args.students.split(",")]
    if args.client_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})
    drawings = student_drawings(args.drawing_pool, seed=args.seed)
    with tempfile.TemporaryDirectory() as workspace:
        runs = Path(workspace) / "runs"  # the first server's, where the teacher trains
        prefix = ("taskset", "-c", args.server_cpus) if args.server_cpus else ()
        # Every server on one database (a SQLite file here), each with its own runs folder, as on separate machines.
        env = {"MNIST_CNN_RUNS": str(runs), "MNIST_CNN_CLASS_DB_URL": f"sqlite:///{workspace}/studio.sqlite"}
        launcher = ("-m", "streamlit")
        if args.keras_cleanup:  # benchmarks/timed_streamlit.py undoes ui/server_tuning.py
            env.update(STREAMLIT_DEFAULT_CLEANUP="1", STREAMLIT_TIMINGS=str(Path(workspace) / "timings.jsonl"))
            launcher = (str(PROJECT_DIR / "benchmarks" / "timed_streamlit.py"),)
        started = [start_streamlit({**env, "MNIST_CNN_RUNS": str(runs) if i == 0 else f"{workspace}/runs-{i}"}, timeout=180,
                                   launcher=launcher, command_prefix=prefix) for i in range(args.servers)]
        servers, urls = [server for server, _ in started], [url for _, url in started]
        url = urls[0]
        runs.mkdir(exist_ok=True)
        args.server_pids = [each.pid for each in servers]
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
                args.monitor = None
                if args.training:
                    await start_teacher_run(browser, url)
                    args.monitor = TrainingMonitor(url)
                    await args.monitor.start()
                for size in sizes:
                    if args.training and not training_active(runs):
                        await start_teacher_run(browser, url)  # the last run ended: the teacher starts another
                    figures = await one_class(urls, args, size, recording, browser if args.browsers else None, drawings, runs)
                    report["classes"].append(figures)
                    print(json.dumps(figures), file=sys.stderr, flush=True)
                if args.monitor:
                    await args.monitor.stop()
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
        from ui.identity import ROOM_COOKIE, ROOM_TEACHER_COOKIE

        cookies = {ROOM_COOKIE: self.code, **({ROOM_TEACHER_COOKIE: self.teacher_token} if teacher else {})}
        return Visitor(cookies, watchers)


def open_rooms(database_url, count, training):
    """``count`` rooms created on the server's database as "Start a class" does, each by a teacher of its own;
    the first ``training`` of them train."""
    from classroom.class_set import ClassSet
    from classroom.rooms import Rooms

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
        return lambda client: client._listeners.append(lambda _message, _at: self.scan(client.last_frame, room, who, codes))

    def quiz_digits(self, room):
        """A watcher for a room's teacher: the quiz digits it is shown are the room's."""
        def watch(client):
            client._listeners.append(lambda _message, _at: [self.add(room, "quiz digit", m) for m in QUIZ_DIGIT.findall(client.last_frame)])
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

        client._listeners.append(listen)

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


async def teacher_starts_run(url, visitor, epochs, expect, timeout=300):
    """A room's teacher (a protocol client) opens the Train page, sets the epochs, presses Start training and
    refreshes the page's live part, as a browser does, until the page shows ``expect``; returns (seconds from
    the click, the text shown)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    client = StreamlitClient(url)
    try:
        await visitor.connect(client)
        await client.open_page(TRAIN_PAGE)
        epochs_key = next(key for key in client.widget_ids if key.startswith("epochs-"))
        start = [WidgetState(id=client.widget_ids[epochs_key], int_value=epochs),
                 WidgetState(id=client.buttons["Start training"], trigger_value=True)]
        shown = client.text_seen(expect)
        clicked = await client.send_rerun(widgets=start)
        await client.wait_for_run()
        while not shown.done():
            if time.perf_counter() - clicked > timeout:
                raise ProtocolError(f"the Train page did not show {expect!r} within {timeout} s")
            for fragment_id in list(client.auto_reruns):
                await client.send_rerun(fragment_id=fragment_id)
                await client.wait_for_run()
            await asyncio.wait({shown}, timeout=min(client.auto_reruns.values(), default=1.0))
        return round(time.perf_counter() - clicked, 2), shown.result()
    finally:
        await client.close()


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
    from classroom.run_store import ROOMS_FOLDER
    from mnist_cnn.run_folder import ACTIVE_STATES

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


def room_students(room, number, args, leaks, meter, recording, drawings, stop_at):
    """The tasks of one room's class: a third drawing, a third watching the Train page, a third in the quiz
    that the room's teacher runs."""
    url, think, students = args.url, (args.think_min, args.think_max), args.students
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


async def rooms_window(server_pids, rooms, args, recording, drawings, runs):
    """Every room's class at once for ``args.seconds`` while the training rooms' teachers train in turn; the
    server's CPU and memory from ``server_pids`` (none: not measured)."""
    leaks = LeakCheck([room.code for room in rooms])
    meters = {room.code: SpectatorBytes() for room in rooms}
    started = time.perf_counter()
    stop_at = started + args.seconds
    teachers, timeline = [], {}
    # Every room's class, the training rooms' teachers in turn, and the run folders (markers for the leak check).
    tasks = [task for number, room in enumerate(rooms)
             for task in room_students(room, number, args, leaks, meters[room.code], recording, drawings, stop_at)]
    tasks += [train_in_turn(args.url, rooms, args.epochs, leaks, teachers),
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
        server, args.url = start_streamlit({"MNIST_CNN_RUNS": str(runs), "MNIST_CNN_CLASS_DB_URL": database_url}, timeout=180)
        report = {"rooms": args.rooms, "students_per_room": args.students, "load_average_before": load_average()}
        try:
            # A drawing recorded in chromium, each page's first run, then the rooms, made on the server's database.
            recording = load_recording(await recorded_drawing(args.url))  # also loads the model, as a first visit does
            for page in (TRAIN_PAGE, CLASS_PATH):
                await open_page_once(args.url, page)  # each page's first run after a server start is not the class's
            classes = open_rooms(database_url, args.rooms, min(args.training_rooms, args.rooms))
            report["per_room"], report["overall"] = await rooms_window([server.pid], classes, args, recording, drawings, runs)
            report["overall"]["server_peak_rss_mb_since_start"] = round(memory_mb(server.pid, "VmHWM"))
        finally:
            server.terminate()
            server.wait(timeout=30)
    from benchmarks.spectator_bytes import TARGET_KB_PER_S

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
    from classroom.runs import read_saved_run
    from mnist_cnn.run_folder import METRICS_FILE, MODEL_FILE

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
    from playwright.async_api import async_playwright

    drawings = student_drawings(args.drawing_pool, seed=args.seed)
    bucket_s, seconds = args.bucket_minutes * 60, args.minutes * 60
    with tempfile.TemporaryDirectory() as runs:
        prefix = ("taskset", "-c", args.server_cpus) if args.server_cpus else ()
        server, url = start_streamlit({"MNIST_CNN_RUNS": runs}, timeout=180, command_prefix=prefix)
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
                        await start_teacher_run(browser, url, args.epochs)
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
