"""The class quiz in real chromium: one teacher (no passcode: the visitor who starts it runs it) and
three students, one on a 360 x 740 touch phone; votes counted once per session, the reveal on every
screen by itself (its 2 s target is benchmarks/quiz_reveal.py's), a late joiner in the current round,
no reveal for students; the presenter view.

One server for the module, with its own data folder.
"""
import re
import time
from urllib.parse import urlsplit

import pytest

from support.app_server import click_and_wait_for_its_run, save_screenshot, start_streamlit, wait_for_app_idle, witness
from support.touch import PHONE, scroll_offsets, too_small_tap_targets
from ui.identity import QUIZ_HOST_COOKIE, VISITOR_COOKIE

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1920, "height": 1080}}
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
# Every screen shows the reveal by itself, within a few of its 1 s refreshes. The 2 s target from the
# teacher's click is measured by benchmarks/quiz_reveal.py: a test machine busy with other tests is no measure.
REVEAL_SECONDS = 6.0


@pytest.fixture(scope="module")
def quiz_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("quiz-data")
    process, url = start_streamlit({"MNIST_CNN_DATA": str(data), "MNIST_CNN_RUNS": str(data / "runs"), "MNIST_CNN_CLASS_DB_URL": ""})
    yield url
    process.terminate()
    process.wait(timeout=20)


def open_class(browser, url, options, query="", context=None):
    """The Class page in a new browser (``context``: a new tab of that browser instead)."""
    if context is None:
        context = browser.new_context(**options)
        context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{url}/Class{query}")
    page.locator(".st-key-quiz").wait_for()
    wait_for_app_idle(page)
    return page


def cookie(page, name):
    """The value of this browser's cookie ``name``, or None."""
    return next((c["value"] for c in page.context.cookies() if c["name"] == name), None)


def no_query(page):
    return not urlsplit(page.url).query


def overflowing(page, selector):
    """Texts under ``selector`` that stick out of the screen, of their own box, of the quiz's frame or of
    an ancestor that clips (a clipped "truly", a legend spilling over the border)."""
    return page.evaluate(
        """selector => [...document.querySelectorAll(selector)].filter(e => {
               const r = e.getBoundingClientRect();
               if (r.right > window.innerWidth || e.scrollWidth > e.clientWidth + 1) return true;
               for (let a = e.parentElement; a && !a.matches('.stMain'); a = a.parentElement) {
                   const style = getComputedStyle(a);
                   if (style.overflow === 'visible' && !a.matches('.st-key-quiz-screen, .st-key-quiz-present')) continue;
                   const b = a.getBoundingClientRect();
                   const border = parseFloat(style.borderBottomWidth) || 0;
                   if (r.bottom > b.bottom - border + 0.5 || r.right > b.right + 0.5) return true;
               }
               return false;
           }).map(e => e.innerText)""",
        selector,
    )


def round_shown(page):
    marker = page.locator(".quiz-round")
    marker.wait_for(timeout=2_500)
    return marker.inner_text()


def vote_count(page):
    return int(page.locator(".quiz-vote-count").inner_text())


def bottom_of(page, selector):
    box = page.locator(selector).bounding_box()
    return box["y"] + box["height"]


