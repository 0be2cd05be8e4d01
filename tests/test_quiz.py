"""The class quiz: the Quiz in the database (rounds, votes, reveal, scores, who runs it; here on a SQLite
file, see test_quiz_store.py for several servers and PostgreSQL) and its round logic on the Class page
(AppTest: several sessions of one process share the server's quiz)."""
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from classroom.class_set import ClassSet
from classroom.quiz import Quiz, QuizError
from support.cookie_jar import CookieJar

CLASS_PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "4_Class.py")
IMAGE = np.arange(784, dtype=np.uint8).reshape(28, 28)
SEVEN = np.eye(10)[7] * 0.9 + 0.01  # the network answers 7


@pytest.fixture
def database(tmp_path):
    class_set = ClassSet(f"sqlite:///{tmp_path / 'quiz.sqlite'}")
    yield class_set
    class_set.dispose()


def started(quiz, host="host", label=3):
    quiz.start_round(IMAGE, SEVEN, label=label, host=host)
    return quiz


def test_one_vote_per_voter_changeable_until_the_reveal(database):
    quiz = started(Quiz(database))
    quiz.vote("ann", 3, 1)
    quiz.vote("ann", 7, 1)  # changed her mind
    quiz.vote("bob", 7, 1)
    view = quiz.view("ann")
    assert (view.vote_count, view.my_vote, view.revealed) == (2, 7, False)
    assert view.probabilities is None and view.network_answer is None and view.label is None  # nothing early
    quiz.reveal("host")
    with pytest.raises(QuizError, match="revealed"):
        quiz.vote("ann", 3, 1)
    view = quiz.view("ann")
    assert view.revealed and view.network_answer == 7 and view.label == 3
    assert list(view.vote_counts) == [0] * 7 + [2, 0, 0] and view.my_vote_right


def test_scores_per_voter_and_the_class_share_over_rounds(database):
    quiz = started(Quiz(database))
    quiz.vote("ann", 7, 1)
    quiz.vote("bob", 1, 1)
    quiz.reveal("host")
    quiz.start_round(IMAGE, np.eye(10)[2], host="host")
    quiz.vote("ann", 5, 2)
    quiz.vote("cat", 2, 2)
    quiz.reveal("host")
    quiz.reveal("host")  # twice changes nothing
    assert quiz.view("ann").my_score == (1, 2)
    assert quiz.view("bob").my_score == (0, 1)
    assert quiz.view("cat").my_score == (1, 1)
    assert quiz.view("dan").my_score == (0, 0)
    assert quiz.view().class_score == (2, 4) and quiz.view().rounds_revealed == 2
    assert quiz.view("ann").label is None  # round 2 asked about a drawing


