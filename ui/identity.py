"""Who this browser is, across reloads, page changes and tabs: the one place that keeps a visitor's
identity (the visitor id, the class room it joined, the teacher's tokens, the quiz host's token) in
cookies, never in the URL.

Streamlit cannot set a cookie from Python and reads cookies only when a session starts
(``st.context.cookies``). So a session remembers what it set in session state, and :func:`carry_identity`
writes it into the browser with a line of JavaScript; the next session (a reload, a new tab) reads it.
Cookies: ``path=/``, ``SameSite=Strict``, ``Secure`` on https, expiring with what they carry.
"""
import re
import secrets
import time

import streamlit as st

from classroom.class_set import DEFAULT_ROOM, JOIN_CODE_LENGTH
from classroom.rooms import JOIN_CODE_ALPHABET, KEEPER_TOKEN_LIFETIME_SECONDS, keeper_token_code
from ui.page_styles import script_html, styles_html

VISITOR_COOKIE = "mnist_cnn_visitor"
TEACHER_COOKIE = "mnist_cnn_teacher"
QUIZ_HOST_COOKIE = "mnist_cnn_quiz_host"
ROOM_COOKIE = "mnist_cnn_room"  # the join code of the class room this browser joined
ROOM_TEACHER_COOKIE = "mnist_cnn_room_teacher"  # the token that makes this browser its room's teacher
TAUGHT_COOKIE = "mnist_cnn_taught"  # keeper tokens of the classes this browser started or taught, newest first
TAUGHT_CLASSES_KEPT = 8  # ~100 characters each: the cookie stays far below a browser's 4 kB
_TAUGHT_SEPARATOR = "~"  # a cookie value may hold it; a token never does
JOIN_PARAMETER = "room"  # ?room=CODE: the join card's link joins the room (ui.rooms.keep_room)
ROOM_LIFETIME_SECONDS = 24 * 3600  # a lesson, and the rest of the school day; a closed room is left at once
VISITOR_LIFETIME_SECONDS = 30 * 24 * 3600  # an anonymous random id: the same phone is the same voter all term
# Names that carried identity in the URL before these cookies; taken out of any address that has them.
OLD_URL_PARAMETERS = ("teacher", "quiz_host", "voter")
WRITTEN_KEY = "identity_cookies"  # name -> (value or None for deleted, expiry in Unix seconds)
_SENT_KEY = "identity_sent_cookies"  # the cookies the browser sent when this session started
_CARRIED_KEY = "identity_carried_cookies"  # name -> (value, time), as last handed to the browser's script
CARRY_SECONDS = 10.0  # how long a changed cookie's script stays in the page
_VISITOR_ID = re.compile(r"[0-9a-f]{32}")
_JOIN_CODE = re.compile(f"[{JOIN_CODE_ALPHABET}]{{{JOIN_CODE_LENGTH}}}")


def request_cookies():
    """The cookies the browser sent when this session started (tests replace this function)."""
    return st.context.cookies.to_dict()


def _sent():
    # Read once: a session's cookies are those of its start, like st.context.cookies.
    if _SENT_KEY not in st.session_state:
        st.session_state[_SENT_KEY] = {name: value for name, value in request_cookies().items() if isinstance(value, str)}
    return st.session_state[_SENT_KEY]


def _written():
    return st.session_state.setdefault(WRITTEN_KEY, {})


def read_cookie(name):
    """This browser's cookie ``name``: what this session wrote last, else what the browser sent; or None."""
    written = _written()
    if name in written:
        return written[name][0]
    return _sent().get(name) or None


def write_cookie(name, value, expires_at):
    """Keep ``value`` in this browser until ``expires_at`` (Unix seconds); sent on every later session."""
    _written()[name] = (value, int(expires_at))


def delete_cookie(name):
    _written()[name] = (None, 0)


def visitor_id():
    """This browser's anonymous random id (the quiz's voter id): the same in every tab and after a reload."""
    value = read_cookie(VISITOR_COOKIE)
    if value is None or not _VISITOR_ID.fullmatch(value):
        value = secrets.token_hex(16)
        write_cookie(VISITOR_COOKIE, value, time.time() + VISITOR_LIFETIME_SECONDS)
    return value


def current_room():
    """The join code of the class room this browser joined, or DEFAULT_ROOM (the open studio) when none
    (:mod:`ui.rooms` checks that the room is open on every full run and leaves a closed one)."""
    value = read_cookie(ROOM_COOKIE)
    return value if value and _JOIN_CODE.fullmatch(value) else DEFAULT_ROOM


