"""The Mistakes page's parts: a tappable confusion matrix, the most confused pairs, the gallery
filters, the gallery of tiles, and the detail of one digit in a dialog.

Every tap target is at least 32 px on a 360 px phone, and the gallery shows three equal tiles per
row there (more on wider screens).
"""
import numpy as np
import streamlit as st

from mnist_cnn.display import enlarge
from mnist_cnn.figures import confusion_cells, probability_bar_chart
from mnist_cnn.mistakes import SORT_ORDERS, most_confused_pairs, page_bounds
from ui.active_model import active_model_label, active_predictor
from ui.page_styles import script, stylesheet, use_styles
from ui.quiz import quiz_this_button

ANY = "any"
DIGIT_CHOICES = [ANY, *range(10)]
PAGE_SIZE = 12  # four rows of three tiles on a phone, two rows of six on a desktop
GALLERY_COLUMNS = 6
TILE_MIN_WIDTH = 96  # three tiles per row fit a 360 px phone
TRUE_KEY, PREDICTED_KEY, ORDER_KEY, PAIR_KEY = "true_filter", "predicted_filter", "gallery_order", "chosen_pair"

# A grid of plain buttons (assets/styles/confusion-grid.css, assets/scripts/confusion-grid.js).
_confusion_grid = st.components.v2.component(
    "mnist_cnn_studio.confusion_grid", html="", css=stylesheet("confusion-grid"), js=script("confusion-grid")
)
_MATRIX_KEY = "confusion_grid"


def chosen_filters():
    """``(true digit, predicted digit)`` of the gallery filters, each an int or None for any."""
    values = (st.session_state.get(TRUE_KEY, ANY), st.session_state.get(PREDICTED_KEY, ANY))
    return tuple(None if value == ANY else value for value in values)


def _choose_cell(cell):
    st.session_state[TRUE_KEY], st.session_state[PREDICTED_KEY] = cell


def _on_matrix_tap():
    cell = st.session_state[_MATRIX_KEY].get("cell")
    if cell is not None:
        _choose_cell(tuple(cell))


def _on_pair_chosen():
    pair = st.session_state.get(PAIR_KEY)
    if pair is None:  # the chosen pair tapped again
        clear_filters()
    else:
        _choose_cell(pair)


def clear_filters():
    st.session_state[TRUE_KEY] = st.session_state[PREDICTED_KEY] = ANY


def confusion_matrix_ui(confusion):
    """The confusion matrix as a grid of buttons (at least 32 px each on a 360 px phone): tapping a
    cell sets both filters to it, and the chosen cell is outlined."""
    use_styles("mistakes")
    true_digit, predicted_digit = chosen_filters()
    chosen = None if true_digit is None or predicted_digit is None else [true_digit, predicted_digit]
    _confusion_grid(
        data={"rows": confusion_cells(confusion), "chosen": chosen},
        key=_MATRIX_KEY,
        on_cell_change=_on_matrix_tap,
        width="stretch",
    )


def confused_pairs_ui(confusion, top=8):
    """The pairs the model confuses most, as buttons that filter the gallery to that pair."""
    pairs = [(row["true digit"], row["predicted as"], row["mistakes"]) for row in most_confused_pairs(confusion, top=top)]
    if not pairs:
        st.write("No mistakes at all.")
        return
    counts = {(true_digit, predicted): count for true_digit, predicted, count in pairs}
    chosen = chosen_filters()
    st.session_state[PAIR_KEY] = chosen if chosen in counts else None  # follows the filters, however set
    with st.container(key="confused-pairs"):
        st.pills(
            "Most confused pairs (true → predicted, mistakes)",
            list(counts),
            format_func=lambda pair: f"{pair[0]} → {pair[1]}: {counts[pair]}",
            key=PAIR_KEY,
            on_change=_on_pair_chosen,
        )


def gallery_filters_ui():
    """True digit, predicted digit, sort order and Clear; returns ``(true, predicted, order)``."""
    with st.container(horizontal=True, key="gallery-filters", vertical_alignment="bottom", gap="small"):
        for label, key in (("True digit", TRUE_KEY), ("Predicted digit", PREDICTED_KEY)):
            st.selectbox(label, DIGIT_CHOICES, key=key, width=130)
        order = st.selectbox("Sort", SORT_ORDERS, key=ORDER_KEY, width=230)
        st.button("Clear", on_click=clear_filters, key="clear-filters", icon=":material/filter_alt_off:")
    true_digit, predicted_digit = chosen_filters()
    return true_digit, predicted_digit, order


def mistake_count_ui(mistakes, true_digit, predicted_digit):
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


def gallery_ui(images, mistakes):
    """One page of mistakes as equal tiles; returns the test-set index whose Inspect was tapped, or None."""
    if not len(mistakes):
        st.info("No mistakes match this filter: the model reads all of these digits correctly.")
        return None
    # One page widget per filter and count: a new filter starts on page 1 with no state to reset.
    page_key = "gallery-page-" + "-".join(map(str, (*chosen_filters(), st.session_state.get(ORDER_KEY), len(mistakes))))
    start, stop, page, page_count = page_bounds(len(mistakes), st.session_state.get(page_key, 1), PAGE_SIZE)
    inspected = None
    with st.grid(GALLERY_COLUMNS, min_column_width=TILE_MIN_WIDTH, gap="xsmall", key="gallery"):
        for position in range(start, stop):
            index = int(mistakes.indices[position])
            with st.container(key=f"tile-{index}", gap="xxsmall"):
                st.image(
                    enlarge(images[index], 4),
                    caption=f"#{index}: {mistakes.true_digits[position]} read as "
                    f"{mistakes.predicted_digits[position]} ({mistakes.confidences[position]:.0%})",
                    width="stretch", alt="",  # the caption says it
                )
                if st.button("Inspect", key=f"inspect-{index}", width="stretch"):
                    inspected = index
    if page_count > 1:
        st.pagination(page_count, key=page_key, max_visible_pages=5)
    return inspected


def digit_detail_ui(index, image, label, probabilities):
    """Test digit number ``index`` large, with its true label and the model's probabilities."""
    predicted = int(np.argmax(probabilities))
    image_column, words_column = st.columns([1, 2], vertical_alignment="center")
    image_column.image(enlarge(image, 8), alt=f"test digit #{index}, a handwritten {label}")
    words_column.markdown(f"True label **{label}**, read as **{predicted}** with probability {probabilities[predicted]:.1%}.")
    st.plotly_chart(probability_bar_chart(probabilities, height=220), config={"displayModeBar": False})
    quiz_this_button(image, probabilities, int(label), f"test digit #{index}", active_model_label(), key="quiz-this-mistake")
    predictor = active_predictor()  # the first model after a server start loads TensorFlow, behind a spinner
    from ui.explain import explain_ui  # imports TensorFlow too: only once a digit is inspected

    explain_ui(image, predictor, test_index=index, compare_with=label, key="mistake")


def inspect_dialog(index, image, label, probabilities):
    """The detail of one test digit in a dialog, opened over the page where the visitor tapped Inspect."""
    st.dialog(f"Test digit #{index}", width="medium")(digit_detail_ui)(index, image, label, probabilities)
