"""The teacher's rights in real chromium: kept in a cookie through a reload, no token in any address
(presenter views included), a one-time sign-in link for a second device, and Lock revoking the token
for a browser that copied it. One server with a passcode for the module."""
from urllib.parse import parse_qs, urlsplit

import pytest

from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE
from support.app_server import save_screenshot, start_streamlit, wait_for_app_idle
from support.touch import PHONE
from ui.identity import TEACHER_COOKIE

pytestmark = pytest.mark.browser

PASSCODE = "nine green foxes"
DESKTOP = {"viewport": {"width": 1920, "height": 1080}}
TEACHER_MODE = ".st-key-teacher"


@pytest.fixture(scope="module")
def teacher_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("teacher-data")
    process, url = start_streamlit({
        PASSCODE_ENVIRONMENT_VARIABLE: PASSCODE, "MNIST_CNN_DATA": str(data), "MNIST_CNN_RUNS": str(data / "runs"),
        "MNIST_CNN_CLASS_DB_URL": "",
    })
    yield url
    process.terminate()
    process.wait(timeout=20)


def new_browser(browser, options):
    context = browser.new_context(**options)
    context.set_default_timeout(120_000)  # the Train page loads TensorFlow on a busy 2-core machine
    return context


def open_page(context, url):
    page = context.new_page()
    page.goto(url, wait_until="commit")
    page.locator(TEACHER_MODE).wait_for()
    wait_for_app_idle(page)
    return page


def is_teacher(page):
    return page.get_by_text("Teacher mode", exact=True).count() == 1


def query(page):
    return parse_qs(urlsplit(page.url).query)


def cookie(page, name):
    return next((c["value"] for c in page.context.cookies() if c["name"] == name), None)


def unlock(page):
    page.get_by_text("Teacher? Unlock the controls").click()
    field = page.get_by_label("Teacher passcode")
    field.fill(PASSCODE)
    field.press("Enter")
    page.get_by_text("Teacher mode", exact=True).wait_for()
    page.wait_for_function(f"() => document.cookie.includes('{TEACHER_COOKIE}=')")  # the carrier wrote it


def test_the_teacher_keeps_rights_through_a_reload_with_no_token_in_any_address_and_lock_revokes(browser, teacher_url):
    laptop = new_browser(browser, DESKTOP)
    phone = new_browser(browser, PHONE)
    thief = new_browser(browser, DESKTOP)
    try:
        teacher = open_page(laptop, f"{teacher_url}/Train")
        assert not is_teacher(teacher)
        unlock(teacher)
        token = cookie(teacher, TEACHER_COOKIE)
        assert token and not query(teacher) and token not in teacher.content()
        assert PASSCODE not in teacher.content()
        save_screenshot(teacher, "teacher-controls-1920")

        teacher.reload(wait_until="commit")  # a new session: the cookie keeps the rights
        teacher.locator(TEACHER_MODE).wait_for()
        teacher.get_by_text("Teacher mode", exact=True).wait_for()
        assert not query(teacher)

        # The second device: a one-time link, exchanged for its own cookie and taken out of its address.
        teacher.get_by_text("Teacher mode on your second device").click()
        teacher.get_by_role("button", name="Make a one-time sign-in link").click()
        link = teacher.locator(f"{TEACHER_MODE} [data-testid='stCode'] code").inner_text().strip()
        assert "teacher_sign_in=" in link and token not in link
        second = open_page(phone, link)
        second.get_by_text("Teacher mode", exact=True).wait_for()
        second.wait_for_function("() => !location.search.includes('teacher_sign_in')")
        assert cookie(second, TEACHER_COOKIE) not in (None, token)
        save_screenshot(second, "teacher-controls-360")
        # (A link used twice gives nothing: tests/test_teacher_ui.py.)

        # Presenter views: the projector's address carries nothing but present=1, and the tab keeps the rights.
        teacher.get_by_role("button", name="Presenter view (projector)").click()
        teacher.wait_for_url("**present=1**")
        assert query(teacher) == {"present": ["1"]}
        quiz = laptop.new_page()
        quiz.goto(f"{teacher_url}/Class", wait_until="commit")
        quiz.get_by_text("Quiz: guess what the network says").click()
        presenter_link = quiz.locator(".st-key-quiz-controls a", has_text="Presenter view").get_attribute("href")
        assert presenter_link == "?present=1"
        wait_for_app_idle(quiz)  # a click while the page's first run is under way can be lost with that run
        quiz.locator(".st-key-quiz-next-button button").click()  # a teacher runs the quiz
        quiz.locator(".quiz-vote-count").wait_for()
        projector = laptop.new_page()
        projector.goto(f"{teacher_url}/Class{presenter_link}", wait_until="commit")
        projector.locator(".st-key-quiz-reveal-button").wait_for()  # the projector's tab runs the quiz too
        assert query(projector) == {"present": ["1"]} and token not in projector.content()
        projector.close()
        quiz.locator(".st-key-quiz-end-button button").click()
        quiz.close()

        # Lock: the token is revoked on the server, so a copy of it (a photo of a screen) gives nothing.
        teacher.goto(f"{teacher_url}/Train", wait_until="commit")
        teacher.get_by_role("button", name="Lock").click()
        teacher.get_by_text("Teacher? Unlock the controls").wait_for()
        teacher.wait_for_function(f"() => !document.cookie.includes('{TEACHER_COOKIE}=')")
        thief.add_cookies([{"name": TEACHER_COOKIE, "value": token, "url": teacher_url}])
        stolen = open_page(thief, f"{teacher_url}/Train")
        stolen.get_by_text("expired or was signed out").wait_for()
        assert not is_teacher(stolen)
        second.reload(wait_until="commit")  # the second device has its own token: still the teacher
        second.locator(TEACHER_MODE).wait_for()
        second.get_by_text("Teacher mode", exact=True).wait_for()
    finally:
        for context in (laptop, phone, thief):
            context.close()
