"""The class set in Streamlit: one shared database handle, the session's anonymous id, and the
"give this drawing to the class" panel of the Draw page."""
import hashlib
import uuid

import streamlit as st

from mnist_cnn.class_set import ACCEPTED_VERDICTS, ClassSet, ClassSetUnavailableError, database_url, give_to_class
from mnist_cnn.rate_limit import RateLimiter, RateLimitError
from ui.secrets import app_secrets

SESSION_ID_KEY = "class_set_session_id"
PROMPT_KEY = "class_set_prompt"
GIVEN_KEY = "class_set_last_given"  # fingerprint of the drawing this session gave last
DIGIT_BUTTONS_KEY = "class-digit-buttons"


def configured_url():
    """``url`` under ``[connections.class_set]`` in .streamlit/secrets.toml (st.connection's convention), or None."""
    try:
        return app_secrets()["connections"]["class_set"]["url"]
    except (KeyError, TypeError):  # no such entry
        return None


@st.cache_resource(show_spinner=False)
def _shared_class_set(url):
    return ClassSet(url)


def class_set():
    """The server's :class:`ClassSet`, shared by every session; raises ClassSetUnavailableError for a bad URL."""
    return _shared_class_set(database_url(configured_url()))


@st.cache_resource
def rate_limiter():
    return RateLimiter()


def class_set_size():
    """How many digits the class set has, or None when its database cannot be reached."""
    try:
        return len(class_set())
    except ClassSetUnavailableError:
        return None


def session_id():
    """A random id for this browser session: it tells digits of one session apart, and nothing about who drew them."""
    return st.session_state.setdefault(SESSION_ID_KEY, uuid.uuid4().hex)


def _fingerprint(image):
    return hashlib.sha256(image.tobytes()).hexdigest()


def _give(reading, label):
    """Add the drawing with ``label``; the message for the page as ``(kind, text)``."""
    if reading.image is not None and st.session_state.get(GIVEN_KEY) == _fingerprint(reading.image):
        return "info", "This drawing is already in the class set. Draw another digit to give one more."
    try:
        give_to_class(class_set(), rate_limiter(), session_id(), label, reading.verdict, reading.image, reading.probabilities)
    except (ValueError, RateLimitError) as error:
        return "warning", str(error)
    except ClassSetUnavailableError as error:
        return "error", str(error)
    st.session_state[GIVEN_KEY] = _fingerprint(reading.image)
    if st.session_state.get(PROMPT_KEY) == label:
        st.session_state[PROMPT_KEY] = None
    return "success", f"Thank you: your {label} is in the class set."


def _take_prompt():
    try:
        st.session_state[PROMPT_KEY] = class_set().least_collected_label()
    except ClassSetUnavailableError as error:
        st.session_state[PROMPT_KEY] = None
        st.session_state["class_set_prompt_error"] = str(error)


def give_to_class_ui(reading, predictor_label):
    """Ten large buttons, 0-9, that give the current drawing to the class set with the digit the
    student meant, and a prompt that asks for the digit the set has fewest of.

    ``reading``: the Draw page's reading of the drawing (``verdict``, ``image``, ``probabilities``).
    The database is only touched on a click, so a class drawing at once costs it nothing, and a
    database that is down costs the Draw page nothing but a message. Returns the label given on
    this run, or None.
    """
    given = None
    with st.container(key="give-to-class"):
        st.subheader("Give it to the class set")
        prompt = st.session_state.get(PROMPT_KEY)
        prompt_error = st.session_state.pop("class_set_prompt_error", None)
        if prompt is not None:
            st.markdown(f"Your prompt: draw a **{prompt}**, then tap {prompt}.")
        if prompt_error:
            st.error(prompt_error)
        can_give = reading.verdict in ACCEPTED_VERDICTS and reading.image is not None
        if reading.image is None:
            st.caption("Draw a digit, then tap the digit you meant: the 28 × 28 image joins the class's handwriting (no name).")
        elif not can_give:
            st.caption("Only drawings of a digit go into the class set.")
        else:
            st.caption(
                f"Which digit did you mean? {predictor_label.capitalize()} reads it as {int(reading.probabilities.argmax())}; "
                "only the 28 × 28 image, your digit and that reading are kept (no name)."
            )
        with st.container(horizontal=True, wrap=True, key=DIGIT_BUTTONS_KEY):
            for digit in range(10):
                if st.button(str(digit), key=f"give-{digit}", disabled=not can_give, width=64,
                             type="primary" if digit == prompt else "secondary"):
                    given = digit
        if given is not None:
            kind, text = _give(reading, given)
            getattr(st, kind)(text)
            if kind != "success":
                given = None
        st.button("Give me a prompt", key="class-set-prompt", on_click=_take_prompt, icon=":material/casino:")
    st.html(
        f"<style>.st-key-{DIGIT_BUTTONS_KEY} button{{min-height:3.2rem}}"
        f".st-key-{DIGIT_BUTTONS_KEY} button p{{font-size:1.6rem;font-weight:700}}</style>"
    )
    return given
