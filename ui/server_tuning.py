"""Streamlit's cleanup after every script run, fitted to a server that keeps TensorFlow loaded.

After each script or fragment run Streamlit calls ``keras.backend.clear_session()`` (meant for
scripts that build a new model on every run) and, with ``runner.postScriptGC``, runs a full garbage
collection. This app keeps its models in ``st.cache_resource`` and trains in a background thread,
so neither does it any good: clearing the Keras session drops TensorFlow's kernel cache and the
training thread's Keras state, and each full collection holds the GIL over ~370k objects while
every other visitor waits. Measured (benchmarks/classroom.py, server_memory.py): with 20 browsers
drawing during a run, 562 full collections took 215 s of a 235 s class, and the answer p95 inside
the server was 13 s (1.06 s without them); one visitor watching a 10-epoch run made it take 181 s
instead of 82 s.
"""
import gc

from streamlit.runtime.scriptrunner import script_runner

STREAMLIT_CLEANUP = script_runner._clean_problem_modules  # what Streamlit does, kept for the tests


def _close_problem_modules_but_keep_keras():
    """What Streamlit's cleanup still does for this app: nothing (it draws no matplotlib figures)."""


def keep_tensorflow_between_runs():
    """Stop Streamlit clearing the Keras session after every run, and freeze the loaded modules.

    Call once the heavy modules are imported: ``gc.freeze()`` moves every object alive now (the
    modules, TensorFlow's and plotly's registries) out of the collector's scans for good, so the
    collections that still happen are short. ``runner.postScriptGC = false`` in
    ``.streamlit/config.toml`` switches off Streamlit's own collection.
    """
    script_runner._clean_problem_modules = _close_problem_modules_but_keep_keras
    gc.freeze()
