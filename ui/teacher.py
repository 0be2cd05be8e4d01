"""Teacher rights on the pages: who may start and stop runs and set the class model.

With no passcode set (one person on a laptop) everyone has the rights. With one set, a browser gets
them by typing the passcode, which gives it a signed token kept in a cookie (:mod:`ui.identity`), never
in the URL: a reload, another page and a presenter tab keep the rights and the projector shows no
token. A second device signs in with a one-time link (valid once, for a few minutes). Lock revokes this
browser's token on the server; "Sign out every device" revokes every token issued before it.
"""
import os
import secrets
import time
from urllib.parse import urlencode

import streamlit as st

from classroom.class_set import ClassSetUnavailableError
from classroom.teacher import (
    SIGN_IN_LINK_SECONDS,
    PasscodeGuard,
    Revocations,
    SignInLinks,
    configured_passcode,
    issue_token,
    token_claims,
    unlock,
)
from ui.identity import TEACHER_COOKIE, delete_cookie, read_cookie, strip_old_url_parameters, write_cookie
from ui.secrets import app_secrets

SIGN_IN_PARAMETER = "teacher_sign_in"
PASSCODE_KEY = "teacher-passcode"
_CLIENT_KEY = "teacher_client_key"
_MESSAGE_KEY = "teacher_message"
_SIGN_IN_LINK_KEY = "teacher_sign_in_link"


def teacher_passcode():
    """The passcode set by the host (environment variable first, then secrets.toml), or None."""
    return configured_passcode(os.environ, app_secrets().get)


def class_mode_on():
    """Whether a teacher passcode is set, so that only the teacher controls runs and the class model."""
    return teacher_passcode() is not None


@st.cache_resource
def passcode_guard():
    """The server's guard on passcode guesses (shared by every session), counting in the class set's database."""
    return PasscodeGuard(_database, store_errors=(ClassSetUnavailableError,))


@st.cache_resource
def sign_in_links():
    """The server's one-time sign-in links for second devices."""
    return SignInLinks()


def _database():
    from ui.class_set import class_set

    return class_set()


@st.cache_resource
def revocations():
    """The teacher tokens signed out (Lock, "Sign out every device"), kept in the class set's database."""
    return Revocations(_database, store_errors=(ClassSetUnavailableError,))


def client_key():
    """Who guesses, for the passcode guard: the client's address (it survives a reload), else this session."""
    address = st.context.ip_address  # None on a loopback address
    return address if isinstance(address, str) and address else st.session_state.setdefault(_CLIENT_KEY, secrets.token_hex(8))


def _claims(token, passcode):
    claims = token_claims(token, passcode)
    return None if claims is None or revocations().is_revoked(claims) else claims


def _valid_token(passcode):
    """This browser's teacher token when it is valid and not signed out, else None."""
    token = read_cookie(TEACHER_COOKIE)
    return token if token and _claims(token, passcode) else None


def teacher_rights():
    """True when this session may start and stop runs and set the class model.

    That is a browser that unlocked (here, or through a one-time sign-in link), or anyone when no passcode is set.
    """
    passcode = teacher_passcode()
    return passcode is None or _valid_token(passcode) is not None


def _sign_in_with_link(passcode, code):
    asking = sign_in_links().redeem(code)
    claims = None if asking is None else _claims(asking, passcode)
    if claims is None:
        st.session_state[_MESSAGE_KEY] = "This sign-in link was used already or has expired: make a new one on your other device."
        return
    token = issue_token(passcode)  # this device's own token: Lock here leaves the other device signed in
    write_cookie(TEACHER_COOKIE, token, token_claims(token, passcode).expires_at)


def keep_teacher_rights():
    """Run on every page: take tokens out of the address and keep the teacher's rights in a cookie.

    A one-time sign-in link (``?teacher_sign_in=``) is exchanged for this browser's own token. Old links
    with ``?teacher=`` (and the quiz's ``?quiz_host=``, ``?voter=``) are refused: the parameter is
    removed, since a token that was ever in an address may have been on the projector.
    """
    passcode = teacher_passcode()
    if "teacher" in strip_old_url_parameters() and passcode is not None:
        st.session_state[_MESSAGE_KEY] = "Teacher links in the address no longer work: type the passcode."
    code = st.query_params.get(SIGN_IN_PARAMETER)
    if code is not None:
        del st.query_params[SIGN_IN_PARAMETER]
        if passcode is not None:
            _sign_in_with_link(passcode, code)
    token = read_cookie(TEACHER_COOKIE)
    if token and (passcode is None or _valid_token(passcode) is None):
        delete_cookie(TEACHER_COOKIE)
        if passcode is not None:
            st.session_state[_MESSAGE_KEY] = "Your teacher sign-in has expired or was signed out: type the passcode again."


