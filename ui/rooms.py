"""Class rooms on the pages: "Start a class" and "Join a class" on the home page, the room's line on
every page, and joining by a link (``?room=CODE``, what the join card's QR code opens).

Which room a browser is in is a cookie (:func:`ui.identity.current_room`): it holds across reloads, page
changes and tabs. The rooms themselves and their rules are :class:`classroom.rooms.Rooms`.
"""
import os
import time

import streamlit as st

from classroom.class_set import DEFAULT_ROOM, ClassSetUnavailableError, csv_text, npz_bytes
from classroom.rate_limit import RateLimitError
from classroom.rooms import NoSuchRoomError, NotAJoinCodeError, PasscodeRefusedError, closed_room_keep_seconds, keeper_token_code
from ui.class_set import database
from ui.identity import (
    JOIN_PARAMETER,
    current_room,
    enter_room,
    forget_taught_classes,
    keep_taught_class,
    leave_room,
    taught_classes,
)
from ui.presenter import presenter_mode
from ui.teacher import client_key, is_room_open, room_teacher_claims, rooms, teacher_passcode

JOIN_KEY = "join-code"
START_PASSCODE_KEY = "start-class-passcode"
_MESSAGE_KEY = "room_message"  # (kind, text) for the next full run
_KEEPER_RENEWED_KEY = "room_keeper_renewed"  # the rooms whose keeper token this session renewed


def _say(kind, text):
    st.session_state[_MESSAGE_KEY] = (kind, text)


def _join(typed):
    try:
        room = rooms().join(typed, client_key())
    except (NotAJoinCodeError, NoSuchRoomError, RateLimitError) as error:
        _say("error", str(error))
        return False
    except ClassSetUnavailableError as error:
        _say("error", f"Joining does not work right now: {error}")
        return False
    enter_room(room.code)
    _say("success", f"You joined class {room.code}.")
    return True


def keep_room():
    """Run on every full page run: join by a link's ``?room=``, and leave a room that has closed."""
    typed = st.query_params.get(JOIN_PARAMETER)
    if typed is not None:
        del st.query_params[JOIN_PARAMETER]  # joined once; the cookie carries it from here
        if typed != current_room():
            _join(typed)
    room = current_room()
    is_open = is_room_open(room)
    if is_open is False:
        leave_room()
        _say("info", f"Class {room} has ended: you are back in the open studio.")
    elif is_open and room != DEFAULT_ROOM:  # None: the database is down, the pages say so; the room stays this browser's
        try:
            rooms().touch(room)
            _renew_keeper(room)
        except ClassSetUnavailableError:
            pass


def _renew_keeper(code):
    """Once a session, give the teacher of room ``code`` a fresh keeper token: its digits stay theirs after the lesson."""
    renewed = st.session_state.setdefault(_KEEPER_RENEWED_KEY, set())
    if code not in renewed and room_teacher_claims(code) is not None and (room := rooms().find(code)) is not None:
        renewed.add(code)
        kept_classes()  # drops the tokens that no longer count before the cookie is written again
        keep_taught_class(rooms().issue_keeper_token(room))


def _start_class():
    passcode = st.session_state.get(START_PASSCODE_KEY) or None
    st.session_state[START_PASSCODE_KEY] = ""  # never kept, never shown again
    try:
        room = rooms().create(client_key(), passcode=passcode)
        token = rooms().issue_room_teacher_token(room)
    except (PasscodeRefusedError, RateLimitError) as error:
        _say("error", str(error))
        return
    except ClassSetUnavailableError as error:
        _say("error", f"The class could not be started: {error}")
        return
    enter_room(room.code, teacher_token=token)
    _say("success", f"Class {room.code} started: show the join card (below) so that students can join.")


def _join_typed():
    if _join(st.session_state.get(JOIN_KEY) or ""):
        st.session_state[JOIN_KEY] = ""


def _leave():
    room = current_room()
    leave_room()
    _say("info", f"You left class {room}. Type its code to join again.")


def room_message_ui():
    """The message of the last room action (joined, started, ended), shown once."""
    kind, text = st.session_state.pop(_MESSAGE_KEY, (None, None))
    if text:
        {"error": st.error, "success": st.success}.get(kind, st.info)(text)


