"""Streamlit's cleanup after every script run, fitted to a server that keeps TensorFlow loaded.

Streamlit clears the Keras session after every run (and, unless ``runner.postScriptGC`` is off,
collects garbage): this app keeps its models and a training thread alive, so both only cost time
(figures in the README's benchmark table, from benchmarks/classroom.py).
"""
import gc

from streamlit.runtime.scriptrunner import script_runner

STREAMLIT_CLEANUP = script_runner._clean_problem_modules  # what Streamlit does, kept for the tests


def _skip_clearing_the_keras_session():
    """Replaces Streamlit's cleanup, whose only other job (closing matplotlib figures) this app has no use for."""


def tune_streamlit_for_tensorflow():
    """Stop Streamlit clearing the Keras session after every run, and freeze the objects alive now.

    Call from the entry point once the heavy modules are imported: ``gc.freeze()`` takes them out of
    the collector's scans for good. Later calls do nothing, so that objects of later runs are never
    frozen. (``runner.postScriptGC = false`` in ``.streamlit/config.toml`` switches off Streamlit's
    own collection.)
    """
    if script_runner._clean_problem_modules is _skip_clearing_the_keras_session:
        return
    script_runner._clean_problem_modules = _skip_clearing_the_keras_session
    gc.freeze()
