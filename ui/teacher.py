"""Teacher rights on the pages: who may start and stop runs and set the class model.

With no passcode set (one person on a laptop) everyone has the rights. With one set, a session gets
them by typing the passcode, or by carrying a signed token in the URL (``?teacher=...``): Streamlit
cannot set cookies, and the URL survives a reload and can be opened on the teacher's second device.
"""
import os
import secrets
import time
from urllib.parse import urlencode

import streamlit as st

from mnist_cnn.teacher import AttemptLimiter, configured_passcode, token_expiry, unlock
from ui.secrets import app_secrets

TOKEN_PARAMETER = "teacher"
PASSCODE_KEY = "teacher-passcode"
_TOKEN_KEY = "teacher_token"
_ATTEMPT_KEY = "teacher_attempt_key"
_MESSAGE_KEY = "teacher_message"


def teacher_passcode():
    """The passcode set by the host (environment variable first, then secrets.toml), or None."""
    return configured_passcode(os.environ, app_secrets().get)


def class_mode_on():
    """Whether a teacher passcode is set, so that only the teacher controls runs and the class model."""
    return teacher_passcode() is not None


@st.cache_resource
def attempt_limiter():
    """The server-wide limiter of wrong passcodes (shared by every session)."""
    return AttemptLimiter()


def _valid_token(passcode):
    """This session's valid token, from session state or the URL (adopted into session state), or None."""
    for token in (st.session_state.get(_TOKEN_KEY), st.query_params.get(TOKEN_PARAMETER)):
        if token and token_expiry(token, passcode):
            st.session_state[_TOKEN_KEY] = token
            return token
    st.session_state.pop(_TOKEN_KEY, None)
    return None


def teacher_rights():
    """True when this session may start and stop runs and set the class model.

    That is a teacher who unlocked (here, or through a teacher link), or anyone when no passcode is set.
    """
    passcode = teacher_passcode()
    return passcode is None or _valid_token(passcode) is not None


def keep_teacher_link():
    """Keep the teacher's token in the URL on every page, so a reload keeps the rights.

    In-app navigation drops query parameters; session state still holds the token and puts it back.
    A stale token (expired, or the passcode changed) is taken out of the URL with a note.
    """
    passcode = teacher_passcode()
    in_url = st.query_params.get(TOKEN_PARAMETER)
    token = None if passcode is None else _valid_token(passcode)
    if token is not None:
        if in_url != token:
            st.query_params[TOKEN_PARAMETER] = token
    elif in_url is not None:
        del st.query_params[TOKEN_PARAMETER]
        if passcode is not None:
            st.session_state[_MESSAGE_KEY] = "This teacher link has expired (or the passcode changed): type the passcode again."


def _try_unlock():
    attempt = st.session_state.get(PASSCODE_KEY) or ""
    st.session_state[PASSCODE_KEY] = ""  # never kept, never shown again
    passcode = teacher_passcode()
    if passcode is None or not attempt.strip():
        return
    key = st.session_state.setdefault(_ATTEMPT_KEY, secrets.token_hex(8))
    result = unlock(attempt, passcode, attempt_limiter(), key)
    if result.unlocked:
        st.session_state[_TOKEN_KEY] = result.token
        st.query_params[TOKEN_PARAMETER] = result.token
        st.session_state.pop(_MESSAGE_KEY, None)
    else:
        st.session_state[_MESSAGE_KEY] = result.message


def _lock():
    st.session_state.pop(_TOKEN_KEY, None)
    st.query_params.pop(TOKEN_PARAMETER, None)


def teacher_link(token):
    """This page's address with the token, for the teacher's second device."""
    base = st.context.url or ""
    return f"{base}?{urlencode({TOKEN_PARAMETER: token})}"


def teacher_ui():
    """The teacher's corner of a page: unlock (passcode), or the teacher link and Lock. Returns the rights."""
    keep_teacher_link()
    passcode = teacher_passcode()
    if passcode is None:
        st.caption("Anyone here may start and stop runs and choose the class model: no teacher passcode is set.")
        return True
    token = _valid_token(passcode)
    with st.container(key="teacher"):
        if token is not None:
            text_column, lock_column = st.columns([5, 1], vertical_alignment="center")
            text_column.markdown(":material/lock_open: **Teacher mode**: only you start and stop runs and choose the class model.")
            lock_column.button("Lock", on_click=_lock, help="Sign this browser out of teacher mode.")
            with st.expander("Teacher link for your second device"):
                st.code(teacher_link(token), language=None, wrap_lines=True)
                until = time.strftime("%H:%M UTC", time.gmtime(token_expiry(token, passcode)))
                st.caption(
                    f"Opens this page in teacher mode until {until}, no passcode needed. Anyone with the link "
                    "has teacher rights: send it only to yourself, and keep the address bar off the projector "
                    "(full screen, F11)."
                )
            return True
        message = st.session_state.pop(_MESSAGE_KEY, None)  # shown once
        with st.expander("Teacher? Unlock the controls", expanded=message is not None, icon=":material/lock:"):
            with st.form("teacher-unlock", clear_on_submit=True, border=False):
                st.text_input("Teacher passcode", key=PASSCODE_KEY, type="password", autocomplete="current-password")
                st.form_submit_button("Unlock", on_click=_try_unlock)
            if message:
                st.error(message)
    return False
