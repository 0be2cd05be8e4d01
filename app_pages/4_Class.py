"""Class: the digits our class gave on the Draw page, and how well the network reads us."""
from datetime import UTC, datetime

import numpy as np
import streamlit as st

from classroom.class_set import DEFAULT_ROOM, UNDO_SECONDS, ClassSetUnavailableError, by_student, csv_text, npz_bytes
from mnist_cnn.data import load_test_set
from mnist_cnn.display import enlarge
from mnist_cnn.evaluation import wilson_interval
from mnist_cnn.figures import confusion_matrix_figure, label_counts_figure
from mnist_cnn.mistakes import confusion_matrix, find_mistakes, page_bounds
from ui.active_model import active_model_label, active_predictor, test_set_probabilities
from ui.class_set import class_set
from ui.identity import current_room
from ui.presenter import presenter_mode
from ui.quiz import quiz_ui
from ui.rooms import taught_classes_ui
from ui.teacher import digits_per_student_ui, teacher_rights

st.set_page_config(page_title="Class · MNIST CNN Studio", layout="wide")
quiz_ui()  # first: a student's phone shows the quiz without scrolling
if presenter_mode():
    st.stop()

PAGE_SIZE = 24
GALLERY_TILE_WIDTH = 96  # px: three tiles a row on a 360 px phone
SELECT_KEY = "{gallery}-select-{digit_id}"  # a gallery tile's checkbox
STUDENTS_KEY = "class-students"  # the table of students; a revision in the key clears its selection
UNDO_KEY = "class_undo"  # (deletion id, what was deleted, when, where): the last deletion, undoable for a minute


def delete(what, action, place):
    """Run a deletion of the class set (``action``: a ClassSet method's call) for the teacher, undoable for a
    minute; its Undo shows at ``place`` (see :func:`undo_ui`), beside the button the teacher tapped."""
    if not teacher_rights():  # checked again: only a teacher's page shows the buttons
        return
    try:
        deletion = action(class_set())
    except ClassSetUnavailableError as error:
        st.session_state["class_action_error"] = str(error)
        return
    text = f"Deleted {deletion.count} digit{'' if deletion.count == 1 else 's'} {what}."
    st.session_state[UNDO_KEY] = (deletion.id, text, deletion.deleted_at, place)
    st.session_state[f"{STUDENTS_KEY}-revision"] = st.session_state.get(f"{STUDENTS_KEY}-revision", 0) + 1
    st.session_state["confirm_clear"] = False


def delete_selected_digits(gallery_key, digit_ids):
    chosen = [digit_id for digit_id in digit_ids if st.session_state.get(SELECT_KEY.format(gallery=gallery_key, digit_id=digit_id))]
    for digit_id in chosen:
        st.session_state[SELECT_KEY.format(gallery=gallery_key, digit_id=digit_id)] = False
    delete("selected in the gallery", lambda store: store.delete_digits(chosen), "gallery")


def undo_deletion():
    last = st.session_state.pop(UNDO_KEY, None)
    if last is None or not teacher_rights():  # a second tap on Undo; a teacher who locked or whose class ended since
        return
    deletion_id = last[0]
    try:
        restored = class_set().undo(deletion_id)
    except ClassSetUnavailableError as error:
        st.session_state["class_action_error"] = str(error)
        return
    if restored:
        st.session_state["class_action_message"] = f"Undone: {restored} digit{'' if restored == 1 else 's'} back in the class set."
    else:
        st.session_state["class_action_error"] = f"Too late to undo: deleted digits are kept for {UNDO_SECONDS} s only."


def undo_ui(place):
    """The last deletion's message with an Undo button, for UNDO_SECONDS, if it was made at ``place``
    ("students", "gallery", or "top" for Clear, which leaves nothing further down)."""
    last = st.session_state.get(UNDO_KEY)
    if last is None or last[3] != place or not teacher_rights():  # the rights may have gone since the deletion
        return
    _, text, deleted_at, _ = last
    left = UNDO_SECONDS - (datetime.now(UTC) - deleted_at).total_seconds()
    if left <= 0:
        st.session_state.pop(UNDO_KEY)
        return
    with st.container(horizontal=True, vertical_alignment="center", key="class-undo"):  # Undo first: on a phone the text wraps below
        st.button("Undo", key="class-undo-button", on_click=undo_deletion, icon=":material/undo:", type="primary")
        st.success(f"{text} Undo within {left:.0f} s.", icon=":material/delete:")


def digit_tile(image, caption):
    """A small fixed-width tile: galleries of tiles wrap to the screen (three a row on a phone)."""
    tile = st.container(width=GALLERY_TILE_WIDTH, gap="small")
    tile.image(enlarge(image, 4), caption=caption, width="stretch", alt="")  # the caption says it
    return tile


def gallery(indices, digits, predictions, confidences, key, selectable):
    """One page of digits with the label meant and the network's reading (with a checkbox each for the teacher)."""
    start, stop, page, page_count = page_bounds(len(indices), st.session_state.get(key, 1), PAGE_SIZE)
    st.session_state[key] = page
    if page_count > 1:
        st.number_input(f"Page (of {page_count})", min_value=1, max_value=page_count, step=1, key=key)
    shown = [int(digits.ids[int(indices[position])]) for position in range(start, stop)]
    if selectable:
        undo_ui("gallery")
        chosen = sum(bool(st.session_state.get(SELECT_KEY.format(gallery=key, digit_id=digit_id))) for digit_id in shown)
        st.button(
            f"Delete the {chosen} selected digit{'' if chosen == 1 else 's'}", key=f"{key}-delete-selected", disabled=not chosen,
            on_click=delete_selected_digits, args=(key, shown), icon=":material/delete:",
        )
    with st.container(horizontal=True, wrap=True, key=f"{key}-tiles"):
        for position in range(start, stop):
            i = int(indices[position])
            digit_id = int(digits.ids[i])
            tile = digit_tile(digits.images[i], f"#{digit_id}: meant {digits.labels[i]}, read {predictions[i]} ({confidences[i]:.0%})")
            if selectable:
                tile.checkbox("Select", key=SELECT_KEY.format(gallery=key, digit_id=digit_id))


