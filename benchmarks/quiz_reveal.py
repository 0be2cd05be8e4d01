"""The class quiz under a class: N protocol students on the Class page (no browsers), each refreshing
the quiz once a second as a browser does (the fragment's ``run_every``) and voting once at a random
moment of the same 5 seconds; then the teacher reveals. Measured: time from the teacher's click on
Reveal to the reveal on every student's screen (the ``quiz-reveal`` marker arriving), median, p95 and
max over rounds, and the server's CPU per student refresh. A class of ``--students`` and a class of
one take turns, round by round (A B B A …), on one server.

    python benchmarks/quiz_reveal.py --students 30 --rounds 4
"""
import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

from benchmarks.class_load import cpu_seconds, percentile  # noqa: E402
from support.app_server import start_streamlit  # noqa: E402
from support.streamlit_client import StreamlitClient, answer_in  # noqa: E402
from ui.quiz import CLASS_PATH, REFRESH_SECONDS  # noqa: E402 - the fragment's run_every, as a browser keeps it

REVEAL_CLASS = "quiz-reveal"
VOTE_SECONDS = 5.0  # the "30 students voting in the same 5 seconds"


async def click(client, key):
    """Tap a button of the quiz (it sits in the quiz's fragment, so only the fragment reruns)."""
    (fragment,) = client.auto_reruns
    await client.send_rerun(widgets=[WidgetState(id=client.widget_ids[key], trigger_value=True)], fragment_id=fragment)
    await client.wait_for_run()


async def open_class(url, visitor=None):
    """A session on the Class page; ``visitor``: who it is (:class:`benchmarks.class_load.Visitor`; None: a
    visitor of the open studio)."""
    client = StreamlitClient(url)
    await (visitor.connect(client) if visitor else client.connect())
    await client.open_page(CLASS_PATH)
    return client


async def student(client, refresh, stop, vote_at, seen, actions=None):
    """Refresh every ``refresh`` seconds (a fixed cadence, like the browser's timer), vote once (after a
    refresh has brought this round's buttons), and note when the reveal marker arrives. ``actions``: lists
    ``"vote"`` and ``"refresh"`` to add each one's seconds to (from the request to the end of its run)."""
    def listen(message, received_at):
        if answer_in(message, REVEAL_CLASS) is not None and client not in seen:
            seen[client] = received_at

    client._listeners.append(listen)
    (fragment,) = client.auto_reruns
    next_refresh = time.perf_counter() + random.uniform(0, refresh)
    voted = refreshed = False
    try:
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
    finally:
        client._listeners.remove(listen)


async def vote_count(teacher):
    """The vote count on the teacher's screen, after one refresh."""
    counts = []

    def listen(message, _):
        text = answer_in(message, "quiz-vote-count")
        if text is not None:
            counts.append(int(text))

    teacher._listeners.append(listen)
    try:
        (fragment,) = teacher.auto_reruns
        await teacher.send_rerun(fragment_id=fragment)
        await teacher.wait_for_run()
    finally:
        teacher._listeners.remove(listen)
    return counts[-1]


async def one_round(teacher, students, refresh, pid, vote_seconds, actions=None):
    """One round: the teacher opens it, the students vote within ``vote_seconds``, the teacher reveals.
    Returns (reveal-to-screen seconds per student, reveals missed, votes counted, server CPU-s per
    student refresh; None without the server's ``pid``); ``actions``: as :func:`student`'s."""
    await click(teacher, "quiz-next-button")
    start = time.perf_counter()
    seen = {}
    cpu_before = cpu_seconds(pid) if pid else None
    tasks = [
        asyncio.create_task(student(s, refresh, start + vote_seconds + 10, start + random.uniform(0, vote_seconds), seen, actions))
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


async def run(args):
    process, url = start_streamlit({"MNIST_CNN_DATA": args.data, "MNIST_CNN_CLASS_DB_URL": ""})
    try:
        teacher = await open_class(url)
        await click(teacher, "quiz-next-button")  # the first round makes this session the quiz's host
        classes = {size: [await open_class(url) for _ in range(size)] for size in (args.students, 1)}
        order = [args.students, 1, 1, args.students] * ((args.rounds + 1) // 2)
        results = {size: {"latencies": [], "missing": 0, "votes": [], "cpu_ms_per_refresh": []} for size in classes}
        for size in order[: 2 * args.rounds]:
            latencies, missing, votes, cpu_per_refresh = await one_round(
                teacher, classes[size], args.refresh, process.pid, args.vote_seconds
            )
            results[size]["latencies"] += latencies
            results[size]["missing"] += missing
            results[size]["votes"].append(votes)
            results[size]["cpu_ms_per_refresh"].append(round(1000 * cpu_per_refresh, 2))
        summary = {
            f"{size} student{'s' if size > 1 else ''}": {
                "reveals": len(r["latencies"]),
                "missed": r["missing"],
                "votes_counted_per_round": r["votes"],
                "reveal_to_screen_s": {
                    "median": round(percentile(r["latencies"], 50), 3),
                    "p95": round(percentile(r["latencies"], 95), 3),
                    "max": round(max(r["latencies"]), 3),
                },
                "server_cpu_ms_per_student_refresh": r["cpu_ms_per_refresh"],
            }
            for size, r in results.items()
        }
        summary["rounds_each"] = args.rounds
        summary["load_average"] = os.getloadavg()
        print(json.dumps(summary))
        for client in [teacher, *[c for clients in classes.values() for c in clients]]:
            await client.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=4, help="rounds for each class size")
    parser.add_argument("--refresh", type=float, default=REFRESH_SECONDS, help="seconds between a student's refreshes")
    parser.add_argument("--vote-seconds", type=float, default=VOTE_SECONDS, help="the votes come within this many seconds")
    parser.add_argument("--data", default=str(Path("/tmp") / "quiz-reveal-data"), help="the server's data folder")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