def test_a_quiz_round_with_a_teacher_and_three_students(browser, quiz_url):
    teacher = open_class(browser, quiz_url, DESKTOP)
    laptop = open_class(browser, quiz_url, LAPTOP)
    phone = open_class(browser, quiz_url, PHONE)
    pages = [teacher, laptop, phone]
    try:
        assert laptop.get_by_text("Quiz: guess what the network says").count()  # no passcode: anyone may start…
        teacher.get_by_text("Quiz: guess what the network says").click()
        with witness("quiz-first-round", teacher=teacher):
            teacher.locator(".st-key-quiz-next-button button").click()
            teacher.locator(".quiz-vote-count").wait_for()
        teacher.wait_for_function(f"() => document.cookie.includes('{QUIZ_HOST_COOKIE}=')")
        assert no_query(teacher) and cookie(teacher, QUIZ_HOST_COOKIE)  # the host token: a cookie, never in the URL
        for student in (laptop, phone):  # …until someone has: the others are students now
            student.locator(".st-key-quiz-vote-9 button").wait_for(timeout=2_500)
            assert round_shown(student) == "1"
            assert student.locator(".st-key-quiz-reveal-button, .st-key-quiz-next-button").count() == 0
            assert no_query(student) and cookie(student, QUIZ_HOST_COOKIE) is None

        # The phone: digit, question and the ten buttons on the first screen, nothing to scroll sideways.
        assert bottom_of(phone, ".st-key-quiz-votes") <= 740
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
        for digit in (0, 9):
            box = phone.locator(f".st-key-quiz-vote-{digit} button").bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44
        assert not too_small_tap_targets(phone)
        save_screenshot(phone, "quiz-phone-vote")

        laptop.locator(".st-key-quiz-vote-3 button").click()
        laptop.wait_for_function("() => document.querySelector('.st-key-quiz-vote-3 button').getAttribute('kind') === 'primary'")
        laptop.locator(".st-key-quiz-vote-5 button").click()  # changes the vote: still one
        laptop.wait_for_function("() => document.querySelector('.st-key-quiz-vote-5 button').getAttribute('kind') === 'primary'")
        phone.locator(".st-key-quiz-vote-2 button").tap()
        phone.wait_for_function("() => document.querySelector('.st-key-quiz-vote-2 button').getAttribute('kind') === 'primary'")
        teacher.wait_for_function("() => document.querySelector('.quiz-vote-count')?.innerText === '2'", timeout=2_500)
        voter = cookie(phone, VISITOR_COOKIE)
        assert voter and voter != cookie(laptop, VISITOR_COOKIE)
        phone.reload()  # same cookie, same voter: the vote is still there, and still counted once
        phone.wait_for_function("() => document.querySelector('.st-key-quiz-vote-2 button')?.getAttribute('kind') === 'primary'")

        late = open_class(browser, quiz_url, LAPTOP)  # joins late: lands in the current round
        pages.append(late)
        late.locator(".st-key-quiz-vote-7 button").wait_for(timeout=2_500)
        assert round_shown(late) == "1"
        late.locator(".st-key-quiz-vote-7 button").click()
        teacher.wait_for_function("() => document.querySelector('.quiz-vote-count')?.innerText === '3'", timeout=2_500)
        time.sleep(1.2)  # a few more refreshes: still three votes, none of them shown to anyone
        assert vote_count(teacher) == 3 and all(p.locator(".quiz-reveal").count() == 0 for p in pages)
        save_screenshot(teacher, "quiz-teacher-votes")

        link = teacher.locator(".st-key-quiz-controls a", has_text="Presenter view").get_attribute("href")
        assert link == "?present=1"  # no token on the projector: the tab runs the quiz by the browser's cookie
        presenter = open_class(browser, quiz_url, DESKTOP, query=link, context=teacher.context)
        pages.append(presenter)
        presenter.locator(".quiz-vote-count").wait_for()
        assert vote_count(presenter) == 3 and presenter.locator(".st-key-quiz-reveal-button").count() == 1
        assert presenter.locator(".quiz-digit-image").bounding_box()["width"] >= 480  # from the back of the room
        assert presenter.evaluate("() => document.querySelector('.stMain').scrollHeight") <= 1080
        save_screenshot(presenter, "quiz-presenter-votes")

        clicked = time.monotonic()
        teacher.locator(".st-key-quiz-reveal-button button").click()
        seen = {}
        for name, page in (("teacher", teacher), ("laptop", laptop), ("phone", phone), ("late", late), ("presenter", presenter)):
            page.locator(".quiz-reveal").wait_for(timeout=REVEAL_SECONDS * 1000 + 500)
            seen[name] = time.monotonic() - clicked
        print(f"reveal seen after (s): {seen}")
        assert max(seen.values()) <= REVEAL_SECONDS, seen
        answer = teacher.locator(".quiz-reveal").inner_text()
        assert all(p.locator(".quiz-reveal").inner_text() == answer for p in pages)
        assert phone.locator(".st-key-quiz-vote-2").count() == 0  # no voting after the reveal
        assert "3 votes" in teacher.locator(".st-key-quiz-result").inner_text()
        right = "right!" in laptop.locator(".st-key-quiz-result").inner_text()
        assert right == (answer == "5")
        assert re.search(rf"Your score: {int(answer == '2')} of 1", phone.locator(".st-key-quiz-result").inner_text())

        assert bottom_of(phone, ".st-key-quiz-result") <= 740 and scroll_offsets(phone) == [0, 0]
        assert not overflowing(phone, ".quiz-answer-line, .quiz-legend, .quiz-bars")  # "truly 4" and the legend fit
        assert not overflowing(presenter, ".quiz-answer-line, .quiz-legend, .quiz-bars")
        save_screenshot(phone, "quiz-phone-reveal")
        save_screenshot(teacher, "quiz-teacher-reveal")
        assert presenter.evaluate("() => document.querySelector('.stMain').scrollHeight") <= 1080
        save_screenshot(presenter, "quiz-presenter-reveal")

        teacher.locator(".st-key-quiz-end-button button").click()  # the next test starts a quiz of its own
        laptop.get_by_text("Quiz: guess what the network says").wait_for(timeout=2_500)
    finally:
        for page in pages:
            page.context.close()


