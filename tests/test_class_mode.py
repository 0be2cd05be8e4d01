"""Class mode in real chromium: a teacher passcode, students who watch, the class model.

One server with a passcode for the module (its own runs folder and database). Without a passcode anyone
may stop a run, even from another browser on another server: tests/test_two_servers.py. Runs are tiny
(1,000 images) and stopped early.
"""
import dataclasses
import re
import shutil
from urllib.parse import urlsplit

import pytest

from classroom.runs import read_saved_run
from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE
from mnist_cnn.paths import BUNDLED_RUN_DIR
from support.app_server import save_screenshot, select_saved_run, start_streamlit, wait_for_app_idle

pytestmark = pytest.mark.browser

PASSCODE = "seven purple owls"
RUN_NAME = "20200101-000000-tutorial-class"
RUN_TITLE = dataclasses.replace(read_saved_run(BUNDLED_RUN_DIR), name=RUN_NAME).title()  # the pages' name for it
RUN_IN_WORDS = f"run “{RUN_TITLE}”"
DESKTOP = {"viewport": {"width": 1920, "height": 1080}}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
STATUS = ".st-key-train-status"


@pytest.fixture(scope="module")
def class_runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("class-runs")


@pytest.fixture(scope="module")
def class_server(class_runs_dir):
    """A server with a teacher passcode on its own runs folder and database; yields its URL."""
    process, url = start_streamlit({
        PASSCODE_ENVIRONMENT_VARIABLE: PASSCODE, "MNIST_CNN_RUNS": str(class_runs_dir),
        "MNIST_CNN_DATA": str(class_runs_dir.with_name(f"{class_runs_dir.name}-data")),
    })
    yield url
    process.terminate()
    process.wait(timeout=20)


def new_context(browser, options):
    context = browser.new_context(**options)
    context.set_default_timeout(180_000)  # generous: the 2-core machine trains while three browsers watch
    return context


def open_train_page(context, url):
    page = context.new_page()
    page.goto(url, wait_until="commit", timeout=180_000)  # the shared 2-core machine may be busy training
    page.locator(STATUS).wait_for(timeout=180_000)
    page.get_by_text("Saved runs", exact=True).wait_for(timeout=180_000)
    wait_for_app_idle(page)
    return page


def unlock(page, passcode=PASSCODE, then="Teacher mode"):
    """Type ``passcode`` and wait for ``then``: the unlocked page is laid out differently (the settings
    unfold above the saved runs), so a click aimed before that rerun lands elsewhere."""
    field = page.get_by_label("Teacher passcode")
    if not field.is_visible():
        page.get_by_text("Teacher? Unlock the controls").click()
    field.fill(passcode)
    field.press("Enter")
    page.get_by_text(then).first.wait_for(timeout=180_000)
    wait_for_app_idle(page)


def start_tiny_run(page, epochs=30, thousands=1):
    """Start a run on ``thousands`` x 1,000 images (long enough to reload and stop, short if it is not stopped)."""
    page.get_by_label("Epochs").fill(str(epochs))
    slider = page.get_by_role("slider", name=re.compile("Training images"))
    slider.focus()
    slider.press("Home")  # the smallest training set
    for _ in range(thousands - 1):
        slider.press("ArrowRight")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function(
        f"() => (document.querySelector('{STATUS}')?.innerText ?? '').includes('Training epoch')", timeout=180_000
    )


def stop_button(page):
    return page.get_by_role("button", name="Stop training")


def wait_until_stopped(page):
    page.wait_for_function(
        f"() => /Stopped|Finished/.test((document.querySelector('{STATUS}')?.innerText ?? ''))", timeout=180_000
    )