def test_a_vote_for_an_old_round_or_a_bad_digit_is_refused_with_a_message(database, tmp_path):
    quiz = started(Quiz(database))
    quiz.start_round(IMAGE, SEVEN, host="host")
    with pytest.raises(QuizError, match="Round 1 is over: this is round 2"):
        quiz.vote("ann", 3, 1)
    for bad in (10, -1, "3", 2.0, True):
        with pytest.raises(QuizError, match="digit from 0 to 9"):
            quiz.vote("ann", bad, 2)
    empty = ClassSet(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with pytest.raises(QuizError, match="no quiz round"):
        Quiz(empty).vote("ann", 3, 1)
    empty.dispose()
    with pytest.raises(QuizError, match="voter id"):
        quiz.vote("", 3, 2)


def test_only_the_host_runs_the_quiz_until_it_ends_or_the_host_goes_idle(database):
    now = [0.0]
    quiz = started(Quiz(database, clock=lambda: now[0], host_idle_seconds=60))
    assert quiz.may_control("host") and not quiz.may_control("student") and not quiz.may_control(None)
    for action in (lambda: quiz.reveal("student"), lambda: quiz.start_round(IMAGE, SEVEN, host="student"),
                   lambda: quiz.end(None)):
        with pytest.raises(QuizError, match="Only the teacher"):
            action()
    assert quiz.view().round_number == 1 and not quiz.view().revealed
    quiz.reveal("other teacher", teacher=True)  # a teacher with the passcode may
    assert quiz.view().revealed
    now[0] = 61  # the host left
    assert quiz.may_control("student")
    quiz.start_round(IMAGE, SEVEN, host="student")
    assert not quiz.may_control("host")
    quiz.end("student")
    assert quiz.view().round_number == 0 and quiz.may_control("anyone")


def test_the_host_stays_while_their_page_is_open_and_only_then_hands_over(database):
    now = [0.0]
    quiz = started(Quiz(database, clock=lambda: now[0], host_idle_seconds=60))
    for _ in range(5):  # five minutes of an open round, no control action: the page redraws
        now[0] += 59
        quiz.mark_host_seen("host")
        quiz.mark_host_seen("student")  # another session's redraw does not make it the host
        assert not quiz.may_control("student")
    now[0] += 60
    assert quiz.may_control("student")


def test_rounds_check_their_digit_and_probabilities(database):
    quiz = Quiz(database)
    with pytest.raises(QuizError, match="28 x 28"):
        quiz.start_round(np.zeros((28, 29)), SEVEN, host="h")
    with pytest.raises(QuizError, match="ten probabilities"):
        quiz.start_round(IMAGE, [0.5, 0.5], host="h")
    with pytest.raises(QuizError, match="true label"):
        quiz.start_round(IMAGE, SEVEN, label=11, host="h")
    with pytest.raises(QuizError, match="no round to reveal"):
        quiz.reveal("h")
    quiz.start_round(np.full((28, 28), 0.5), SEVEN, host="h")  # a drawing's float image
    assert quiz.view().image.dtype == np.uint8 and quiz.view().image.max() == 128
    with pytest.raises(ValueError):
        quiz.view().image[0, 0] = 1  # every session sees the same digit: nobody may change it


def test_version_grows_only_when_something_changed(database):
    quiz = started(Quiz(database))
    versions = [quiz.view().version]
    quiz.vote("ann", 3, 1)
    versions.append(quiz.view().version)
    quiz.vote("ann", 3, 1)  # the same vote again
    versions.append(quiz.view().version)
    quiz.reveal("host")
    versions.append(quiz.view().version)
    assert versions[1] > versions[0] and versions[2] == versions[1] and versions[3] > versions[2]


def test_thirty_voters_at_once_are_each_counted_once(database):
    quiz = started(Quiz(database))
    barrier = threading.Barrier(30)

    def student(i):
        barrier.wait()
        for digit in (i % 10, 7, i % 10):
            quiz.vote(f"s{i}", digit, 1)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    quiz.reveal("host")
    view = quiz.view("s7")
    assert view.vote_count == 30 and list(view.vote_counts) == [3] * 10


# The page ------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_quiz():
    """A quiz object of its own for this test's database (each test has its own data folder): AppTest
    sessions in this process share it (st.cache_resource)."""
    from ui.quiz import quiz_on

    quiz_on.clear()
    yield
    quiz_on.clear()


pytestmark = pytest.mark.usefixtures("cookie_jar")  # AppTest sessions carry cookies to a reload (tests/conftest.py)


def open_class_page(cookies=None, **query):
    """A new session of the Class page from a browser holding ``cookies``."""
    app = AppTest.from_file(CLASS_PAGE, default_timeout=120)
    for name, value in query.items():
        app.query_params[name] = value
    return CookieJar.active.start(app, cookies)


def markdown_with(app, css_class):
    return [m.value for m in app.markdown if f'class="{css_class}"' in m.value]


def vote_buttons(app):
    return [b for b in app.button if b.key and b.key.startswith("quiz-vote-")]


def test_a_round_on_the_page_teacher_starts_students_vote_and_only_the_teacher_reveals(fresh_quiz):
    from ui.quiz import shared_quiz

    student = open_class_page()
    assert not student.exception
    assert not vote_buttons(student)  # no round yet
    teacher = open_class_page()
    teacher.button(key="quiz-next-button").click().run()  # the first to start runs the quiz
    assert not teacher.exception and not vote_buttons(teacher)
    assert markdown_with(teacher, "quiz-round") and "<b class=\"quiz-vote-count\">0</b>" in markdown_with(teacher, "quiz-count")[0]

    student.run()  # the next refresh: the round is on the student's screen
    assert [b.key for b in vote_buttons(student)] == [f"quiz-vote-{d}" for d in range(10)]
    assert not [b for b in student.button if b.key in ("quiz-reveal-button", "quiz-next-button", "quiz-end-button")]
    student.button(key="quiz-vote-3").click().run()
    student.button(key="quiz-vote-5").click().run()  # changed
    assert student.button(key="quiz-vote-5").proto.type == "primary"
    assert not markdown_with(student, "quiz-reveal")
    late = open_class_page()  # joins late: lands in the current round
    assert len(vote_buttons(late)) == 10
    late.button(key="quiz-vote-5").click().run()

    teacher.run()
    assert '<b class="quiz-vote-count">2</b>' in markdown_with(teacher, "quiz-count")[0]
    teacher.button(key="quiz-reveal-button").click().run()
    answer = shared_quiz().view().network_answer
    result = "".join(markdown_with(teacher, "quiz-answer-line"))
    assert f'<span class="quiz-reveal">{answer}</span>' in result and "2 votes" in result

    student.run()
    assert not vote_buttons(student)
    result = "".join(markdown_with(student, "quiz-answer-line"))
    assert f'<span class="quiz-reveal">{answer}</span>' in result
    right = answer == 5
    assert ("right!" in result) == right and f"Your score: <b>{int(right)} of 1</b>" in result
    assert any("quiz-bars" in m for m in (m.value for m in student.markdown))


def test_a_student_cannot_reveal_or_start_and_a_reload_keeps_the_vote(fresh_quiz, cookie_jar):
    from ui.identity import QUIZ_HOST_COOKIE, VISITOR_COOKIE
    from ui.quiz import shared_quiz

    teacher = open_class_page()
    teacher.button(key="quiz-next-button").click().run()
    student = open_class_page()
    student.button(key="quiz-vote-4").click().run()
    student_cookies = cookie_jar.browser_cookies(student)
    teacher_cookies = cookie_jar.browser_cookies(teacher)
    assert student_cookies[VISITOR_COOKIE] != teacher_cookies[VISITOR_COOKIE]
    assert QUIZ_HOST_COOKIE not in student_cookies
    assert not student.query_params and not teacher.query_params  # nothing in any address
    assert shared_quiz().may_control(teacher_cookies[QUIZ_HOST_COOKIE])
    assert not shared_quiz().may_control(None)

    reloaded = open_class_page(student_cookies)  # a reload or a second tab: new session, same cookies
    assert reloaded.button(key="quiz-vote-4").proto.type == "primary"
    assert shared_quiz().view().vote_count == 1
    forged = open_class_page({QUIZ_HOST_COOKIE: "0" * 32})  # a guessed host token gives no rights
    assert not [b for b in forged.button if b.key == "quiz-reveal-button"]
    old_link = open_class_page(quiz_host=teacher_cookies[QUIZ_HOST_COOKIE])  # an old link's token is refused
    assert not [b for b in old_link.button if b.key == "quiz-reveal-button"]  # (app.py takes it out of the address)
    assert not shared_quiz().view().revealed


def test_a_host_whose_page_is_open_stays_the_host(fresh_quiz):
    """A round left open for longer than the idle time: the host's page (it redraws every second) keeps it."""
    from classroom.quiz import HOST_IDLE_SECONDS
    from ui.quiz import shared_quiz

    now = [0.0]
    shared_quiz()._clock = lambda: now[0]
    host = open_class_page()
    host.button(key="quiz-next-button").click().run()
    student = open_class_page()
    for _ in range(3):  # an hour of an open round: the host's page redraws, the host never clicks
        now[0] += HOST_IDLE_SECONDS * 0.4
        host.run()
    student.run()
    assert len(vote_buttons(student)) == 10 and not [b for b in student.button if b.key == "quiz-reveal-button"]
    now[0] += HOST_IDLE_SECONDS  # the host's laptop is closed: no redraws
    student.run()
    assert [b for b in student.button if b.key == "quiz-reveal-button"]


def test_with_a_passcode_only_the_teacher_runs_the_quiz(fresh_quiz, monkeypatch):
    from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE, issue_token
    from ui.identity import TEACHER_COOKIE

    monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, "orange kite 7")
    student = open_class_page()
    assert not [b for b in student.button if b.key == "quiz-next-button"]
    assert any("No quiz right now" in c.value for c in student.caption)
    teacher = open_class_page({TEACHER_COOKIE: issue_token("orange kite 7")})
    teacher.button(key="quiz-next-button").click().run()
    student.run()
    assert len(vote_buttons(student)) == 10 and not [b for b in student.button if b.key == "quiz-reveal-button"]


