"""Teacher rights on the pages: who may start and stop runs, set the class model and run the quiz; and the
teacher's setting of the class set (how many digits each student may give a lesson).

In a class room (:mod:`ui.rooms`) the rights are the room's teacher's alone: the browser that started
the class holds a token signed with the room's own secret, in a cookie; nobody else in the room, in
another room or outside any room has them. Outside any room (the open studio), with no passcode set (one
person on a laptop) everyone has the rights, though a run there is stopped by its starter's browser alone
(:func:`ui.run_store.controls_run`); with one set, a browser gets them by typing the passcode,
which gives it a signed token kept in a cookie (:mod:`ui.identity`), never in the URL: a reload,
another page and a presenter tab keep the rights and the projector shows no token. A second device signs
in with a one-time link (valid once, for a few minutes). Lock revokes this browser's token on the server;
"Sign out every device" revokes every token issued before it.
"""
import os
import secrets
import threading
import time
from urllib.parse import urlencode

import streamlit as st

from classroom.class_set import DEFAULT_ROOM, ClassSetUnavailableError
from classroom.rate_limit import LESSON_SECONDS, MAX_PER_LESSON
from classroom.rooms import Rooms, closed_room_keep_seconds, keep_rooms_tidy
from classroom.run_store import delete_room_folders
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
from mnist_cnn.paths import runs_dir
from ui.class_set import class_set, database
from ui.identity import (
    ROOM_TEACHER_COOKIE,
    TEACHER_COOKIE,
    current_room,
    delete_cookie,
    enter_room,
    forget_taught_classes,
    leave_room,
    read_cookie,
    strip_old_url_parameters,
    write_cookie,
)
from ui.secrets import app_secrets

SIGN_IN_PARAMETER = "teacher_sign_in"
PASSCODE_KEY = "teacher-passcode"
_CLIENT_KEY = "teacher_client_key"
_MESSAGE_KEY = "teacher_message"
_SIGN_IN_LINK_KEY = "teacher_sign_in_link"
DIGITS_PER_STUDENT_KEY = "class-digits-per-student"
ROOM_TOKEN_DOTS = 4  # room.issued.expires.id.signature; the passcode's tokens have no room


def teacher_passcode():
    """The passcode set by the host (environment variable first, then secrets.toml), or None."""
    return configured_passcode(os.environ, app_secrets().get)


def class_mode_on():
    """Whether a teacher passcode is set, so that only the teacher controls runs and the class model."""
    return teacher_passcode() is not None


@st.cache_resource
def passcode_guard():
    """The server's guard on passcode guesses (shared by every session), counting in the class set's database."""
    return PasscodeGuard(database, store_errors=(ClassSetUnavailableError,))


@st.cache_resource
def sign_in_links():
    """The server's one-time sign-in links for second devices."""
    return SignInLinks()


@st.cache_resource
def revocations():
    """The teacher tokens signed out (Lock, "Sign out every device"), kept in the class set's database."""
    return Revocations(database, store_errors=(ClassSetUnavailableError,))


@st.cache_resource(max_entries=500)
def room_revocations(room):
    """The room teacher's tokens signed out (Lock), kept in the room's rows of the database."""
    return Revocations(lambda: database().in_room(room), store_errors=(ClassSetUnavailableError,))


@st.cache_resource(show_spinner=False)
def _rooms(url, passcode, _database):
    def delete_folders(_connection, codes):
        delete_room_folders(runs_dir(), codes)

    rooms = Rooms(_database, teacher_passcode=passcode, guard=passcode_guard(), purge_hooks=(delete_folders,))
    threading.Thread(target=keep_rooms_tidy, args=(rooms, threading.Event(), closed_room_keep_seconds(os.environ)),
                     name="mnist-rooms-tidy", daemon=True).start()
    return rooms


def rooms():
    """The server's :class:`~classroom.rooms.Rooms` (ClassSetUnavailableError for a database address that is no URL)."""
    app_database = database()
    return _rooms(str(app_database.url), teacher_passcode(), app_database)


def _room_token_claims(token, room):
    """The claims of ``token`` when it makes its holder the teacher of the open room ``room`` and was not
    signed out, else None; ClassSetUnavailableError when the database is down."""
    claims = rooms().room_teacher_rights(token, room)
    return None if claims is None or room_revocations(room).is_revoked(claims) else claims


def room_teacher_claims(room):
    """The claims of this browser's token when it makes it the teacher of the open room ``room``, else None
    (another room's, a forged, an expired or a signed-out token; a closed room; a database that is down)."""
    token = read_cookie(ROOM_TEACHER_COOKIE)
    if not token or room == DEFAULT_ROOM:
        return None
    try:
        return _room_token_claims(token, room)
    except ClassSetUnavailableError:
        return None


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
    """True when this session may start and stop runs, set the class model and run the quiz.

    In a class room: the room's teacher only. Outside any room: a browser that unlocked (here, or through
    a one-time sign-in link), or anyone when no passcode is set.
    """
    room = current_room()
    if room != DEFAULT_ROOM:
        return room_teacher_claims(room) is not None
    passcode = teacher_passcode()
    return passcode is None or _valid_token(passcode) is not None


def _sign_in_with_link(passcode, code):
    asking = sign_in_links().redeem(code)
    if asking is not None and asking.count(".") == ROOM_TOKEN_DOTS:  # a room teacher's token names its room first
        _sign_in_to_room(asking.split(".", 1)[0], asking)
        return
    claims = None if asking is None or passcode is None else _claims(asking, passcode)
    if claims is None:
        st.session_state[_MESSAGE_KEY] = "This sign-in link was used already or has expired: make a new one on your other device."
        return
    token = issue_token(passcode)  # this device's own token: Lock here leaves the other device signed in
    write_cookie(TEACHER_COOKIE, token, token_claims(token, passcode).expires_at)