def test_only_the_teacher_starts_and_stops_even_after_a_reload_and_from_a_second_device(browser, class_server, mnist_npz_path):
    teacher_context = new_context(browser, DESKTOP)
    student_context = new_context(browser, PHONE)
    second_device_context = new_context(browser, PHONE)
    try:
        student = open_train_page(student_context, f"{class_server}/Train")
        assert student.get_by_text("The teacher starts runs here: watch the run live on this page.").count() == 1
        assert student.get_by_role("button", name="Start training").count() == 0  # the settings are folded away
        assert student.get_by_role("button", name=re.compile("Presenter view")).count() == 0
        student.get_by_text("The teacher's run settings").click()
        assert student.get_by_role("button", name="Start training").is_disabled()
        assert student.get_by_text("Only the teacher starts and stops runs").count() == 1

        teacher = open_train_page(teacher_context, f"{class_server}/Train")
        unlock(teacher, "not the passcode", then="Wrong passcode. Try again.")
        unlock(teacher)
        assert not urlsplit(teacher.url).query  # the rights live in a cookie, not in the address
        assert teacher.get_by_label("Teacher passcode").count() == 0
        start_tiny_run(teacher, thousands=3)  # still training when the second device signs in, on a busy machine
        stop_button(teacher).wait_for(timeout=180_000)  # (a reload keeps the rights: tests/test_teacher_browser.py)
        teacher.get_by_text("Teacher mode on your second device").click()
        teacher.get_by_role("button", name="Make a one-time sign-in link").click()
        link = teacher.locator(".st-key-teacher [data-testid='stCode'] code").inner_text().strip()
        assert link.startswith(f"{class_server}/Train?teacher_sign_in=")
        save_screenshot(teacher, "class-mode-train-teacher-1920")

        student.reload(wait_until="commit", timeout=180_000)
        student.locator(STATUS).wait_for(timeout=180_000)
        student.wait_for_function(f"() => (document.querySelector('{STATUS}')?.innerText ?? '').includes('Training epoch')")
        wait_for_app_idle(student)
        assert stop_button(student).count() == 0
        assert student.get_by_role("button", name="Start training").count() == 0
        save_screenshot(student, "class-mode-train-student-360")
        student_context.close()  # fewer pages refreshing every second on the busy test machine

        second_device = open_train_page(second_device_context, link)
        second_device.get_by_text("Teacher mode", exact=True).wait_for()
        assert not second_device.get_by_role("button", name=re.compile("Presenter view")).is_visible()  # no projector on a phone
        save_screenshot(second_device, "class-mode-train-teacher-360")
        stop_button(second_device).click()
        wait_until_stopped(second_device)
        wait_until_stopped(teacher)
        second_device.get_by_role("button", name="Start training").and_(second_device.locator(":enabled")).wait_for(
            timeout=180_000
        )
    finally:
        for context in (teacher_context, student_context, second_device_context):
            context.close()


def test_only_the_teacher_chooses_the_class_model_and_it_follows_them_to_draw(browser, class_server, class_runs_dir):
    """(A fresh server on the same database shows it too: tests/test_two_servers.py.)"""
    shutil.copytree(BUNDLED_RUN_DIR, class_runs_dir / RUN_NAME)
    student_context = new_context(browser, DESKTOP)
    teacher_context = new_context(browser, DESKTOP)
    try:
        student = open_train_page(student_context, f"{class_server}/Train")
        select_saved_run(student, RUN_TITLE)
        student.get_by_role("button", name="Use this model on the Draw and Mistakes pages").wait_for()
        assert student.get_by_role("button", name="Make this the class model").count() == 0
        save_screenshot(student, "class-mode-train-student-1920")

        teacher = open_train_page(teacher_context, f"{class_server}/Train")
        unlock(teacher)
        select_saved_run(teacher, RUN_TITLE)
        teacher.get_by_text(f"Selected: {RUN_TITLE}").wait_for(timeout=180_000)
        teacher.get_by_role("button", name="Make this the class model").click()
        teacher.get_by_text(f"Class model: {RUN_IN_WORDS}").wait_for(timeout=180_000)

        # The teacher goes to Draw through the menu (a deep link to /Train shows none: enter at home); the
        # rights go along in the cookie, and no address carries a token.
        teacher.goto(f"{class_server}/", wait_until="commit")
        teacher.get_by_role("link", name="Draw", exact=True).click()
        teacher.get_by_text(f"Read by {RUN_IN_WORDS} (the class model chosen by the teacher)").wait_for(
            timeout=180_000
        )
        teacher.wait_for_url(re.compile(r"/Draw$"), timeout=180_000)
    finally:
        student_context.close()
        teacher_context.close()
