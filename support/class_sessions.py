"""A class's visitors as protocol clients (:mod:`support.streamlit_client`), no browsers: students drawing on the
Draw page (replaying a real browser's recorded drawing, :mod:`support.browser_drawing`), watching the Train page
and voting in the quiz on the Class page; a teacher running the quiz, or starting a run. Each session keeps a
record of what it timed. Used by the class load and quiz benchmarks (``benchmarks/``) and their smoke tests.

Widgets and answers are found by key, component name and CSS class, never by their position on the page, so
pages can change their layout.
"""
import asyncio
import dataclasses
import random
import re
import time

import numpy as np
from streamlit.proto.WidgetStates_pb2 import WidgetState

from mnist_cnn.data import load_test_set
from mnist_cnn.display import png_data_url
from support.browser_drawing import CANVAS_COMPONENT, DRAW_PAGE, BrowserTap, clear_in_browser, draw_in_browser, open_draw_in_browser
from support.canvas_styles import place_digit, render_on_canvas
from support.measuring import cpu_seconds
from support.streamlit_client import ProtocolError, StreamlitClient, answer_in, canvas_value, widget_key
from ui.quiz import CLASS_PATH, REFRESH_SECONDS

TRAIN_PAGE = "Train"
REVEAL_CLASS = "quiz-reveal"
VOTE_SECONDS = 5.0  # the "30 students voting in the same 5 seconds"


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
    images, labels = load_test_set()
    rng = np.random.default_rng(seed)
    drawings = []
    for index in rng.choice(len(images), count, replace=False):
        size = int(rng.integers(140, 230))
        top, left = (int(v) for v in rng.integers(0, 280 - size, 2))
        ink = place_digit(images[index], size, top, left)
        drawings.append((png_data_url(render_on_canvas(ink, "light ink on dark")), str(labels[index])))
    return drawings


def own_drawings(drawings, index):
    """Student ``index``'s drawings: the shared pool, from its own starting point."""
    start = (index * 7) % len(drawings)
    return drawings[start:] + drawings[:start]


async def open_page_once(url, page):
    """Open ``page`` in one short session (e.g. to warm the server up); the seconds it took."""
    client = StreamlitClient(url)
    await client.connect()
    try:
        return await client.open_page(page, timeout=300)
    finally:
        await client.close()


# ---------------------------------------------------------------- students drawing, and watching the Train page


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


async def drawing_class(url, recording, drawings, students, seconds, think):
    """``students`` light clients drawing for ``seconds``, each from its own place in ``drawings``; their records."""
    results, stop_at = [], time.perf_counter() + seconds
    await asyncio.gather(*(drawing_student(url, recording, own_drawings(drawings, i), stop_at, think, results) for i in range(students)))
    return results


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


# ---------------------------------------------------------------- the quiz


async def click(client, key):
    """Tap a button of the quiz (it sits in the quiz's fragment, so only the fragment reruns)."""
    (fragment,) = client.auto_reruns
    await client.send_rerun(widgets=[WidgetState(id=client.widget_ids[key], trigger_value=True)], fragment_id=fragment)
    await client.wait_for_run()


async def open_class(url, visitor=None):
    """A session on the Class page; ``visitor``: who it is (a :class:`Visitor`; None: a visitor of the open studio)."""
    client = StreamlitClient(url)
    await (visitor.connect(client) if visitor else client.connect())
    await client.open_page(CLASS_PATH)
    return client


