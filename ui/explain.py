"""Explain a reading: the way in, what-if sliders, where the network looked, look-alikes.

Each part is computed only when a visitor opens it (a class draws together), for the model the
caller passes (the visitor's active model by default).
"""
import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from mnist_cnn.data import load_test_set
from mnist_cnn.display import enlarge
from mnist_cnn.explain import (
    WHAT_IF_SLIDERS,
    LookAlikes,
    WhatIf,
    as_float_image,
    occlusion_saliency,
    saliency_overlay,
    steps_strip,
    what_if,
)
from mnist_cnn.figures import probability_bar_chart
from mnist_cnn.preprocess import canvas_to_mnist_steps
from ui.active_model import active_model_path
from ui.page_styles import use_styles

TILE = 140  # pixels of each small image: two fit side by side on a 360 px phone


@st.cache_resource(max_entries=2, show_spinner="Computing the 10,000 test digits' features (once per model)…")
def _look_alikes(model_path, modified_time, _predictor):
    # model_path and modified_time are the cache key: a re-saved model gets fresh features.
    return LookAlikes(_predictor.model, *load_test_set())


@st.cache_data(max_entries=64, show_spinner=False)
def _saliency(image, model_path, modified_time, _predictor):
    return occlusion_saliency(image, _predictor)


def _model_key(model_path):
    path = Path(model_path or active_model_path())
    return str(path), path.stat().st_mtime


def _opened(label, key):
    """An expander whose content runs only while it is open."""
    expander = st.expander(label, key=key, on_change="rerun")
    return expander, expander.open


def explain_ui(image, predictor, *, canvas=None, model_path=None, test_index=None, compare_with=None, key="explain"):
    """Explain how ``predictor`` reads ``image`` (28x28, uint8 or float in [0, 1]).

    ``canvas``: the RGBA drawing the image came from (adds "the way in"); ``model_path``: the
    ``.keras`` file of ``predictor`` (default: the visitor's active model), which keys the cached
    test-set features; ``test_index``: the image's index in the test set, left out of its look-alikes;
    ``compare_with``: the digit whose saliency is shown next to the answer's at first (default: the runner-up).
    """
    image = as_float_image(image)
    model = _model_key(model_path)
    st.subheader("Why this answer?")
    if canvas is not None:
        expander, is_open = _opened("The way in: from your drawing to the 28 × 28 the network sees", f"{key}-way-in")
        if is_open:
            with expander:
                _way_in(canvas, image)
    expander, is_open = _opened("What if…? Shift, rotate, scale, thicken, add noise", f"{key}-what-if")
    if is_open:
        with expander:
            _what_if_fragment(image, predictor, key)
    expander, is_open = _opened("Where it looked: the pixels the answer depends on", f"{key}-saliency")
    if is_open:
        with expander:
            _saliency_fragment(image, predictor, model, compare_with, key)
    expander, is_open = _opened("Look-alikes: the most similar test digits, as the network sees them", f"{key}-look-alikes")
    if is_open:
        with expander:
            _look_alikes_part(image, predictor, model, test_index)


def _way_in(canvas, image):
    steps = canvas_to_mnist_steps(canvas)
    if steps is None or not np.array_equal(steps.frame, image):
        st.info("The drawing changed; draw again to see its way in.")
        return
    tiles, captions = zip(*steps_strip(steps, TILE), strict=True)
    st.image(list(tiles), caption=list(captions), width=TILE, alt=[""] * len(tiles))  # the captions say it
    st.caption(
        "MNIST's digits were made this way: the ink's bounding box scaled into 20 × 20 pixels (your pen "
        "brought to MNIST's stroke width first), then placed in a 28 × 28 frame with its centre of mass in the middle."
    )


def _slider_key(key, name):
    return f"{key}-what-if-{name}"


def _reset_sliders(key):
    for name, slider in WHAT_IF_SLIDERS.items():
        st.session_state[_slider_key(key, name)] = slider.rest


@st.fragment
def _what_if_fragment(image, predictor, key):
    reading, chart, sliders = st.container(key=f"{key}-what-if-reading"), st.container(), st.columns(2)
    values = {}
    for number, (name, slider) in enumerate(WHAT_IF_SLIDERS.items()):
        values[name] = sliders[number * 2 // len(WHAT_IF_SLIDERS)].slider(  # stacks in order on a phone
            f"{slider.label} ({slider.unit})" if slider.unit else slider.label,
            min_value=slider.minimum,
            max_value=slider.maximum,
            value=slider.rest,
            step=slider.step,
            format=slider.format,
            key=_slider_key(key, name),
        )
    st.button("Reset the sliders", on_click=_reset_sliders, args=(key,), key=f"{key}-what-if-reset")
    changed = what_if(image, WhatIf(**values))
    original, now = predictor.probabilities(np.stack([image, changed]))
    was_digit, top_three = int(original.argmax()), np.argsort(-now)[:3]
    verdict = "still" if top_three[0] == was_digit else "now"
    with reading.container(horizontal=True, vertical_alignment="center", wrap=False):
        st.image(enlarge(changed, 3), width=84, alt="the changed digit")
        st.markdown(
            f"Was **{was_digit}** ({original[was_digit]:.0%}); {verdict} **{top_three[0]}** ({now[top_three[0]]:.0%})  \n"
            + ", ".join(f"then {digit} ({now[digit]:.0%})" for digit in top_three[1:])
        )
    chart.plotly_chart(probability_bar_chart(now, height=220), config={"displayModeBar": False}, key=f"{key}-what-if-chart")
    use_styles("explain")  # the changed image and its reading stay in view while the sliders scroll


@st.fragment
def _saliency_fragment(image, predictor, model, compare_with, key):
    saliency = _saliency(image, *model, predictor)
    probabilities = predictor.probabilities(image)[0]
    predicted = int(probabilities.argmax())
    runner_up = int(np.argsort(probabilities)[-2])
    maps, words = st.columns([1, 1], gap="large")
    with words:
        other = st.selectbox(
            "Compare with digit",
            range(10),
            index=runner_up if compare_with is None else int(compare_with),
            key=f"{key}-saliency-other-{hashlib.blake2b(image.tobytes(), digest_size=6).hexdigest()}",  # a new image starts afresh
            help="At first the runner-up (the digit the network found next most likely) or the true digit.",
        )
        st.caption(
            "We covered the image one 5 × 5 square at a time and watched the probabilities. "
            "**Red**: covering it lowers the digit's probability (the network relies on it); "
            "**blue**: covering it raises it (it speaks against the digit). Dark: no effect. "
            "A digit the network is sure of may light up only where one patch can change its mind."
        )
    maps.image(
        [saliency_overlay(image, saliency[predicted], TILE // 28), saliency_overlay(image, saliency[other], TILE // 28)],
        caption=[f"for {predicted} ({probabilities[predicted]:.0%}), the answer", f"for {other} ({probabilities[other]:.0%})"],
        width=TILE, alt=["", ""],  # the captions say it
    )


def _look_alikes_part(image, predictor, model, test_index):
    look_alikes = _look_alikes(*model, predictor)
    indices, similarities = look_alikes.nearest(image, exclude=test_index)
    test_images, labels = load_test_set()
    st.image(
        [enlarge(test_images[index], TILE // 28) for index in indices],
        caption=[f"a {labels[index]} (test #{index})" for index in indices],
        width=TILE, alt=[""] * len(indices),  # the captions say it
    )
    st.caption(
        "The six test digits whose activations in the network's last hidden layer are closest to this "
        "image's (cosine similarity): the digits it resembles as far as the network is concerned."
    )
