"""A real chromium on the Draw page, for the class load benchmark and its smoke test: drawing a digit with the
mouse, clearing the canvas with the page's Clear button, and recording every ``BackMsg`` it sends (Playwright's
WebSocket frames), so that protocol clients (:mod:`support.class_sessions`) can replay a real browser's drawing.
"""
import base64
import json
import math
import time
from pathlib import Path

import streamlit
from playwright.async_api import async_playwright
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from support.app_server import CHROMIUM, CHROMIUM_ARGS
from support.streamlit_client import ANSWER_CLASS, answer_in, widget_key

RECORDING = Path(__file__).resolve().parent.parent / "benchmarks" / "recordings" / "draw.json"
CANVAS_COMPONENT = "streamlit_drawable_canvas"  # part of the canvas component's name
DRAW_PAGE = "Draw"
STROKES = {
    "1": [(150, 50 + 9 * k) for k in range(21)],
    "0": [(140 + 60 * math.sin(2 * math.pi * k / 40), 140 - 90 * math.cos(2 * math.pi * k / 40)) for k in range(42)],
}


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
