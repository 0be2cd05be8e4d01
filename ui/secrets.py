"""The host's secrets (`.streamlit/secrets.toml`, or Community Cloud's Settings → Secrets) for the pages."""
import threading
import time

import streamlit as st

SECRETS_TTL_SECONDS = 5.0  # an edited secrets file shows within this long
_lock = threading.Lock()
_last_read = (None, float("-inf"), {})  # (the st.secrets object read, when, its secrets as a dict)


def app_secrets():
    """The secrets as a plain dict (``{}`` when there are none), read from Streamlit at most every few seconds.

    With no secrets file Streamlit looks for one on every access, behind one lock for the whole
    server: a class of 240 opening their pages queued on that lock (py-spy, benchmarks/class_load.py).
    """
    global _last_read
    source, now = st.secrets, time.monotonic()  # AppTest swaps st.secrets for one of its own
    with _lock:
        read_source, read_at, secrets = _last_read
    if read_source is source and now - read_at < SECRETS_TTL_SECONDS:
        return secrets
    try:
        secrets = source.to_dict()
    except Exception:  # noqa: BLE001 - no secrets file, or one that does not parse: Streamlit raises its own types
        secrets = {}
    with _lock:
        _last_read = (source, now, secrets)
    return secrets
