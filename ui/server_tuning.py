"""Streamlit's cleanup after every script run, fitted to a server that keeps TensorFlow loaded.

Streamlit clears the Keras session after every run (and, unless ``runner.postScriptGC`` is off,
collects garbage): this app keeps its models and a training thread alive, so both only cost time
(figures in docs/capacity.md, "How big a class one server holds"). TensorFlow itself is
imported only by what needs it, through :func:`import_tensorflow`, so that pages without a model
render before it is loaded.
"""
import gc
import threading

from streamlit.runtime.scriptrunner import script_runner

STREAMLIT_CLEANUP = script_runner._clean_problem_modules  # what Streamlit does, kept for the tests
_import_lock = threading.Lock()
_tensorflow_imported = False


def _skip_clearing_the_keras_session():
    """Replaces Streamlit's cleanup, whose only other job (closing matplotlib figures) this app has no use for."""


def tune_streamlit_for_tensorflow():
    """Stop Streamlit clearing the Keras session after every run.

    Cheap and needs no TensorFlow: the entry point calls it on every run. (``runner.postScriptGC =
    false`` in ``.streamlit/config.toml`` switches off Streamlit's own collection.)
    """
    script_runner._clean_problem_modules = _skip_clearing_the_keras_session


def freeze_long_lived_objects():
    """``gc.freeze()``: take every object alive now (TensorFlow's modules and registries) out of the collector's scans."""
    gc.freeze()


def import_tensorflow():
    """Import Keras and TensorFlow (seconds, the first time in a process), then freeze them, once per process.

    Every path of the app that needs TensorFlow calls this first. Later calls return at once, and
    never freeze again, so that objects of later runs stay collectable.
    """
    global _tensorflow_imported
    if _tensorflow_imported:
        return
    with _import_lock:
        if not _tensorflow_imported:
            import keras  # noqa: F401 - imports TensorFlow, its backend

            freeze_long_lived_objects()
            _tensorflow_imported = True
