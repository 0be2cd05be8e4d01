"""Mistakes: browse the test digits the active model gets wrong."""
import numpy as np
import streamlit as st

from mnist_cnn.data import load_test_set
from mnist_cnn.display import enlarge
from mnist_cnn.figures import confusion_matrix_figure, probability_bar_chart, selected_cell
from mnist_cnn.mistakes import SORT_ORDERS, confusion_matrix, find_mistakes, most_confused_pairs, page_bounds
from ui.active_model import active_model_label, active_predictor, test_set_probabilities

st.set_page_config(page_title="Mistakes · MNIST CNN Studio", page_icon="🔍", layout="wide")

PAGE_SIZE = 24
GALLERY_COLUMNS = 6
DIGIT_CHOICES = [None, *range(10)]


def filter_by_clicked_cell():
    cell = selected_cell(st.session_state["confusion_chart"].selection.points)
    if cell is not None:
        st.session_state["true_filter"], st.session_state["predicted_filter"] = cell
        st.session_state["gallery_page"] = 1


def clear_filters():
    st.session_state["true_filter"] = st.session_state["predicted_filter"] = None
    st.session_state["gallery_page"] = 1


def first_page():
    st.session_state["gallery_page"] = 1


st.title("Mistakes")
st.caption(f"The 10,000 MNIST test digits as seen by {active_model_label()}.")

images, labels = load_test_set()
probabilities = test_set_probabilities()
confusion = confusion_matrix(labels, probabilities.argmax(axis=1))
correct = int(np.trace(confusion))

accuracy_column, mistakes_column = st.columns(2)
accuracy_column.metric("Test accuracy", f"{correct / len(labels):.2%}")
mistakes_column.metric("Mistakes", f"{len(labels) - correct:,} of {len(labels):,}")

chart_column, pairs_column = st.columns([3, 2])
with chart_column:
    st.subheader("Confusion matrix")
    st.caption("Rows are true digits, columns predictions. Click a red cell to show those mistakes.")
    st.plotly_chart(
        confusion_matrix_figure(confusion),
        key="confusion_chart",
        on_select=filter_by_clicked_cell,
        selection_mode="points",
        config={"displayModeBar": False},
    )
with pairs_column:
    st.subheader("Most confused pairs")
    pairs = most_confused_pairs(confusion, top=8)
    if pairs:
        st.dataframe(pairs, hide_index=True, width="stretch")
    else:
        st.write("No mistakes at all.")

st.subheader("Gallery")
true_column, predicted_column, order_column, clear_column = st.columns([2, 2, 3, 1.2], vertical_alignment="bottom")
true_digit = true_column.selectbox(
    "True digit", DIGIT_CHOICES, key="true_filter", format_func=lambda d: "any" if d is None else str(d), on_change=first_page
)
predicted_digit = predicted_column.selectbox(
    "Predicted digit", DIGIT_CHOICES, key="predicted_filter", format_func=lambda d: "any" if d is None else str(d), on_change=first_page
)
order = order_column.selectbox("Sort", SORT_ORDERS, key="gallery_order", on_change=first_page)
clear_column.button("Clear", on_click=clear_filters, width="stretch")

mistakes = find_mistakes(labels, probabilities, true_digit, predicted_digit, order)
with st.container(key="mistake-count"):
    described = " ".join(
        part
        for part in (
            "" if true_digit is None else f"of true digit {true_digit}",
            "" if predicted_digit is None else f"predicted as {predicted_digit}",
        )
        if part
    )
    st.markdown(f"**{len(mistakes)}** mistakes {described}".strip())

if not len(mistakes):
    st.info("No mistakes match this filter: the model reads all of these digits correctly.")
else:
    start, stop, page, page_count = page_bounds(len(mistakes), st.session_state.get("gallery_page", 1), PAGE_SIZE)
    st.session_state["gallery_page"] = page
    if page_count > 1:
        st.number_input(f"Page (of {page_count})", min_value=1, max_value=page_count, step=1, key="gallery_page")
    columns = st.columns(GALLERY_COLUMNS)
    for position in range(start, stop):
        index = int(mistakes.indices[position])
        with columns[(position - start) % GALLERY_COLUMNS]:
            st.image(
                enlarge(images[index], 3),
                caption=f"#{index}: {mistakes.true_digits[position]} read as "
                f"{mistakes.predicted_digits[position]} ({mistakes.confidences[position]:.1%})",
            )
            if st.button("Inspect", key=f"inspect-{index}", width="stretch"):
                st.session_state["inspected_digit"] = index

inspected = st.session_state.get("inspected_digit")
if inspected is not None:
    st.subheader(f"Test digit #{inspected}")
    image_column, probabilities_column = st.columns([1, 2])
    image_column.image(enlarge(images[inspected], 8), caption=f"true label {labels[inspected]}")
    with probabilities_column:
        predicted = int(probabilities[inspected].argmax())
        st.markdown(f"Predicted **{predicted}** with probability {probabilities[inspected][predicted]:.1%}.")
        st.plotly_chart(probability_bar_chart(probabilities[inspected]), config={"displayModeBar": False})
    predictor = active_predictor()  # the first model after a server start loads TensorFlow, behind a spinner
    from ui.explain import explain_ui  # imports TensorFlow too: only once a digit is inspected

    explain_ui(images[inspected], predictor, test_index=inspected, compare_with=labels[inspected], key="mistake")
