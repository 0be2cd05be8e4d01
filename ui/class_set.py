"""The class set in Streamlit: one shared database handle, the student's anonymous id, and the
"give this drawing to the class" panel of the Draw page."""
import hashlib

import streamlit as st

from classroom.class_set import (
    ClassSet,
    ClassSetUnavailableError,
    ConfirmationNeeded,
    database_url,
    give_to_class,
    refusal,
)
from classroom.rate_limit import RateLimitError
from ui.identity import current_room, visitor_id
from ui.page_styles import use_styles
from ui.secrets import app_secrets

PROMPT_KEY = "class_set_prompt"
GIVEN_KEY = "class_set_last_given"  # fingerprint of the drawing this session gave last
PENDING_KEY = "class_set_pending"  # (fingerprint, label, question) waiting for the student's yes
DIGIT_BUTTONS_KEY = "class-digit-buttons"  # styled by assets/styles/class-set.css


def configured_url():
    """``url`` under ``[connections.class_set]`` in .streamlit/secrets.toml (st.connection's convention), or None."""
    try:
        return app_secrets()["connections"]["class_set"]["url"]
    except (KeyError, TypeError):  # no such entry
        return None


@st.cache_resource(show_spinner=False)
def shared_class_set(url):
    """The :class:`ClassSet` on ``url``, one per server (the quiz keeps its state in the same database)."""
    return ClassSet(url)


def database():
    """The app's database as the server's :class:`ClassSet` outside any room, shared by every session;
    raises ClassSetUnavailableError for a bad URL."""
    return shared_class_set(database_url(configured_url()))


def class_set():
    """The class set of this browser's class room (the open studio's outside any room): the digits, settings
    and sign-outs of that room only; raises ClassSetUnavailableError for a bad URL."""
    return database().in_room(current_room())


def class_set_size():
    """How many digits the class set has, or None when its database cannot be reached."""
    try:
        return len(class_set())
    except ClassSetUnavailableError:
        return None


def _fingerprint(image):
    return hashlib.sha256(image.tobytes()).hexdigest()


def _give(reading, label, confirmed=False):
    """Add the drawing with ``label``; the message for the page as ``(kind, text)``.

    A drawing the student must confirm first is kept waiting (PENDING_KEY) and answered with ``("question", text)``.
    """
    fingerprint = _fingerprint(reading.image) if reading.image is not None else None
    if fingerprint is not None and st.session_state.get(GIVEN_KEY) == fingerprint:
        return "info", "This drawing is already in the class set. Draw another digit to give one more."
    student = visitor_id()  # the per-student limit and the teacher's grouping count by it
    try:
        store = class_set()
        give_to_class(store, student, label, reading.verdict, reading.image, reading.probabilities, confirmed)
        given, limit = store.given_this_lesson(student), store.digits_per_student()
    except ConfirmationNeeded as question:
        st.session_state[PENDING_KEY] = (fingerprint, label, question.question)
        return "question", question.question
    except (ValueError, RateLimitError) as error:
        return "warning", str(error)
    except ClassSetUnavailableError as error:
        return "error", f"{error} Drawing still works meanwhile."
    st.session_state[GIVEN_KEY] = fingerprint
    if st.session_state.get(PROMPT_KEY) == label:
        st.session_state[PROMPT_KEY] = None
    return "success", f"Thank you: your {label} is in the class set ({given} of your {limit} this lesson)."


def _take_prompt():
    try:
        st.session_state[PROMPT_KEY] = class_set().least_collected_label()
    except ClassSetUnavailableError as error:
        st.session_state[PROMPT_KEY] = None
        st.session_state["class_set_prompt_error"] = str(error)


def _a(digit):
    return "an" if digit == 8 else "a"


def _pending_question(reading):
    """``(label, question)`` waiting for this drawing's yes, or None; a new drawing drops the question."""
    pending = st.session_state.get(PENDING_KEY)
    if pending is None:
        return None
    fingerprint, label, question = pending
    if reading.image is None or fingerprint != _fingerprint(reading.image):
        st.session_state.pop(PENDING_KEY, None)
        return None
    return label, question


def give_to_class_ui(reading, predictor_label):
    """Ten large buttons, 0-9, that give the current drawing to the class set with the digit the
    student meant, and a prompt that suggests which digit to draw next (the one the set has fewest of).

    ``reading``: the Draw page's reading of the drawing (``verdict``, ``guess``, ``image``,
    ``probabilities``). A "not a digit" drawing is refused; an "unsure" one, or a label other than the
    confident reading, goes in only after the student's yes to one question. The database is only
    touched on a click, so a class drawing at once costs it nothing, and a database that is down costs
    the Draw page nothing but a message. Returns the label given on this run, or None.
    """
    given, message = None, None
    with st.container(key="give-to-class"):
        st.subheader("Give it to the class set")
        prompt = st.session_state.get(PROMPT_KEY)
        prompt_error = st.session_state.pop("class_set_prompt_error", None)
        if prompt is not None:
            st.markdown(f"Your prompt: draw {_a(prompt)} **{prompt}** next, then tap the digit you drew.")
        if prompt_error:
            st.error(prompt_error)
        refused = refusal(reading.verdict) if reading.image is not None else None
        if reading.image is None:
            st.caption("Draw a digit, then tap the digit you meant: the 28 × 28 image joins the class's handwriting (no name).")
        elif refused:
            st.warning(refused, icon=":material/block:")
        else:
            st.caption(
                f"Which digit did you mean? {predictor_label.capitalize()} reads it as {int(reading.probabilities.argmax())}"
                f"{' but is not sure' if reading.verdict == 'unsure' else ''}; "
                "only the 28 × 28 image, your digit and that reading are kept (no name)."
            )
        can_give = reading.image is not None and not refused
        with st.container(horizontal=True, wrap=True, key=DIGIT_BUTTONS_KEY):
            for digit in range(10):  # all alike: a prompt never picks the label for the student
                if st.button(str(digit), key=f"give-{digit}", disabled=not can_give, width=64):
                    st.session_state.pop(PENDING_KEY, None)
                    message = _give(reading, digit)
                    given = digit
        pending = _pending_question(reading) if can_give else None
        if pending is not None:
            label, question = pending
            asking = st.empty()
            with asking.container(key="class-confirm", border=True):
                st.markdown(f"**{question}**")
                yes_column, no_column = st.columns(2)
                yes = yes_column.button(f"Yes, it is {_a(label)} {label}", key="class-confirm-yes", type="primary", width="stretch")
                no = no_column.button("No", key="class-confirm-no", width="stretch")
            if yes or no:
                st.session_state.pop(PENDING_KEY, None)
                asking.empty()
            if yes:
                message, given = _give(reading, label, confirmed=True), label
        if message is not None and message[0] != "question":  # a question shows above, with its buttons
            kind, text = message
            getattr(st, kind)(text)
            if kind != "success":
                given = None
        elif message is not None:
            given = None
        st.button("Give me a prompt", key="class-set-prompt", on_click=_take_prompt, icon=":material/casino:")
    use_styles("class-set")
    return given