def _sign_in_to_room(room, asking):
    """A one-time link made by room ``room``'s teacher: this device becomes the room's teacher too."""
    try:
        found = None if _room_token_claims(asking, room) is None else rooms().find(room)
    except ClassSetUnavailableError as error:
        st.session_state[_MESSAGE_KEY] = f"The sign-in could not be checked: {error}"
        return
    if found is None:
        st.session_state[_MESSAGE_KEY] = "This sign-in link was used already or has expired: make a new one on your other device."
        return
    enter_room(room, rooms().issue_room_teacher_token(found))  # this device's own token: Lock here leaves the other signed in


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
        _sign_in_with_link(passcode, code)
    room = current_room()
    # With the database down the token may be good: kept.
    if read_cookie(ROOM_TEACHER_COOKIE) and room_teacher_claims(room) is None and is_room_open(room) is not None:
        delete_cookie(ROOM_TEACHER_COOKIE)  # another room's, or signed out: this browser is a student here
    token = read_cookie(TEACHER_COOKIE)
    if token and (passcode is None or _valid_token(passcode) is None):
        delete_cookie(TEACHER_COOKIE)
        if passcode is not None:
            st.session_state[_MESSAGE_KEY] = "Your teacher sign-in has expired or was signed out: type the passcode again."


def is_room_open(room):
    """Whether class room ``room`` is open (the open studio always is): True; False when it closed or never was;
    None while the database is down (the pages say so, and nothing is decided on it)."""
    if room == DEFAULT_ROOM:
        return True
    try:
        return rooms().find(room) is not None
    except ClassSetUnavailableError:
        return None


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


def _sign_out_of_room(room):
    claims = room_teacher_claims(room)
    delete_cookie(ROOM_TEACHER_COOKIE)
    forget_taught_classes([room])  # nor its digits after the lesson
    st.session_state.pop(_SIGN_IN_LINK_KEY, None)
    if claims is None:
        return
    try:
        room_revocations(room).revoke(claims)
    except ClassSetUnavailableError as error:
        st.session_state[_MESSAGE_KEY] = (
            f"Signed out on this server, but the sign-out could not be saved ({error}): a restart of the server would forget it."
        )


def _end_class(room):
    if room_teacher_claims(room) is None:
        return  # checked again: only the teacher's page shows the button
    try:
        rooms().close(room)
    except ClassSetUnavailableError as error:
        st.session_state[_MESSAGE_KEY] = f"The class could not be ended: {error}"
        return
    leave_room()


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
    token = read_cookie(ROOM_TEACHER_COOKIE if current_room() != DEFAULT_ROOM else TEACHER_COOKIE)
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


def room_teacher_ui(room):
    """The room teacher's corner: Lock, end the class, a sign-in link for a second device. Returns the rights."""
    message = st.session_state.pop(_MESSAGE_KEY, None)
    if room_teacher_claims(room) is None:
        if message:
            st.warning(message)
        return False
    with st.container(key="teacher"):
        with st.container(horizontal=True, vertical_alignment="center", gap="small", wrap=True):
            st.markdown(f":material/lock_open: **Teacher of class {room}**: only you start and stop runs, choose the "
                        "class model and run the quiz.", width="stretch")
            st.button("Lock", on_click=_sign_out_of_room, args=(room,), key="teacher-lock",
                      help="Sign this browser out as the class's teacher, for good: only a one-time sign-in link made on "
                           "another of your devices brings it back.")
        with st.expander("Teacher mode on your second device"):
            _second_device_ui()
        with st.expander("End the class", icon=":material/logout:"):
            st.caption("Nobody can join or change the class any more, and its teacher sign-ins stop working. Its digits, "
                       f"runs and quiz are kept for {closed_room_keep_seconds(os.environ) / 86400:g} days, then deleted. Until then "
                       "this browser's home page has its digits to download, or to add to another class of yours.")
            st.button("End the class now", on_click=_end_class, args=(room,), key="teacher-end-class", type="primary")
        if message:
            st.warning(message)
    return True


def teacher_ui():
    """The teacher's corner of a page: unlock (passcode), or Lock, sign out everywhere and a sign-in link
    for a second device; in a class room, the room teacher's (:func:`room_teacher_ui`). Returns the rights."""
    keep_teacher_rights()
    if (room := current_room()) != DEFAULT_ROOM:
        return room_teacher_ui(room)
    passcode = teacher_passcode()
    if passcode is None:
        st.caption("This is the open studio, shared by every visitor outside a class (no teacher passcode is set): anyone "
                   "here may start runs (only a run's starter can stop it) and choose its model. For a class of your own, start one "
                   "on the home page.")
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


def _save_digits_per_student():
    if not teacher_rights():  # checked again: only a teacher's page shows the setting
        return
    try:
        class_set().set_digits_per_student(int(st.session_state[DIGITS_PER_STUDENT_KEY]))
    except (ClassSetUnavailableError, ValueError) as error:
        st.session_state["class_action_error"] = str(error)


def digits_per_student_ui():
    """The teacher's setting: how many digits each student may give a lesson (kept in the database)."""
    try:
        limit = class_set().digits_per_student()
    except ClassSetUnavailableError as error:
        st.error(str(error))
        return
    st.session_state[DIGITS_PER_STUDENT_KEY] = limit  # what the database says, also after another teacher's change
    st.number_input(
        "Digits each student may give per lesson", min_value=1, max_value=MAX_PER_LESSON, step=1, key=DIGITS_PER_STUDENT_KEY,
        on_change=_save_digits_per_student, width=320,
        help=f"Counted per student over the last {LESSON_SECONDS // 3600} hours; digits you delete do not count.",
    )