def _try_unlock():
    attempt = st.session_state.get(PASSCODE_KEY) or ""
    st.session_state[PASSCODE_KEY] = ""  # never kept, never shown again
    passcode = teacher_passcode()
    if passcode is None or not attempt.strip():
        return
    result = unlock(attempt, passcode, passcode_guard(), client_key())
    if result.unlocked:
        write_cookie(TEACHER_COOKIE, result.token, token_claims(result.token, passcode).expires_at)
        st.session_state.pop(_MESSAGE_KEY, None)
    else:
        st.session_state[_MESSAGE_KEY] = result.message


def _sign_out(everywhere):
    passcode = teacher_passcode()
    claims = None if passcode is None else token_claims(read_cookie(TEACHER_COOKIE), passcode)
    delete_cookie(TEACHER_COOKIE)
    st.session_state.pop(_SIGN_IN_LINK_KEY, None)
    if claims is None:
        return
    try:
        if everywhere:
            revocations().revoke_all()
        else:
            revocations().revoke(claims)
    except ClassSetUnavailableError as error:
        st.session_state[_MESSAGE_KEY] = (
            f"Signed out on this server, but the sign-out could not be saved ({error}): a restart of the server would forget it."
        )


def _make_sign_in_link():
    token = read_cookie(TEACHER_COOKIE)
    base = st.context.url or ""
    st.session_state[_SIGN_IN_LINK_KEY] = (
        f"{base}?{urlencode({SIGN_IN_PARAMETER: sign_in_links().create(token)})}", time.time() + SIGN_IN_LINK_SECONDS
    )


def _second_device_ui():
    link, until = st.session_state.get(_SIGN_IN_LINK_KEY) or (None, 0.0)
    if link is not None and until > time.time():
        st.code(link, language=None, wrap_lines=True)
        st.caption(
            f"Works once, until {time.strftime('%H:%M:%S UTC', time.gmtime(until))}: open it on your other device "
            "(it signs that device in and leaves the address). Keep it off the projector."
        )
    st.button("Make a one-time sign-in link", on_click=_make_sign_in_link, key="teacher-sign-in-link",
              icon=":material/link:")


def teacher_ui():
    """The teacher's corner of a page: unlock (passcode), or Lock, sign out everywhere and a sign-in link
    for a second device. Returns the rights."""
    keep_teacher_rights()
    passcode = teacher_passcode()
    if passcode is None:
        st.caption("Anyone here may start and stop runs and choose the class model: no teacher passcode is set.")
        return True
    token = _valid_token(passcode)
    message = st.session_state.pop(_MESSAGE_KEY, None)  # shown once
    with st.container(key="teacher"):
        if token is not None:
            with st.container(horizontal=True, vertical_alignment="center", gap="small", wrap=True):
                st.markdown(":material/lock_open: **Teacher mode**: only you start and stop runs and choose the class model.",
                            width="stretch")
                st.button("Lock", on_click=_sign_out, args=(False,), key="teacher-lock",
                          help="Sign this browser out of teacher mode, on this server for good.")
                st.button("Sign out every device", on_click=_sign_out, args=(True,), key="teacher-sign-out-everywhere",
                          help="Every browser that unlocked teacher mode, this one included, must type the passcode again.")
            with st.expander("Teacher mode on your second device"):
                _second_device_ui()
            if message:
                st.warning(message)
            return True
        with st.expander("Teacher? Unlock the controls", expanded=message is not None, icon=":material/lock:"):
            with st.form("teacher-unlock", clear_on_submit=True, border=False):
                st.text_input("Teacher passcode", key=PASSCODE_KEY, type="password", autocomplete="current-password")
                st.form_submit_button("Unlock", on_click=_try_unlock)
            if message:
                st.error(message)
    return False