async def quiz_student(client, refresh, stop, vote_at, seen, actions=None):
    """A student's phone in a quiz round: refresh every ``refresh`` seconds (a fixed cadence, like the browser's timer), vote once (after a
    refresh has brought this round's buttons), and note when the reveal marker arrives. ``actions``: lists
    ``"vote"`` and ``"refresh"`` to add each one's seconds to (from the request to the end of its run)."""
    def listen(message, received_at):
        if answer_in(message, REVEAL_CLASS) is not None and client not in seen:
            seen[client] = received_at

    (fragment,) = client.auto_reruns
    next_refresh = time.perf_counter() + random.uniform(0, refresh)
    voted = refreshed = False
    with client.listening(listen):
        while client not in seen and time.perf_counter() < stop:
            now = time.perf_counter()
            if not voted and refreshed and now >= vote_at:
                await click(client, f"quiz-vote-{random.randrange(10)}")
                voted, action = True, "vote"
            elif now >= next_refresh:
                await client.send_rerun(fragment_id=fragment)
                await client.wait_for_run()
                refreshed, action = True, "refresh"
                next_refresh += refresh
            else:
                await asyncio.sleep(min(next_refresh, vote_at if not voted else next_refresh) - now)
                continue
            if actions is not None:
                actions[action].append(time.perf_counter() - now)


async def vote_count(teacher):
    """The vote count on the teacher's screen, after one refresh."""
    counts = []

    def listen(message, _):
        text = answer_in(message, "quiz-vote-count")
        if text is not None:
            counts.append(int(text))

    with teacher.listening(listen):
        (fragment,) = teacher.auto_reruns
        await teacher.send_rerun(fragment_id=fragment)
        await teacher.wait_for_run()
    return counts[-1]


async def one_round(teacher, students, refresh, pid, vote_seconds, actions=None):
    """One round: the teacher opens it, the students vote within ``vote_seconds``, the teacher reveals.
    Returns (reveal-to-screen seconds per student, reveals missed, votes counted, server CPU-s per
    student refresh; None without the server's ``pid``); ``actions``: as :func:`quiz_student`'s."""
    await click(teacher, "quiz-next-button")
    start = time.perf_counter()
    seen = {}
    cpu_before = cpu_seconds(pid) if pid else None
    tasks = [
        asyncio.create_task(quiz_student(s, refresh, start + vote_seconds + 10, start + random.uniform(0, vote_seconds), seen, actions))
        for s in students
    ]
    await asyncio.sleep(vote_seconds + 0.5)
    cpu_used = cpu_seconds(pid) - cpu_before if pid else None
    votes = await vote_count(teacher)
    clicked = time.perf_counter()
    await click(teacher, "quiz-reveal-button")
    await asyncio.gather(*tasks)
    missing = len(students) - len(seen)
    refreshes = len(students) * (vote_seconds + 0.5) / refresh
    return [at - clicked for at in seen.values()], missing, votes, cpu_used / refreshes if pid else None


async def quiz_class(url, size, stop_at, pid, results, vote_seconds=None, teacher=ANYONE, student=ANYONE):
    """``size`` students on the Class page and a teacher running quiz rounds until ``stop_at``; ``teacher`` and
    ``student``: who they are (in a class room, only its teacher runs the quiz)."""
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


# ---------------------------------------------------------------- the teacher's runs


def longest_run_epochs():
    """The most epochs the Train page allows: a benchmark's teacher run, unless it says otherwise."""
    from mnist_cnn.training import BOUNDS  # imports TensorFlow: seconds, and only for this

    return BOUNDS["epochs"][1]


async def start_teacher_run(browser, url, epochs=None, visitor=ANYONE):
    """The teacher ``visitor`` (a :class:`Visitor`: its cookies make it the teacher) starts a run in chromium, by
    default the longest the Train page allows."""
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    await context.add_cookies([{"name": name, "value": value, "url": url} for name, value in (visitor.cookies or {}).items()])
    page = await context.new_page()
    await page.goto(f"{url}/{TRAIN_PAGE}")
    await page.get_by_label("Epochs").fill(str(epochs or longest_run_epochs()))
    await page.get_by_role("button", name="Start training").click(timeout=180_000)
    await page.wait_for_function(
        "() => (document.querySelector('.st-key-train-status')?.innerText || '').includes('Training epoch')", timeout=180_000
    )
    await context.close()


async def teacher_starts_run(url, visitor, epochs, expect, timeout=300):
    """A room's teacher (a protocol client) opens the Train page, sets the epochs, presses Start training and
    refreshes the page's live part, as a browser does, until the page shows ``expect``; returns (seconds from
    the click, the text shown)."""
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

        self.client.listen(read)
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
