"""``streamlit`` with a stopwatch on its sessions (server_memory.py; class_load.py's ``--keras-cleanup`` baseline).

    python benchmarks/timed_streamlit.py run app.py ...   (same arguments as ``streamlit``)

Appends one JSON line per event to the file named by ``STREAMLIT_TIMINGS``: when a session's
rerun request arrives from its browser, and when the server hands the browser the delta that shows
a predicted digit (the Draw page's ``predicted-digit`` paragraph). The difference is the server's
whole share of a prediction's latency (queueing, script run, model), measured inside the server.
With ``STREAMLIT_TIMINGS_RUN_ENDS`` set, also when a run (a fragment's too) finishes.
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

PROJECT_DIR = Path(__file__).resolve().parent.parent
WRITE_LOCK = threading.Lock()


def start_timed_streamlit(runs, timings, streamlit_cleanup=False):
    """Start the app under this stopwatch (see support.app_server.start_streamlit); return (process, base_url).

    ``timings``: the file that receives the events; ``streamlit_cleanup``: run the baseline.
    """
    from support.app_server import start_streamlit  # tests/ is on the caller's path

    env = {"MNIST_CNN_RUNS": str(runs), "STREAMLIT_TIMINGS": str(timings)}
    if streamlit_cleanup:
        # STREAMLIT_RUNNER_POST_SCRIPT_GC overrides .streamlit/config.toml.
        env.update(STREAMLIT_DEFAULT_CLEANUP="1", STREAMLIT_RUNNER_POST_SCRIPT_GC="true")
    return start_streamlit(env, launcher=(__file__,))


def log_event(timings, event, **fields):
    with WRITE_LOCK:
        timings.write(json.dumps({"event": event, **fields}) + "\n")


def main():
    # In the server's process only: the scripts that start it (explain_latency.py) import this module without Streamlit's server.
    from streamlit.runtime.app_session import AppSession
    from streamlit.web import cli

    timings = open(os.environ["STREAMLIT_TIMINGS"], "a", buffering=1)  # noqa: SIM115 - lives as long as the server
    handle_backmsg, flush_browser_queue = AppSession.handle_backmsg, AppSession.flush_browser_queue

    def shows_predicted_digit(message):
        return message.WhichOneof("type") == "delta" and "predicted-digit" in message.delta.new_element.markdown.body

    def timed_handle_backmsg(self, message):
        if message.WhichOneof("type") == "rerun_script":
            log_event(timings, "rerun_requested", session=self.id, t=time.monotonic())
        return handle_backmsg(self, message)

    log_run_ends = bool(os.environ.get("STREAMLIT_TIMINGS_RUN_ENDS"))  # for explain_latency.py's slider changes

    def timed_flush_browser_queue(self):
        messages = flush_browser_queue(self)
        if any(shows_predicted_digit(message) for message in messages):
            log_event(timings, "digit_sent", session=self.id, t=time.monotonic())
        if log_run_ends and any(message.WhichOneof("type") == "script_finished" for message in messages):
            log_event(timings, "run_finished", session=self.id, t=time.monotonic(), collections=[s["collections"] for s in gc.get_stats()])
        return messages

    AppSession.handle_backmsg, AppSession.flush_browser_queue = timed_handle_backmsg, timed_flush_browser_queue

    collection_started = {}

    def time_full_collections(phase, info):
        """Log each full garbage collection: it holds the GIL, so every session waits for it."""
        if info["generation"] != 2:
            return
        if phase == "start":
            collection_started["t"] = time.monotonic()
        else:
            log_event(timings, "full_gc", seconds=time.monotonic() - collection_started["t"])

    gc.callbacks.append(time_full_collections)

    if os.environ.get("STREAMLIT_DEFAULT_CLEANUP"):
        # Baseline: Streamlit's cleanup as it ships, which ui/server_tuning.py switches off.
        sys.path.insert(0, str(PROJECT_DIR))
        import ui.server_tuning

        ui.server_tuning.tune_streamlit_for_tensorflow = lambda: None
        ui.server_tuning.freeze_long_lived_objects = lambda: None

    sys.argv[0] = "streamlit"
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