def room_line_ui():
    """One line on every page while in a room: its code, whether this browser is its teacher, and Leave."""
    room = current_room()
    if room == DEFAULT_ROOM or presenter_mode():  # the projector's view has the code on its join card, and no room to spare
        return room
    teaching = room_teacher_claims(room) is not None
    with st.container(key="room-line", horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown(f":material/groups: Class **{room}** · {'you teach it' if teaching else 'you are a student'}",
                    width="stretch")
        if not teaching:  # a teacher who left would lose the class: they Lock or End the class on the Train page
            st.button("Leave", key="room-leave", on_click=_leave, type="tertiary",
                      help="Back to the open studio. You can join again with the code.")
    return room


def start_or_join_ui():
    """The home page's two ways into a class: start one (the teacher) or join one by its code (a student)."""
    if current_room() != DEFAULT_ROOM:
        return
    # Joining first: a student's phone shows it on the first screen, above the teacher's Start.
    join_column, start_column = st.columns(2)
    with join_column, st.container(key="join-class", border=True):
        st.markdown("**Join a class**: type the code your teacher shows.")
        with st.form("join-class-form", clear_on_submit=False, border=False):
            st.text_input("Class code", key=JOIN_KEY, max_chars=40, placeholder="e.g. KX7MFP", autocomplete="off")
            st.form_submit_button("Join", on_click=_join_typed, icon=":material/login:")
    with start_column, st.container(key="start-class", border=True):
        st.markdown("**Start a class**: a room of your own with a join code, its own runs, quiz and class set.")
        with st.form("start-class-form", clear_on_submit=True, border=False):
            if teacher_passcode() is not None:
                st.text_input("Teacher passcode", key=START_PASSCODE_KEY, type="password",
                              autocomplete="current-password")
            st.form_submit_button("Start a class", on_click=_start_class, type="primary", icon=":material/add:")


# -- the teacher's classes after the lesson: download, and pool into the class they teach now --


def kept_classes():
    """The classes this browser taught whose data is still kept (open or closed), newest first; keeper tokens
    of deleted classes (or expired) are dropped. Empty while the database is down."""
    kept, gone = [], []
    try:
        for token in taught_classes():
            room = rooms().kept_room(token)
            if room is None:
                gone.append(keeper_token_code(token))
            else:
                kept.append(room)
    except ClassSetUnavailableError:
        return []
    if gone:
        forget_taught_classes(gone)
    return kept


def _kept_until(room):
    if room.is_open:
        return "open"
    until = time.strftime("%d %b %Y", time.gmtime(room.closed_at + closed_room_keep_seconds(os.environ)))
    return f"ended {time.strftime('%d %b', time.gmtime(room.closed_at))}, its digits kept until {until}"


def _pool(source, target):
    """Copy class ``source``'s digits into ``target``'s class set: only for the teacher of ``target`` who keeps ``source``."""
    if room_teacher_claims(target) is None or source not in {room.code for room in kept_classes()}:
        _say("error", "Only the teacher of this class can add digits to it, from classes they taught in this browser.")
        return
    try:
        added, already = database().in_room(target).pool_from(source)
    except ClassSetUnavailableError as error:
        _say("error", f"The digits could not be added: {error}")
        return
    here = f" ({already} of them were here already)" if already else ""
    _say("success", f"Added {added} digit{'' if added == 1 else 's'} of class {source} to this class set{here}.")


def taught_classes_ui(pool_into=None):
    """The classes this browser taught, each with its digits to download (also after the class ended, until
    its data is deleted); with ``pool_into`` (the class this browser teaches now), a button that adds a class's
    digits to that class's set. Nothing when there are none."""
    kept = [room for room in kept_classes() if room.code != pool_into]
    if not kept:
        return
    title = "Add digits from your other classes" if pool_into else f"Your classes ({len(kept)}): their digits"
    with st.expander(title, icon=":material/history:"):
        st.caption(
            "Classes you started or taught in this browser. Their digits stay here after the class ends, until "
            f"they are deleted {closed_room_keep_seconds(os.environ) / 86400:g} days later."
            + (" Adding a class's digits copies them into this class set (with their students), once." if pool_into else "")
        )
        for room in kept:
            digits = database().in_room(room.code)
            try:
                count = len(digits)
            except ClassSetUnavailableError as error:
                st.warning(f"Class {room.code}: its digits cannot be read right now ({error}).")
                continue
            with st.container(key=f"kept-class-{room.code}", horizontal=True, vertical_alignment="center", wrap=True):
                st.markdown(f"**{room.code}** · {_kept_until(room)} · {count:,} digit{'' if count == 1 else 's'}", width="stretch")
                if not count:
                    continue
                # The files are made on a click, not on every run of the page.
                st.download_button("class_digits.npz", lambda digits=digits: npz_bytes(digits.digits()),
                                   file_name=f"class_{room.code}_digits.npz", mime="application/octet-stream",
                                   icon=":material/download:", on_click="ignore", key=f"kept-npz-{room.code}")
                st.download_button("class_digits.csv", lambda digits=digits: csv_text(digits.digits()),
                                   file_name=f"class_{room.code}_digits.csv", mime="text/csv",
                                   icon=":material/download:", on_click="ignore", key=f"kept-csv-{room.code}")
                if pool_into:
                    st.button(f"Add to class {pool_into}", key=f"kept-pool-{room.code}", on_click=_pool,
                              args=(room.code, pool_into), icon=":material/merge:")
