"""Between script runs the server keeps TensorFlow's state and skips full garbage collections.

The tuning is switched on by the entry point, app.py, and by the first import of TensorFlow
(ui.server_tuning.import_tensorflow): these tests run the app through them.
"""
import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import pytest
from streamlit import config
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from ui.server_tuning import STREAMLIT_CLEANUP

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCRIPT = "import keras\nimport streamlit as st\nst.write('ran')"


@pytest.fixture
def clear_session_calls(monkeypatch):
    """Streamlit's own cleanup restored for the test, and a count of Keras session clearings."""
    monkeypatch.setattr(script_runner, "_clean_problem_modules", STREAMLIT_CLEANUP)
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *args, **kwargs: calls.append(args))
    gc.unfreeze()  # so that a freeze seen afterwards is the app's
    return calls


def test_streamlit_alone_clears_the_keras_session_after_every_run(clear_session_calls):
    app = AppTest.from_string(SCRIPT).run()
    app.run()
    assert not app.exception
    assert len(clear_session_calls) == 2  # what tune_streamlit_for_tensorflow is there to stop


def test_the_app_keeps_the_keras_session_between_runs(clear_session_calls):
    app = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=120).run()
    app.run()
    assert not app.exception
    assert app.title[0].value == "MNIST CNN Studio"
    assert clear_session_calls == []


def run_fresh_python(code):
    """Run ``code`` in a new interpreter (TensorFlow not yet imported, nothing frozen); return its stdout."""
    finished = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def test_tensorflow_is_imported_by_the_first_page_that_needs_a_model_then_frozen_once():
    # Home and Mistakes show the bundled model's shipped figures; Draw loads the model.
    output = run_fresh_python(
        """
        import gc, sys
        at_start = gc.get_freeze_count()  # Python 3.12 itself freezes a few hundred objects at start-up
        from streamlit.testing.v1 import AppTest
        from ui.server_tuning import import_tensorflow

        def state(page):
            print(page, "tensorflow" in sys.modules, gc.get_freeze_count() > at_start)

        app = AppTest.from_file("app.py", default_timeout=120).run()
        assert not app.exception and app.metric[0].value
        state("home")
        app.switch_page("app_pages/3_Mistakes.py").run()
        assert not app.exception and app.metric[0].value
        state("mistakes")
        app.switch_page("app_pages/2_Draw.py").run()
        assert not app.exception
        state("draw")
        frozen = gc.get_freeze_count()
        later_objects = [[] for _ in range(1000)]  # alive during the next call
        import_tensorflow()  # as every later model load does: objects of later runs stay collectable
        print(frozen, gc.get_freeze_count())
        """
    )
    *pages, counts = output.splitlines()
    assert pages == ["home False False", "mistakes False False", "draw True True"]
    frozen, frozen_after_second_call = map(int, counts.split())
    assert frozen > 100_000  # TensorFlow's and Keras's modules, functions and registries
    assert frozen_after_second_call == frozen


def test_the_server_runs_no_full_garbage_collection_after_every_run(monkeypatch):
    monkeypatch.chdir(PROJECT_DIR)  # Streamlit reads .streamlit/config.toml from the working folder
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("runner.postScriptGC") is False
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)


def test_no_pages_folder_so_every_run_goes_through_app_py():
    # With a pages/ folder beside app.py, Streamlit serves a first deep link (/Draw) from that folder
    # without running app.py, and keeps doing so for every visitor until someone opens the home page:
    # no navigation and no tuning (Keras session cleared after every run; a class's drawings took seconds).
    assert not (PROJECT_DIR / "pages").exists(), "put pages in app_pages/ and list them in app.py's st.navigation"
