"""The canvas's alternative on the Draw page: a student who cannot draw with a pointer picks a test
digit by its number (keyboard, screen reader, switch access) and gets it read and explained like a drawing."""
import numpy as np
import streamlit as st

from mnist_cnn.data import load_test_set
from mnist_cnn.display import digit_as_canvas

PICK_KEY = "picked-test-digit"


def _pick_random():
    st.session_state[PICK_KEY] = int(np.random.default_rng().integers(len(load_test_set()[1])))


def _back_to_drawing():
    st.session_state[PICK_KEY] = None


def picked_digit():
    """The test-set index picked instead of a drawing, or None."""
    return st.session_state.get(PICK_KEY)


def digit_picker_ui(canvas_size):
    """An expander to read a test digit instead of the drawing; returns that digit as a canvas (RGBA), or None."""
    images, labels = load_test_set()
    with st.expander("Cannot draw? Read a test digit instead", icon=":material/keyboard:", expanded=picked_digit() is not None):
        st.number_input(
            f"Test digit number (0 to {len(images) - 1:,}), then Enter", min_value=0, max_value=len(images) - 1, value=None,
            step=1, key=PICK_KEY, placeholder="for example 42",
        )
        with st.container(horizontal=True, gap="small"):
            st.button("A random test digit", on_click=_pick_random, icon=":material/casino:", key="pick-random")
            st.button("Back to my drawing", on_click=_back_to_drawing, disabled=picked_digit() is None, key="pick-back")
    index = picked_digit()
    if index is None:
        return None
    st.caption(f"Reading test digit #{index:,} (a handwritten {labels[index]}) instead of your drawing.")
    return digit_as_canvas(images[index], canvas_size)
