"""Between script runs the server keeps TensorFlow's state and skips full garbage collections.

The tuning is switched on by the entry point, app.py: these tests run the app through it.
"""
import gc
from pathlib import Path

import keras
import pytest
from streamlit import config
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from ui.server_tuning import STREAMLIT_CLEANUP, tune_streamlit_for_tensorflow

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
    assert gc.get_freeze_count() > 0


def test_the_tuning_freezes_only_once(clear_session_calls):
    tune_streamlit_for_tensorflow()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    later_objects = [[] for _ in range(1000)]  # noqa: F841 - alive during the second call
    tune_streamlit_for_tensorflow()  # as app.py does on every run: objects of later runs stay collectable
    assert gc.get_freeze_count() == frozen


def test_the_server_runs_no_full_garbage_collection_after_every_run(monkeypatch):
    monkeypatch.chdir(PROJECT_DIR)  # Streamlit reads .streamlit/config.toml from the working folder
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("runner.postScriptGC") is False
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)
