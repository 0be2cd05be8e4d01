"""The class model on the pages: the Train page's "Make this the class model" button and what it says."""
import streamlit as st

from classroom.class_model import ClassModel, class_model_name, read_class_model
from classroom.class_set import DEFAULT_ROOM, ClassSetUnavailableError
from classroom.runs import run_in_words
from mnist_cnn.paths import BUNDLED_RUN_DIR
from ui.identity import current_room
from ui.run_store import NOT_A_DATABASE, run_store
from ui.teacher import class_mode_on, teacher_rights

_ERROR_KEY = "class_model_error"


def current_class_model():
    """The class model of this browser's class room, the same on every server (a :class:`~classroom.class_model.ClassModel`)."""
    store = run_store()
    if store is None:
        return ClassModel(problem=NOT_A_DATABASE)
    try:
        return read_class_model(store.runs_root, store.class_model_name())
    except ClassSetUnavailableError as error:
        return ClassModel(problem=f"the class model's setting cannot be read ({error})")


def chosen_by():
    """Who chose the class model, in words for the pages."""
    return "the class model chosen by the teacher" if class_mode_on() or current_room() != DEFAULT_ROOM else "the class model"


def is_class_model(run, class_model=None):
    """Whether the saved ``run`` is what visitors who chose nothing get (the bundled run when none is set)."""
    class_model = class_model or current_class_model()
    if class_model.model_path is None:
        return run.path == BUNDLED_RUN_DIR
    return run.path.resolve() == class_model.model_path.parent.resolve()


def _make_class_model(run_path):
    if not teacher_rights():  # checked again: only a teacher's page shows the button
        st.session_state[_ERROR_KEY] = "Only the teacher can choose the class model."
        return
    if (store := run_store()) is None:
        st.session_state[_ERROR_KEY] = f"The class model was not changed: {NOT_A_DATABASE}"
        return
    try:
        store.set_class_model_name(class_model_name(store.runs_root, None if run_path == BUNDLED_RUN_DIR else run_path))
    except (ClassSetUnavailableError, ValueError) as error:
        st.session_state[_ERROR_KEY] = f"The class model was not changed: {error}"


def class_model_button_ui(run, container=None):
    """The "Make this the class model" button for a saved ``run`` with a model; shown to the teacher only.

    Returns whether the button was shown.
    """
    if error := st.session_state.pop(_ERROR_KEY, None):
        st.error(error)
    if not teacher_rights():
        return False
    (container or st).button(
        "Make this the class model", disabled=is_class_model(run), on_click=_make_class_model, args=(run.path,),
        help="Every visitor's Draw and Mistakes pages use it, unless they chose another model themselves.",
    )
    return True


def class_model_caption():
    """One line for the Train page: which run is the class model (or why none can be used)."""
    class_model = current_class_model()
    if class_model.model_path is not None:
        return (
            f"Class model: {run_in_words(class_model.model_path.parent)} ({chosen_by()}): Draw and Mistakes use it for "
            "every visitor who chose no other."
        )
    if class_model.problem:
        return f"No class model can be used: {class_model.problem}. Visitors who chose nothing get the bundled model."
    return "No class model is set: visitors who chose nothing get the bundled model."
