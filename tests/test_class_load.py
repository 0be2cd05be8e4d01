"""Smoke run of the class load generator (benchmarks/class_load.py, and its sessions in support/class_sessions.py):
chromium records a drawing and its clearing on the live app, then a few protocol clients replay it, each drawing
several digits, and must get the digits the app itself would read, so the tool cannot rot."""
import argparse
import asyncio
import base64
import io
import threading
import time

import numpy as np
import pytest
from PIL import Image

from benchmarks.class_load import LeakCheck, open_rooms, rooms_window
from classroom.class_set import SQLITE_FILE
from mnist_cnn.preprocess import canvas_to_mnist
from support.browser_drawing import DRAW_PAGE, load_recording, recorded_drawing
from support.class_sessions import drawing_class, open_page_once, quiz_class, student_drawings
from support.streamlit_client import StreamlitClient


def digits_the_app_reads(drawings, predictor):
    """What the Draw page should answer for each drawing: the bundled model's reading, in process."""
    canvases = [np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))) for url, _ in drawings]
    probabilities = predictor.probabilities(np.stack([canvas_to_mnist(c) for c in canvases]))
    return {url: str(int(np.argmax(p))) for (url, _), p in zip(drawings, probabilities, strict=True)}


def run_in_own_thread(coroutine):
    """asyncio.run in a thread of its own: the browser tests' sync Playwright keeps a loop running in this one."""
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.load
def test_five_protocol_clients_draw_and_get_their_own_digits(app_url, predictor):
    drawings = student_drawings(30, seed=1)
    expected = digits_the_app_reads(drawings, predictor)
    run_in_own_thread(open_page_once(app_url, DRAW_PAGE))  # the first visit loads the model
    recording = load_recording(run_in_own_thread(recorded_drawing(app_url)))
    results = run_in_own_thread(drawing_class(app_url, recording, drawings, students=5, seconds=7, think=(1, 2)))

    assert [r["error"] for r in results] == [None] * 5
    assert all(len(r["answers"]) >= 2 for r in results)  # a second drawing follows a replayed clearing
    assert all(r["open_s"] for r in results)
    assert len({r["drawn"][0] for r in results}) == 5  # each client its own drawings
    answers = [(a, url) for r in results for a, url in zip(r["answers"], r["drawn"], strict=True)]
    assert all(answer == expected[url] for answer, url in answers), answers
    labels = [label for r in results for label in r["expected"]]
    right = sum(a == label for (a, _), label in zip(answers, labels, strict=True))
    assert right >= 0.8 * len(labels)  # the digits themselves: MNIST test digits, mostly read right
    assert all(0 < s < 30 for r in results for s in r["latencies"])


@pytest.mark.load
def test_quiz_classes_one_after_another_vote_and_see_every_reveal(app_url):
    results = []
    for size in (3, 2):  # the second class's teacher runs a quiz of their own on the same server
        run_in_own_thread(quiz_class(app_url, size, time.perf_counter() + 1, None, results, vote_seconds=1))
    for record, size in zip(results, (3, 2), strict=True):
        assert record["error"] is None
        assert record["votes_counted"] and all(votes == size for votes in record["votes_counted"])
        assert record["missed"] == 0 and len(record["latencies"]) == size * len(record["votes_counted"])
        assert all(0 < s < 3 for s in record["latencies"])  # the next once-a-second refresh brings the reveal


@pytest.mark.load
def test_class_rooms_see_nothing_of_each_other_and_a_planted_code_is_found(app_url, app_runs_dir, app_data_dir):
    rooms = open_rooms(f"sqlite:///{app_data_dir / SQLITE_FILE}", 2, training=0)
    run_in_own_thread(open_page_once(app_url, DRAW_PAGE))  # the first visit loads the model
    args = argparse.Namespace(students=2, seconds=5, think_min=1, think_max=2, epochs=1)
    drawings = student_drawings(20, seed=2)
    per_room, overall = run_in_own_thread(rooms_window(app_url, [], rooms, args, load_recording(), drawings, app_runs_dir))

    assert overall["leaks"] == 0, overall["leak_examples"]
    for room in per_room:  # a drawing student and a spectator in each room, both working
        assert room["draw"]["events"] and room["spectate"]["events"], room
        assert not room["draw"]["errors"] and not room["spectate"]["errors"], room

    # Planted: a browser of the first room (its cookie) counted as the second room's client sees the first room's code.
    leaks = LeakCheck([room.code for room in rooms])

    async def planted():
        client = StreamlitClient(app_url)
        await rooms[0].visitor(leaks.watch(rooms[1].code, "planted")).connect(client)
        try:
            await client.open_page("")
        finally:
            await client.close()

    run_in_own_thread(planted())
    assert leaks.hits and {(hit["saw"], hit["of_room"]) for hit in leaks.hits} == {("join code", rooms[0].code)}
