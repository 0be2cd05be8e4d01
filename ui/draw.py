"""The Draw page's parts: a canvas with big Undo and Clear buttons, and a fixed-size verdict box.

A page (or another feature) adds each part with one call; all of them fit the first screen of a
360 x 740 phone: canvas, buttons and verdict, with the probabilities right below.
"""
import functools
import html
from pathlib import Path

import numpy as np
import streamlit as st

from mnist_cnn.figures import probability_bar_chart
from ui.page_styles import stylesheet, use_styles

CANVAS_SIZE = 280  # fits a 360 px phone screen with the page margins (and assets/styles/draw.css)
DEFAULT_PEN_WIDTH = 20
_CANVAS_KEY = "sketch"
# The drawing the canvas starts from: changed only by Undo and Clear, which makes the canvas reload it.
_START_KEY = "sketch_start"
_OBJECTS_KEY = "sketch_objects"  # the strokes the canvas last reported, for Undo
_AWAITED_KEY = "sketch_awaited"  # stroke count the canvas will report once it has reloaded
_LAST_READING_KEY = "sketch_last_reading"
_BLANK_CANVAS = np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8)  # read as "blank", in read_drawing's words



@functools.cache
def _hide_canvas_toolbar():
    """Register streamlit-drawable-canvas again under its own name with its toolbar hidden.

    The toolbar shows on mouse hover only; on a touch screen it stays invisible but still covers the
    top right of the canvas, where a stroke would press Reset or Edit. Undo and Clear are our buttons.
    """
    # Here, not at the top: the package registers its component on import, which needs a running Streamlit
    # (the quiz imports this module for last_reading, and the benchmarks import the quiz without one).
    import streamlit_drawable_canvas

    package = Path(streamlit_drawable_canvas.__file__).parent
    (css_file,) = (package / "frontend" / "build").glob("index-*.css")
    st.components.v2.component(
        "streamlit-drawable-canvas.streamlit_drawable_canvas",
        js="index-*.js",
        css=css_file.read_text() + "\n" + stylesheet("canvas-toolbar"),
        html='<div class="canvas-root"></div>',
        isolate_styles=True,
    )


def _undo_last_stroke():
    _restart_canvas(st.session_state.get(_OBJECTS_KEY, [])[:-1])


def _clear_canvas():
    _restart_canvas([])


def _restart_canvas(objects):
    # The revision makes every restart a new drawing for the canvas, even one equal to an earlier start.
    revision = st.session_state.get(_START_KEY, {}).get("revision", 0) + 1
    st.session_state[_START_KEY] = {"objects": objects, "revision": revision}
    st.session_state[_AWAITED_KEY] = len(objects)


def canvas_ui():
    """The canvas with Undo, Clear and a pen-width setting under it.

    Returns the drawing as an RGBA uint8 array (None before the first stroke), or None while the
    canvas is reloading after Undo or Clear (use :func:`reading_ui`, which keeps the last verdict then).
    """
    import streamlit_drawable_canvas  # needs a running Streamlit (see _hide_canvas_toolbar)

    _hide_canvas_toolbar()
    use_styles("draw")
    pen_width = st.session_state.get("pen_width", DEFAULT_PEN_WIDTH)
    with st.container(key="sketch-box", width=CANVAS_SIZE):
        canvas = streamlit_drawable_canvas.st_canvas(
            stroke_width=pen_width,
            stroke_color="#ffffff",
            background_color="#000000",
            width=CANVAS_SIZE,
            height=CANVAS_SIZE,
            drawing_mode="freedraw",
            initial_drawing=st.session_state.get(_START_KEY),
            return_image_data=True,
            update_streamlit=True,
            key=_CANVAS_KEY,
        )
    objects = (canvas.json_data or {}).get("objects", [])
    awaited = st.session_state.get(_AWAITED_KEY)
    reloading = awaited is not None and len(objects) != awaited
    if not reloading:
        st.session_state[_AWAITED_KEY] = None
        st.session_state[_OBJECTS_KEY] = objects
    with st.container(horizontal=True, key="canvas-buttons", width=CANVAS_SIZE, gap="small", wrap=False):
        st.button("Undo", icon=":material/undo:", on_click=_undo_last_stroke, disabled=not objects, width="stretch")
        st.button("Clear", icon=":material/delete:", on_click=_clear_canvas, disabled=not objects, width="stretch")
        with st.popover("Pen", icon=":material/edit:", width="stretch"):
            st.slider("Pen width", min_value=8, max_value=40, value=DEFAULT_PEN_WIDTH, step=2, key="pen_width")
    if reloading:
        return None
    try:
        rgba = canvas.image_data
    except (OSError, ValueError) as error:
        st.error(f"The canvas sent an image this page cannot read: {error}")
        return None
    if rgba is None and objects:
        # Back on the page: the canvas shows the earlier strokes but has not sent them; have it send them.
        _restart_canvas(objects)
        st.rerun()
    return rgba


def reading_ui(rgba, predictor):
    """The reading of the drawing from :func:`canvas_ui` (the last one while the canvas reloads)."""
    from mnist_cnn.reading import read_drawing  # imports TensorFlow: after the page's title

    if rgba is None and st.session_state.get(_AWAITED_KEY) is not None:
        reading = st.session_state.get(_LAST_READING_KEY) or read_drawing(_BLANK_CANVAS, predictor)
    else:
        try:
            reading = read_drawing(_BLANK_CANVAS if rgba is None else rgba, predictor)
        except (TypeError, ValueError) as error:
            st.error(f"The canvas sent an image this page cannot read: {error}")
            reading = read_drawing(_BLANK_CANVAS, predictor)
    st.session_state[_LAST_READING_KEY] = reading
    return reading


def last_reading():
    """This session's last reading on the Draw page (a :class:`DrawingReading`), or None."""
    return st.session_state.get(_LAST_READING_KEY)


def verdict_ui(reading):
    """The verdict in a box of fixed size: the big digit only when the network reads a digit."""
    css_class = "verdict-" + reading.verdict.replace(" ", "-")
    digit = f'<p class="predicted-digit">{reading.digit}</p>' if reading.verdict == "digit" else ""
    with st.container(key="prediction"):
        st.markdown(
            # A polite live region: screen readers announce each new verdict once (a rerun that keeps it says nothing).
            f'<div class="verdict {css_class}" role="status" aria-live="polite" aria-atomic="true">{digit}'
            f'<p class="verdict-message">{html.escape(reading.message)}</p></div>',
            unsafe_allow_html=True,
        )


def probabilities_ui(reading):
    """All ten probabilities, as empty bars before the first drawing (so each drawing updates the chart in place)."""
    st.plotly_chart(
        probability_bar_chart(reading.probabilities, height=220),
        config={"displayModeBar": False, "staticPlot": False},
        key="probabilities",
    )
