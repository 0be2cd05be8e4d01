"""What one quiz redraw costs the server: ``Quiz.view()`` on a database, with the quiz unchanged (one
small query) and just after a vote on another server (the copy re-read). A round with a class of votes
and some revealed rounds, so the re-read has rows to read. Prints JSON: microseconds per call, median.

    python benchmarks/quiz_view.py                                   # SQLite in a temp folder
    python benchmarks/quiz_view.py --url postgresql+psycopg://...    # a PostgreSQL database (its quiz is ended first)
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from classroom.class_set import ClassSet  # noqa: E402 - after the path
from classroom.quiz import Quiz  # noqa: E402

IMAGE = np.arange(784, dtype=np.uint8).reshape(28, 28)


def class_quiz(quiz, students, rounds):
    """``rounds`` revealed rounds and an open one, every student voting in each."""
    quiz.end(teacher=True)
    for number in range(1, rounds + 2):
        quiz.start_round(IMAGE, np.eye(10)[number % 10], label=number % 10, teacher=True)
        for student in range(students):
            quiz.vote(f"student-{student}", student % 10, number)
        if number <= rounds:
            quiz.reveal(teacher=True)


def microseconds(call, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e6)
    return round(statistics.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a database URL (default: SQLite in a temp folder)")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=10, help="revealed rounds before the open one")
    parser.add_argument("--repeat", type=int, default=300)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.url or f"sqlite:///{Path(folder) / 'quiz.sqlite'}"
        writer, reader = ClassSet(url), ClassSet(url)
        teacher, server = Quiz(writer), Quiz(reader)
        class_quiz(teacher, arguments.students, arguments.rounds)
        server.view()
        unchanged = microseconds(lambda: server.view("student-3"), arguments.repeat)
        votes = iter(range(10**9))

        def after_a_vote():
            teacher.vote("student-0", next(votes) % 10, arguments.rounds + 1)  # on the other server, not timed
            start = time.perf_counter()
            server.view("student-3")
            return (time.perf_counter() - start) * 1e6

        changed = round(statistics.median(after_a_vote() for _ in range(arguments.repeat // 3)))
        teacher.end(teacher=True)
        print(json.dumps({"backend": reader.backend, "students": arguments.students, "revealed_rounds": arguments.rounds,
                          "view_unchanged_us": unchanged, "view_after_a_change_us": changed}))
        writer.dispose()
        reader.dispose()


if __name__ == "__main__":
    main()
