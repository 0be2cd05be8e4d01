"""Each visitor chooses the model Draw and Mistakes use; one visitor's choice never changes another's."""
import dataclasses
import shutil

import pytest

from classroom.runs import read_saved_run
from mnist_cnn.paths import BUNDLED_RUN_DIR
from support.app_server import click_and_wait_for_its_run, save_screenshot, select_saved_run, wait_for_app_idle

RUN_NAME = "20200102-000000-tutorial-copy"  # not test_class_mode's minute: the two copies would share a title
RUN_TITLE = dataclasses.replace(read_saved_run(BUNDLED_RUN_DIR), name=RUN_NAME).title()  # the pages' name for it
RUN_IN_WORDS = f"run “{RUN_TITLE}”"


@pytest.fixture
def saved_run(app_runs_dir):
    run_dir = app_runs_dir / RUN_NAME
    shutil.copytree(BUNDLED_RUN_DIR, run_dir)
    yield run_dir
    shutil.rmtree(run_dir)


@pytest.mark.browser
def test_choosing_a_saved_run_changes_only_this_visitors_pages(app_url, browser, saved_run):
    chooser = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    other = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    try:
        chooser.goto(f"{app_url}/")  # enter through the home page, as visitors do
        chooser.get_by_test_id("stTopNav").get_by_role("link", name="Train", exact=True).click()
        chooser.get_by_text("Saved runs").wait_for(timeout=120_000)
        wait_for_app_idle(chooser)
        select_saved_run(chooser, RUN_TITLE)
        use = chooser.get_by_role("button", name="Use this model on the Draw and Mistakes pages")
        use.wait_for(timeout=30_000)
        click_and_wait_for_its_run(chooser, use)  # the choice is made before the page is left

        # In-app navigation keeps the browser session (a reload would start a new one).
        chooser.get_by_test_id("stTopNav").get_by_role("link", name="Mistakes", exact=True).click()  # not the phone links
        chooser.get_by_text(f"as seen by {RUN_IN_WORDS}").wait_for(timeout=60_000)
        chooser.locator(".st-key-mistake-count").wait_for(timeout=60_000)
        wait_for_app_idle(chooser)
        save_screenshot(chooser, "active-model-chosen")

        other.goto(f"{app_url}/")
        other.get_by_test_id("stTopNav").get_by_role("link", name="Mistakes", exact=True).click()
        other.get_by_text("as seen by the bundled tutorial model").wait_for(timeout=60_000)
        assert other.get_by_text(RUN_IN_WORDS).count() == 0
    finally:
        chooser.context.close()
        other.context.close()
