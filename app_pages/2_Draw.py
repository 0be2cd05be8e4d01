"""Draw: sketch a digit and see what the network sees and thinks."""
from types import SimpleNamespace

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnist_cnn.display import enlarge
from mnist_cnn.figures import probability_bar_chart
from mnist_cnn.preprocess import canvas_to_mnist
from mnist_cnn.reading import read_probabilities
from ui.active_model import active_feature_maps, active_model_label, active_predictor
from ui.class_set import give_to_class_ui

st.set_page_config(page_title="Draw · MNIST CNN Studio", page_icon="✏️", layout="wide")

CANVAS_SIZE = 280  # fits a 360 px phone screen with the page margins


st.title("Draw a digit")
st.caption(f"Predictions by {active_model_label()}. Draw one digit, 0 to 9; the toolbar above the canvas undoes and clears.")
# Loaded with the page, so the first drawing is answered at once; after the title, because the first
# model after a server start waits seconds for TensorFlow (a spinner shows meanwhile).
predictor = active_predictor()

canvas_column, result_column = st.columns([1, 1], gap="large")
with canvas_column:
    pen_width = st.slider("Pen width", min_value=8, max_value=40, value=20, step=2)
    canvas = st_canvas(
        stroke_width=pen_width,
        stroke_color="#ffffff",
        background_color="#000000",
        width=CANVAS_SIZE,
        height=CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        update_streamlit=True,
        key="sketch",
    )

try:
    digit_image = None if canvas.image_data is None else canvas_to_mnist(canvas.image_data)
except (TypeError, ValueError) as error:
    digit_image = None
    st.error(f"The canvas sent an image this page cannot read: {error}")

with result_column:
    with st.container(key="prediction"):
        if digit_image is None:
            st.info("Nothing drawn yet. Draw a digit on the canvas and lift the pen to see what the network thinks.")
        else:
            probabilities = predictor.probabilities(digit_image)[0]
            reading = read_probabilities(probabilities)
            if reading.confident:
                st.markdown(f"The network reads **{reading.digit}** with probability {reading.probability:.0%}.")
            else:
                st.warning(
                    f"Not sure: maybe {reading.digit} ({reading.probability:.0%}), "
                    f"maybe {reading.runner_up} ({reading.runner_up_probability:.0%})."
                )
            st.markdown(f'<p class="predicted-digit">{reading.digit}</p>', unsafe_allow_html=True)
    st.plotly_chart(
        probability_bar_chart(None if digit_image is None else probabilities),
        config={"displayModeBar": False},
        key="probabilities",
    )
    # Until issue 13's read_drawing lands, the only verdicts here are "blank" and "digit".
    drawing = SimpleNamespace(
        verdict="blank" if digit_image is None else "digit",
        image=digit_image,
        probabilities=None if digit_image is None else probabilities,
    )
    give_to_class_ui(drawing, active_model_label())

st.html(
    "<style>.st-key-prediction .predicted-digit{font-size:6rem;font-weight:700;line-height:1;margin:0}</style>"
)

if digit_image is not None:
    seen_column, features_column = st.columns([1, 2], gap="large")
    with seen_column:
        st.subheader("What the network sees")
        st.image(enlarge(digit_image, 8), caption="28 × 28 pixels, centred like an MNIST digit")
    feature_maps = features_column.expander("Feature maps of the convolution layers", key="feature-maps", on_change="rerun")
    if feature_maps.open:  # computed only for visitors who open it: a class draws many digits at once
        from mnist_cnn.features import feature_mosaic

        for layer_name, maps in active_feature_maps()(digit_image).items():
            feature_maps.markdown(f"**{layer_name}**: {maps.shape[-1]} filters, {maps.shape[0]} × {maps.shape[1]} each")
            scale = 4 if maps.shape[0] > 12 else 12
            feature_maps.image(enlarge(feature_mosaic(maps), scale))
    from ui.explain import explain_ui  # imports TensorFlow: after the page's title and model

    explain_ui(digit_image, predictor, canvas=canvas.image_data, key="draw")