def test_presenter_view_shows_the_quiz_and_nothing_else(fresh_quiz):
    teacher = open_class_page()
    teacher.button(key="quiz-next-button").click().run()
    presenter = open_class_page(present="1")
    assert not presenter.exception
    assert markdown_with(presenter, "quiz-count") and not vote_buttons(presenter)
    assert not [h for h in presenter.title if "handwriting" in h.value]



def test_rounds_on_a_class_set_digit_and_on_the_teachers_drawing(fresh_quiz, tmp_path, monkeypatch):
    from types import SimpleNamespace

    from classroom.class_set import ClassSet
    from ui.quiz import shared_quiz

    url = f"sqlite:///{tmp_path / 'class.sqlite'}"
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", url)
    teacher = open_class_page()
    teacher.button(key="quiz-next-button").click().run()  # a first round on a test digit makes this session the host
    teacher.segmented_control(key="quiz-source").set_value("Class set").run()
    teacher.button(key="quiz-next-button").click().run()
    assert any("The class set is empty" in w.value for w in teacher.warning)
    assert shared_quiz().view().round_number == 1

    class_set = ClassSet(url)
    class_set.add(IMAGE, 4, 4, 0.9, "s1")
    teacher.button(key="quiz-next-button").click().run()
    view = shared_quiz().view()
    assert view.round_number == 2 and view.source.startswith("class set digit #") and np.array_equal(view.image, IMAGE)
    shared_quiz().reveal(teacher=True)
    assert shared_quiz().view().label == 4
    class_set.dispose()

    teacher.segmented_control(key="quiz-source").set_value("My drawing").run()
    teacher.button(key="quiz-next-button").click().run()
    assert any("Draw a digit on the Draw page first" in w.value for w in teacher.warning)
    teacher.session_state["sketch_last_reading"] = SimpleNamespace(verdict="digit", image=np.full((28, 28), 0.5), probabilities=SEVEN)
    teacher.button(key="quiz-next-button").click().run()
    view = shared_quiz().view()
    assert view.round_number == 3 and view.source == "the teacher's drawing" and view.image.max() == 128
    shared_quiz().reveal(teacher=True)
    assert shared_quiz().view().network_answer == 7 and shared_quiz().view().label is None