def test_the_teacher_quizzes_the_class_on_a_digit_from_the_mistakes_page(browser, quiz_url):
    teacher = open_class(browser, quiz_url, DESKTOP)
    try:
        teacher.get_by_text("Quiz: guess what the network says").click()
        # kept on the way to Mistakes, once the server has it
        click_and_wait_for_its_run(teacher, teacher.get_by_text("Also ask: what digit is it really?"))
        teacher.get_by_test_id("stTopNav").get_by_role("link", name="Mistakes", exact=True).click()  # same session
        inspect = teacher.locator("[class*='st-key-inspect-'] button").first
        inspect.wait_for()
        keyed = inspect.evaluate("button => button.closest(\"[class*='st-key-inspect-']\").className")
        index = re.search(r"st-key-inspect-(\d+)", keyed).group(1)
        started = time.monotonic()
        inspect.click()
        teacher.get_by_role("dialog").get_by_role("button", name="Quiz the class on this").click()
        teacher.wait_for_url(re.compile(r"/Class"))
        teacher.locator(".quiz-vote-count").wait_for()
        assert round_shown(teacher) == "1" and no_query(teacher)
        student = open_class(browser, quiz_url, PHONE)
        student.locator(".st-key-quiz-truth-9").wait_for()  # both questions, on the first screen
        assert bottom_of(student, ".st-key-quiz-truths") <= 740
        student.locator(".st-key-quiz-vote-4 button").tap()
        student.wait_for_function("() => document.querySelector('.st-key-quiz-vote-4 button').getAttribute('kind') === 'primary'")
        student.locator(".st-key-quiz-truth-4 button").tap()
        student.wait_for_function("() => document.querySelector('.st-key-quiz-truth-4 button').getAttribute('kind') === 'primary'")
        save_screenshot(student, "quiz-phone-two-questions")
        teacher.locator(".st-key-quiz-reveal-button button").click()
        student.locator(".quiz-reveal").wait_for(timeout=REVEAL_SECONDS * 1000 + 500)
        assert "saw it really is a" in student.locator(".st-key-quiz-result").inner_text()
        assert bottom_of(student, ".st-key-quiz-result") <= 740
        save_screenshot(student, "quiz-phone-two-questions-reveal")
        assert f"test digit #{index}" in teacher.locator(".st-key-quiz").inner_text()
        print(f"inspect to reveal: {time.monotonic() - started:.1f} s")
    finally:
        teacher.context.close()