def pool_ui(teacher):
    """The teacher of a class room may add the digits of their other classes to this one."""
    if teacher and (room := current_room()) != DEFAULT_ROOM:
        taught_classes_ui(pool_into=room)


def short_id(student_id):
    return student_id[:8]


def students_ui(students):
    """The teacher's table of students (anonymous ids): select rows to see or delete their digits.
    Returns the students selected."""
    st.subheader("Digits by student")
    st.caption("Each row is one browser, by a random id (no names). Select students to see only their digits or delete them all.")
    revision = st.session_state.get(f"{STUDENTS_KEY}-revision", 0)
    table = st.dataframe(
        {
            "Student": [short_id(student.student_id) for student in students],
            "Digits": [len(student.indices) for student in students],
            "Read right": [f"{student.read_right / len(student.indices):.0%}" for student in students],
            "Meant": [" · ".join(f"{d}×{int(c)}" for d, c in enumerate(student.label_counts) if c) for student in students],
            "Last given": [student.last_given.strftime("%H:%M UTC") for student in students],
        },
        key=f"{STUDENTS_KEY}-{revision}", on_select="rerun", selection_mode="multi-row", hide_index=True, width="stretch",
    )
    undo_ui("students")  # where the teacher's finger is: between the table and the button just tapped
    selected = [students[row] for row in table.selection.rows if row < len(students)]
    count = sum(len(student.indices) for student in selected)
    ids = [student.student_id for student in selected]
    who = f"of {len(ids)} student{'' if len(ids) == 1 else 's'}"
    st.button(
        f"Delete the {count} digit{'' if count == 1 else 's'} of the selected students", key="class-delete-students",
        disabled=not selected, type="primary", icon=":material/group_remove:",
        on_click=delete, args=(who, lambda store: store.delete_students(ids), "students"),
    )
    digits_per_student_ui()  # below the table: the table's hover toolbar would cover its + and - on a phone
    return selected


st.title("Our class's handwriting")
st.caption(
    "The digits this class gave on the Draw page, each with the digit its author meant. "
    f"The network reads MNIST very well; how well does it read us? Readings by {active_model_label()}."
)
for kind in ("error", "message"):
    text = st.session_state.pop(f"class_action_{kind}", None)
    if text:
        (st.error if kind == "error" else st.success)(text)
undo_ui("top")

try:
    store = class_set()
    digits = store.digits()
except ClassSetUnavailableError as error:
    st.error(str(error))
    st.stop()

counts = np.bincount(digits.labels, minlength=10)
with st.container(key="class-counts"):
    st.markdown(
        f"**{len(digits):,} digit{'' if len(digits) == 1 else 's'}** in the class set · "
        + " · ".join(f"{digit}: {int(count)}" for digit, count in enumerate(counts))
    )
st.plotly_chart(label_counts_figure(counts), config={"displayModeBar": False}, key="class-count-chart")

teacher = teacher_rights()
if not len(digits):
    st.info("No digits yet. Draw a digit on the Draw page and tap the digit you meant to give it to the class set.")
    pool_ui(teacher)
    st.stop()

probabilities = active_predictor().probabilities(digits.images)
predictions = probabilities.argmax(axis=1)
confidences = probabilities[np.arange(len(digits)), predictions]
class_correct = int((predictions == digits.labels).sum())
_, test_labels = load_test_set()
test_correct = int((test_set_probabilities().argmax(axis=1) == test_labels).sum())

class_column, mnist_column, misread_column = st.columns(3)
low, high = wilson_interval(class_correct, len(digits))
class_column.metric(
    "Accuracy on our class set", f"{class_correct / len(digits):.1%}", f"95% interval {low:.0%} to {high:.0%}",
    delta_color="off", delta_arrow="off",
    help="Wilson's 95% confidence interval: with few digits the true accuracy could lie anywhere in it.",
)
few = " · too few digits to judge: read the interval, not the percentage" if high - low > 0.1 else ""
class_column.caption(f"{class_correct} of {len(digits)} digits read right{few}")
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

shown = np.arange(len(digits))[::-1]
if teacher:
    selected_students = students_ui(by_student(digits, predictions))
    if selected_students:
        shown = np.sort(np.concatenate([student.indices for student in selected_students]))[::-1]
st.subheader("All our digits" if len(shown) == len(digits) else f"The {len(shown)} digits of the selected students")
st.caption("Newest first." + (" The teacher can select digits that should not be here and delete them in one go." if teacher else ""))
gallery(shown, digits, predictions, confidences, key="class_gallery_page", selectable=teacher)

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

pool_ui(teacher)

if teacher:
    with st.expander("Clear the class set"):
        st.checkbox(f"Yes, delete all {len(digits):,} digits of the class set", key="confirm_clear")
        st.button(
            "Clear the class set", type="primary", disabled=not st.session_state.get("confirm_clear"),
            on_click=delete, args=("(the whole class set)", lambda store: store.clear(), "top"), icon=":material/delete_forever:",
        )
