"""``streamlit`` with a stopwatch on its sessions, for benchmarks/classroom.py.

    python benchmarks/timed_streamlit.py run app.py ...   (same arguments as ``streamlit``)

Appends one JSON line per event to the file named by ``STREAMLIT_TIMINGS``: when a session's
rerun request arrives from its browser, and when the server hands the browser the delta that shows
a predicted digit (the Draw page's ``predicted-digit`` paragraph). The difference is the server's
whole share of a prediction's latency (queueing, script run, model), measured inside the server.
Also logs how long each full garbage collection took. With ``STREAMLIT_DEFAULT_CLEANUP`` set, the
app runs with Streamlit's cleanup after every run as it ships (the baseline of ui/server_tuning.py).
"""
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path

from streamlit.runtime.app_session import AppSession
from streamlit.web import cli

TIMINGS = open(os.environ["STREAMLIT_TIMINGS"], "a", buffering=1)  # noqa: SIM115 - lives as long as the server
WRITE_LOCK = threading.Lock()


def log(session, event):
    with WRITE_LOCK:
        TIMINGS.write(json.dumps({"session": session.id, "event": event, "t": time.monotonic()}) + "\n")


def shows_predicted_digit(message):
    return message.WhichOneof("type") == "delta" and "predicted-digit" in message.delta.new_element.markdown.body


handle_backmsg, flush_browser_queue = AppSession.handle_backmsg, AppSession.flush_browser_queue


def timed_handle_backmsg(self, message):
    if message.WhichOneof("type") == "rerun_script":
        log(self, "rerun_requested")
    return handle_backmsg(self, message)


def timed_flush_browser_queue(self):
    messages = flush_browser_queue(self)
    if any(shows_predicted_digit(message) for message in messages):
        log(self, "digit_sent")
    return messages


AppSession.handle_backmsg, AppSession.flush_browser_queue = timed_handle_backmsg, timed_flush_browser_queue


def time_full_collections(phase, info):
    """Log each full garbage collection: it holds the GIL, so every session waits for it."""
    if info["generation"] != 2:
        return
    if phase == "start":
        time_full_collections.started = time.monotonic()
    else:
        with WRITE_LOCK:
            TIMINGS.write(json.dumps({"event": "full_gc", "seconds": time.monotonic() - time_full_collections.started}) + "\n")


gc.callbacks.append(time_full_collections)

if os.environ.get("STREAMLIT_DEFAULT_CLEANUP"):
    # Baseline: Streamlit's cleanup as it ships, which ui/server_tuning.py switches off (the caller
    # also sets STREAMLIT_RUNNER_POST_SCRIPT_GC=true, overriding .streamlit/config.toml).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import ui.server_tuning

    ui.server_tuning.keep_tensorflow_between_runs = lambda: None

if __name__ == "__main__":
    sys.argv[0] = "streamlit"
    sys.exit(cli.main())
