"""Draw: sketch a digit and see what the network sees and thinks."""
import streamlit as st

from mnist_cnn.display import enlarge
from ui.active_model import active_feature_maps, active_model_label, active_predictor
from ui.class_set import give_to_class_ui
from ui.digit_picker import digit_picker_ui
from ui.draw import CANVAS_SIZE, canvas_ui, probabilities_ui, reading_ui, verdict_ui

st.set_page_config(page_title="Draw · MNIST CNN Studio", layout="centered")

st.title("Draw a digit", anchor=False)
st.caption(f"Draw one digit, 0 to 9, with your finger or the mouse. Read by {active_model_label()}.")
# Loaded with the page, so the first drawing is answered at once; after the title, because the first
# model after a server start waits seconds for TensorFlow (a spinner shows meanwhile).
predictor = active_predictor()

canvas_column, result_column = st.columns([1, 1], gap="medium")
with canvas_column:
    drawing = canvas_ui()
with result_column:
    result = st.container()
    # The canvas's alternative (no pointer needed), below the verdict: a phone's first screen keeps canvas and verdict.
    picked = digit_picker_ui(CANVAS_SIZE)
    drawing = drawing if picked is None else picked
with result:
    reading = reading_ui(drawing, predictor)
    verdict_ui(reading)
    probabilities_ui(reading)
    if picked is None:
        give_to_class_ui(reading, active_model_label())
    else:
        st.caption("A test digit is not our handwriting: draw a digit to give it to the class set.")

if reading.image is not None:
    seen_column, features_column = st.columns([1, 1], gap="medium")
    with seen_column:
        st.subheader("What the network sees", anchor=False)
        st.image(enlarge(reading.image, 8), caption="28 × 28 pixels, centred like an MNIST digit", alt="your digit as the network sees it")
    feature_maps = features_column.expander("Feature maps of the convolution layers", key="feature-maps", on_change="rerun")
    if feature_maps.open:  # computed only for visitors who open it: a class draws many digits at once
        from mnist_cnn.features import feature_mosaic

        for layer_name, maps in active_feature_maps()(reading.image).items():
            feature_maps.markdown(f"**{layer_name}**: {maps.shape[-1]} filters, {maps.shape[0]} × {maps.shape[1]} each")
            scale = 4 if maps.shape[0] > 12 else 12
            feature_maps.image(enlarge(feature_mosaic(maps), scale), alt=f"the {maps.shape[-1]} feature maps of {layer_name}")
    from ui.explain import explain_ui  # imports TensorFlow: after the page's title and model

    explain_ui(reading.image, predictor, canvas=drawing, key="draw")