def test_a_round_may_also_ask_what_the_digit_really_is(database):
    quiz = Quiz(database)
    quiz.start_round(IMAGE, SEVEN, label=None, host="h", ask_truth=True)
    assert not quiz.view().ask_truth  # a drawing: its true digit is unknown
    with pytest.raises(QuizError, match="asks only what the network"):
        quiz.vote("ann", 3, 1, question="truth")
    quiz.start_round(IMAGE, SEVEN, label=3, host="h", ask_truth=True)
    quiz.vote("ann", 7, 2)
    quiz.vote("ann", 3, 2, question="truth")
    quiz.vote("bob", 8, 2, question="truth")
    with pytest.raises(QuizError, match="No such question"):
        quiz.vote("ann", 3, 2, question="why")
    view = quiz.view("ann")
    assert (view.vote_count, view.truth_vote_count, view.my_truth_vote, view.truth_vote_counts) == (1, 2, 3, None)
    quiz.reveal("h")
    view = quiz.view("ann")
    assert view.truth_vote_counts[3] == 1 and view.my_truth_vote_right and view.my_vote_right
    assert view.my_score == (1, 1) and quiz.view("bob").my_score == (0, 0)  # only the network question scores


def test_the_page_asks_both_questions_when_the_teacher_ticks_it(fresh_quiz):  # the label is the test digit's
    teacher = open_class_page()
    teacher.checkbox(key="quiz-ask-truth").check().run()
    teacher.button(key="quiz-next-button").click().run()
    student = open_class_page()
    assert len([b for b in student.button if b.key and b.key.startswith("quiz-truth-")]) == 10
    student.button(key="quiz-vote-1").click().run()
    from mnist_cnn.data import load_test_set
    from ui.quiz import shared_quiz

    label = int(load_test_set()[1][int(shared_quiz().view().source.removeprefix("test digit #"))])
    student.button(key=f"quiz-truth-{label}").click().run()
    assert student.button(key=f"quiz-truth-{label}").proto.type == "primary"
    teacher.run()
    assert "(1 on what it really is)" in markdown_with(teacher, "quiz-count")[0]
    teacher.button(key="quiz-reveal-button").click().run()
    student.run()
    result = "".join(markdown_with(student, "quiz-answer-line"))
    assert f"<b>100%</b> saw it really is a {label}" in result and f'<span class="quiz-right">✓ you said {label}</span>' in result


@pytest.mark.load
def test_the_quiz_reveal_benchmark_runs(tmp_path):
    """A short run of benchmarks/quiz_reveal.py, so the tool cannot rot: every vote counted, every reveal seen.
    Its smallest settings: two class sizes (2 and 1 students), one round each."""
    script = Path(CLASS_PAGE).parent.parent / "benchmarks" / "quiz_reveal.py"
    output = subprocess.run(
        [sys.executable, str(script), "--students", "2", "--rounds", "1", "--vote-seconds", "1", "--data", str(tmp_path)],
        capture_output=True, text=True, timeout=180, check=True,
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    for name, size in (("2 students", 2), ("1 student", 1)):
        assert figures[name]["missed"] == 0 and figures[name]["votes_counted_per_round"] == [size]
        assert figures[name]["reveals"] == size and figures[name]["reveal_to_screen_s"]["max"] < 2.0


def test_a_database_that_is_down_pauses_the_quiz_with_a_message(fresh_quiz, monkeypatch):
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/class")
    page = open_class_page()
    assert not page.exception
    assert any("The quiz is paused" in w.value for w in page.warning)
    assert not vote_buttons(page) and not [b for b in page.button if b.key == "quiz-next-button"]
