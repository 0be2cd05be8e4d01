"""The class quiz under a class: N protocol students on the Class page (no browsers), each refreshing
the quiz once a second as a browser does (the fragment's ``run_every``) and voting once at a random
moment of the same 5 seconds; then the teacher reveals. Measured: time from the teacher's click on
Reveal to the reveal on every student's screen (the ``quiz-reveal`` marker arriving), median, p95 and
max over rounds, and the server's CPU per student refresh. A class of ``--students`` and a class of
one take turns, round by round (A B B A …), on one server. The sessions are those of
``support/class_sessions.py``.

    python benchmarks/quiz_reveal.py --students 30 --rounds 4
"""
import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.app_server import start_streamlit  # noqa: E402
from support.class_sessions import VOTE_SECONDS, click, one_round, open_class  # noqa: E402 - the class's sessions
from support.measuring import percentile  # noqa: E402
from ui.quiz import REFRESH_SECONDS  # noqa: E402 - the fragment's run_every, as a browser keeps it


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
