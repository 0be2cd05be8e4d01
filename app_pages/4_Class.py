"""Class: the digits our class gave on the Draw page, and how well the network reads us."""
import numpy as np
import streamlit as st

from mnist_cnn.class_set import ClassSetUnavailableError, csv_text, npz_bytes
from mnist_cnn.data import load_test_set
from mnist_cnn.display import enlarge
from mnist_cnn.figures import confusion_matrix_figure, label_counts_figure
from mnist_cnn.mistakes import confusion_matrix, find_mistakes, page_bounds
from ui.active_model import active_model_label, active_predictor, test_set_probabilities
from ui.class_set import class_set
from ui.presenter import presenter_mode
from ui.quiz import quiz_ui
from ui.teacher import teacher_rights

st.set_page_config(page_title="Class · MNIST CNN Studio", page_icon="🧑‍🏫", layout="wide")
quiz_ui()  # first: a student's phone shows the quiz without scrolling
if presenter_mode():
    st.stop()

PAGE_SIZE = 24
GALLERY_TILE_WIDTH = 96  # px: three tiles a row on a 360 px phone


def delete_digit(digit_id):
    if not teacher_rights():  # checked again: only a teacher's page shows the button
        return
    try:
        class_set().delete(digit_id)
    except ClassSetUnavailableError as error:
        st.session_state["class_action_error"] = str(error)


def clear_class_set():
    if not teacher_rights():
        return
    try:
        st.session_state["class_action_message"] = f"Deleted all {class_set().clear()} digits of the class set."
    except ClassSetUnavailableError as error:
        st.session_state["class_action_error"] = str(error)
    st.session_state["confirm_clear"] = False


def digit_tile(image, caption):
    """A small fixed-width tile: galleries of tiles wrap to the screen (three a row on a phone)."""
    tile = st.container(width=GALLERY_TILE_WIDTH, gap="small")
    tile.image(enlarge(image, 4), caption=caption, width="stretch", alt="")  # the caption says it
    return tile


def gallery(indices, digits, predictions, confidences, key, deletable):
    """One page of digits with the label meant and the network's reading (and a delete button)."""
    start, stop, page, page_count = page_bounds(len(indices), st.session_state.get(key, 1), PAGE_SIZE)
    st.session_state[key] = page
    if page_count > 1:
        st.number_input(f"Page (of {page_count})", min_value=1, max_value=page_count, step=1, key=key)
    with st.container(horizontal=True, wrap=True, key=f"{key}-tiles"):
        for position in range(start, stop):
            i = int(indices[position])
            digit_id = int(digits.ids[i])
            tile = digit_tile(digits.images[i], f"#{digit_id}: meant {digits.labels[i]}, read {predictions[i]} ({confidences[i]:.0%})")
            if deletable:
                tile.button("Delete", key=f"{key}-delete-{digit_id}", on_click=delete_digit, args=(digit_id,), width="stretch")


st.title("Our class's handwriting")
st.caption(
    "The digits this class gave on the Draw page, each with the digit its author meant. "
    f"The network reads MNIST very well; how well does it read us? Readings by {active_model_label()}."
)
for kind in ("error", "message"):
    text = st.session_state.pop(f"class_action_{kind}", None)
    if text:
        (st.error if kind == "error" else st.success)(text)

try:
    store = class_set()
    digits = store.digits()
except ClassSetUnavailableError as error:
    st.error(str(error).replace("Drawing still works; try giving the digit again", "Try again"))
    st.stop()

counts = np.bincount(digits.labels, minlength=10)
with st.container(key="class-counts"):
    st.markdown(
        f"**{len(digits):,} digit{'' if len(digits) == 1 else 's'}** in the class set · "
        + " · ".join(f"{digit}: {int(count)}" for digit, count in enumerate(counts))
    )
st.plotly_chart(label_counts_figure(counts), config={"displayModeBar": False}, key="class-count-chart")

if not len(digits):
    st.info("No digits yet. Draw a digit on the Draw page and tap the digit you meant to give it to the class set.")
    st.stop()

probabilities = active_predictor().probabilities(digits.images)
predictions = probabilities.argmax(axis=1)
confidences = probabilities[np.arange(len(digits)), predictions]
class_correct = int((predictions == digits.labels).sum())
_, test_labels = load_test_set()
test_correct = int((test_set_probabilities().argmax(axis=1) == test_labels).sum())

class_column, mnist_column, misread_column = st.columns(3)
class_column.metric("Accuracy on our class set", f"{class_correct / len(digits):.1%}", help=f"{class_correct} of {len(digits)} read right")
mnist_column.metric("Accuracy on MNIST's test set", f"{test_correct / len(test_labels):.2%}")
misread_column.metric("Our digits it misreads", f"{len(digits) - class_correct:,} of {len(digits):,}")

chart_column, mistakes_column = st.columns([3, 2])
with chart_column:
    st.subheader("Confusion matrix")
    st.caption("Rows are the digits we meant, columns what the network read.")
    st.plotly_chart(confusion_matrix_figure(confusion_matrix(digits.labels, predictions)), config={"displayModeBar": False})
with mistakes_column:
    st.subheader("Misread digits")
    mistakes = find_mistakes(digits.labels, probabilities)
    if not len(mistakes):
        st.write("None: the network reads every digit of ours correctly.")
    else:
        st.caption("Most confident mistakes first." + (" The first 12 of them." if len(mistakes) > 12 else ""))
        with st.container(horizontal=True, wrap=True):
            for i in mistakes.indices[:12]:
                digit_tile(digits.images[i], f"meant {digits.labels[i]}, read {predictions[i]} ({confidences[i]:.0%})")

teacher = teacher_rights()
st.subheader("All our digits")
st.caption("Newest first." + (" The teacher can delete a digit that should not be here." if teacher else ""))
gallery(np.arange(len(digits))[::-1], digits, predictions, confidences, key="class_gallery_page", deletable=teacher)

st.subheader("Export")  # files made on click, not on every run of the page
st.caption(
    "`class_digits.npz` has MNIST's layout: `x` (n, 28, 28) uint8 and `y` (n,) uint8. The CSV adds each digit's reading then. "
    f"The class set is kept in {store.location}."
)
npz_column, csv_column = st.columns(2)
npz_column.download_button(
    "Download class_digits.npz", lambda: npz_bytes(digits), file_name="class_digits.npz", mime="application/octet-stream",
    icon=":material/download:", on_click="ignore", width="stretch",
)
csv_column.download_button(
    "Download class_digits.csv", lambda: csv_text(digits), file_name="class_digits.csv", mime="text/csv",
    icon=":material/download:", on_click="ignore", width="stretch",
)

if teacher:
    with st.expander("Clear the class set"):
        st.checkbox(f"Yes, delete all {len(digits):,} digits of the class set for good", key="confirm_clear")
        st.button(
            "Clear the class set", type="primary", disabled=not st.session_state.get("confirm_clear"),
            on_click=clear_class_set, icon=":material/delete_forever:",
        )