def enter_room(code, teacher_token=None):
    """This browser is in room ``code`` from now on (every tab, after a reload); with ``teacher_token``, as
    its teacher. Another room's teacher token is dropped."""
    expires_at = time.time() + ROOM_LIFETIME_SECONDS
    write_cookie(ROOM_COOKIE, code, expires_at)
    if teacher_token is not None:
        write_cookie(ROOM_TEACHER_COOKIE, teacher_token, expires_at)
    elif not (read_cookie(ROOM_TEACHER_COOKIE) or "").startswith(f"{code}."):
        delete_cookie(ROOM_TEACHER_COOKIE)


def leave_room():
    """Back to the open studio: no room, no room teacher token."""
    delete_cookie(ROOM_COOKIE)
    delete_cookie(ROOM_TEACHER_COOKIE)


def taught_classes():
    """The keeper tokens (:meth:`classroom.rooms.Rooms.issue_keeper_token`) of the classes this browser taught,
    newest first; unchecked: :meth:`~classroom.rooms.Rooms.kept_room` says which still count."""
    return [token for token in (read_cookie(TAUGHT_COOKIE) or "").split(_TAUGHT_SEPARATOR) if token]


def keep_taught_class(keeper_token):
    """Remember ``keeper_token`` in this browser (in place of an older one for its class), so that the teacher
    finds the class's digits after the lesson, also after it closed."""
    code = keeper_token_code(keeper_token)
    _write_taught_classes([keeper_token, *(token for token in taught_classes() if keeper_token_code(token) != code)])


def forget_taught_classes(codes):
    """Drop the keeper tokens of these classes (deleted, or this browser locked) from this browser."""
    _write_taught_classes([token for token in taught_classes() if keeper_token_code(token) not in set(codes)])


def _write_taught_classes(tokens):
    if tokens:
        write_cookie(TAUGHT_COOKIE, _TAUGHT_SEPARATOR.join(tokens[:TAUGHT_CLASSES_KEPT]), time.time() + KEEPER_TOKEN_LIFETIME_SECONDS)
    else:
        delete_cookie(TAUGHT_COOKIE)


def strip_old_url_parameters():
    """Take identity parameters of old links out of the address; returns the names that were there."""
    found = [name for name in OLD_URL_PARAMETERS if name in st.query_params]
    for name in found:
        del st.query_params[name]
    return found


def cookie_script(written):
    """The JavaScript that writes ``written`` (name -> (value or None, expiry)) into ``document.cookie``."""
    cookies = [
        f"{name}={value or ''}; path=/; SameSite=Strict; expires="
        + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(expires_at if value else 0))
        for name, (value, expires_at) in sorted(written.items())
    ]
    return script_html("write-cookies", cookies)


def carry_identity(key="identity"):
    """Write what this session changed into the browser's cookies (an invisible element).

    Call it in every full run (app.py) and in any fragment whose buttons change an identity, with a key
    of its own, starting with "identity" (assets/styles/identity.css hides those): a fragment's rerun
    draws only the fragment.
    """
    if not key.startswith("identity"):
        raise ValueError(f"an identity carrier's key starts with 'identity', else it shows: {key!r}")
    visitor_id()
    carried = st.session_state.setdefault(_CARRIED_KEY, {})  # name -> (value, when first handed to the browser)
    now = time.monotonic()
    pending = {}
    for name, (value, expires_at) in _written().items():
        handed = carried.get(name)
        if handed is None and value == _sent().get(name):
            continue  # the browser sent it: nothing to write
        if handed is None or handed[0] != value:
            handed = carried[name] = (value, now)
        if now - handed[1] < CARRY_SECONDS:
            pending[name] = (value, expires_at)
    # The container is drawn on every run, script or not: were it there on one run and gone on the next,
    # every element after it would move, and the Draw page's canvas would be mounted anew and lose a stroke.
    # Hidden by a style of its own, the same on every run: were the rule in the changing element below, a busy
    # browser would show the container (a 21 px gap) for the moment between removing one and drawing the next.
    hide = styles_html("identity")  # hides every container whose key starts with "identity"
    st.html(hide)
    with st.container(key=key, border=False):
        # The same script on every run for a few seconds, then none: a fragment redrawn every second sends
        # nothing more, and a busy browser that applied two redraws at once has still run it.
        st.html(hide + cookie_script(pending) if pending else hide, unsafe_allow_javascript=bool(pending))
