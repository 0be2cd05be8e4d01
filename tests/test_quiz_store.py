"""The quiz in the database: two Quiz objects on one database are two servers, a new one is a restart;
on SQLite always and on PostgreSQL when one is available (always in CI)."""
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from classroom.class_set import ClassSet
from classroom.quiz import Quiz, QuizError, QuizUnavailableError

IMAGE = np.arange(784, dtype=np.uint8).reshape(28, 28)
SEVEN = np.eye(10)[7] * 0.9 + 0.01  # the network answers 7
PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def servers(class_set_url):
    """Two servers' quizzes on one database, each with its own connections and its own copy of the quiz."""
    databases = [ClassSet(class_set_url), ClassSet(class_set_url)]
    yield [Quiz(database) for database in databases]
    for database in databases:
        database.dispose()


def test_two_servers_show_one_round_count_every_vote_and_both_see_the_reveal(servers):
    first, second = servers
    first.view(), second.view()  # both have a copy of the empty quiz before the round starts
    assert first.start_round(IMAGE, SEVEN, label=3, source="test digit #1", host="host") == 1
    view = second.view("ann")
    assert (view.round_number, view.source, view.revealed) == (1, "test digit #1", False)
    np.testing.assert_array_equal(view.image, IMAGE)
    first.vote("ann", 7, 1)
    second.vote("bob", 2, 1)
    second.vote("ann", 4, 1)  # ann's phone reached the other server: her vote changes, not a second one
    assert first.view().vote_count == second.view().vote_count == 2
    assert first.view("ann").my_vote == 4
    second.reveal("host")  # the host's click lands on the other server
    for quiz in servers:
        view = quiz.view("bob")
        assert view.revealed and view.network_answer == 7 and view.label == 3 and list(view.vote_counts)[2] == 1
    with pytest.raises(QuizError, match="revealed"):
        first.vote("cat", 7, 1)
    assert first.view().class_score == second.view().class_score == (0, 2)


def test_the_host_runs_the_quiz_on_every_server(servers):
    first, second = servers
    first.start_round(IMAGE, SEVEN, host="host")
    assert second.may_control("host") and not second.may_control("student")
    with pytest.raises(QuizError, match="Only the teacher"):
        second.reveal("student")
    second.end("host")
    assert first.view().round_number == 0 and first.may_control("student")


OTHER_SERVER = """
import sys
from classroom.class_set import ClassSet
from classroom.quiz import Quiz
quiz = Quiz(ClassSet(sys.argv[1]))
for digit in range(10):
    quiz.vote(f"phone-{digit}", digit, 1)
quiz.reveal("host")
"""


def test_another_server_process_counts_votes_and_reveals_on_the_same_quiz(class_set_url):
    database = ClassSet(class_set_url)
    quiz = Quiz(database)
    quiz.start_round(IMAGE, SEVEN, host="host")
    quiz.vote("ann", 7, 1)
    assert quiz.view().vote_count == 1
    other = subprocess.run([sys.executable, "-c", OTHER_SERVER, class_set_url], cwd=PROJECT_DIR, capture_output=True, text=True,
                           timeout=120)
    assert other.returncode == 0, other.stderr
    view = quiz.view("ann")
    assert view.revealed and view.vote_count == 11 and list(view.vote_counts) == [1] * 7 + [2, 1, 1] and view.my_score == (1, 1)
    database.dispose()


def test_a_restart_keeps_the_round_the_votes_and_the_scores(class_set_url):
    before = ClassSet(class_set_url)
    quiz = Quiz(before)
    quiz.start_round(IMAGE, SEVEN, label=3, host="host")
    quiz.vote("ann", 7, 1)
    quiz.reveal("host")
    quiz.start_round(IMAGE, np.eye(10)[2], label=2, host="host", ask_truth=True)
    quiz.vote("ann", 2, 2)
    quiz.vote("bob", 5, 2, question="truth")
    version = quiz.view().version
    before.dispose()

    after = ClassSet(class_set_url)
    restarted = Quiz(after)
    view = restarted.view("ann")
    assert view.version == version and view.ask_truth and not view.revealed
    np.testing.assert_array_equal(view.image, IMAGE)
    assert (view.round_number, view.my_vote, view.my_score, view.class_score, view.truth_vote_count) == (2, 2, (1, 1), (1, 1), 1)
    assert restarted.may_control("host") and not restarted.may_control("bob")
    restarted.vote("bob", 2, 2)
    restarted.reveal("host")
    assert restarted.view("bob").my_score == (1, 1) and restarted.view().class_score == (3, 3)
    after.dispose()


def test_thirty_voters_at_once_on_two_servers_lose_no_vote(servers):
    servers[0].start_round(IMAGE, SEVEN, host="host")
    barrier = threading.Barrier(30)
    errors = []

    def student(i):
        quiz = servers[i % 2]
        barrier.wait()
        try:
            for digit in (i % 10, 7, i % 10):  # changes their mind twice
                quiz.vote(f"s{i}", digit, 1)
                quiz.view(f"s{i}")  # the page redraws meanwhile
        except QuizError as error:
            errors.append(error)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    servers[1].reveal("host")
    for quiz in servers:
        view = quiz.view("s7")
        assert view.vote_count == 30 and list(view.vote_counts) == [3] * 10 and view.my_vote == 7


def test_an_unchanged_quiz_costs_a_view_one_small_query(servers):
    """Every phone redraws the quiz once a second: the copy is re-read only after a change."""
    first, second = servers
    first.start_round(IMAGE, SEVEN, host="host")
    second.view()  # the schema checked, the round read
    statements = []
    sa.event.listen(second._database._engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    def queries():
        return [text for text in statements if text.strip() != "BEGIN"]  # SQLite's BEGIN is sent as a statement

    first.vote("ann", 1, 1)  # on the other server
    assert second.view("ann").my_vote == 1
    assert 1 < len(queries()) <= 5  # the version, then the changed quiz: state, round, its votes, revealed rounds
    statements.clear()
    for voter in ("ann", "bob", None):
        second.view(voter)
    assert len(queries()) == 3 and all("quiz_state" in text for text in queries())


def test_an_unreachable_database_is_a_message_for_people():
    quiz = Quiz(ClassSet("postgresql+psycopg://nobody@127.0.0.1:1/class", retry_seconds=0))
    for action in (quiz.view, lambda: quiz.vote("ann", 3, 1), lambda: quiz.start_round(IMAGE, SEVEN, host="h")):
        with pytest.raises(QuizUnavailableError, match="The quiz is paused: its database cannot be reached"):
            action()
