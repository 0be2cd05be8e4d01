"""The visitor's active model: their own choice, else the class model, else the bundled one.

The visitor's choice lives in ``st.session_state`` so one visitor's choice never changes another's;
the class model (chosen by the teacher on the Train page) lives in the runs folder, shared by all.
Loaded models are shared by everyone through ``st.cache_resource``. Importing this module imports no
TensorFlow: the first model loaded does (see ui.server_tuning.import_tensorflow).
"""
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from classroom.runs import run_in_words
from mnist_cnn.data import load_test_set
from mnist_cnn.paths import BUNDLED_MODEL_PATH
from mnist_cnn.precomputed import shipped_test_probabilities
from ui.class_model import chosen_by, current_class_model
from ui.server_tuning import import_tensorflow

ACTIVE_MODEL_KEY = "active_model_path"


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _load_predictor(model_path, modified_time):
    # modified_time is part of the cache key: a re-saved file is loaded afresh.
    import_tensorflow()  # the first model after a server start waits for TensorFlow's import
    from mnist_cnn.model import load_model  # imports TensorFlow
    from mnist_cnn.predict import Predictor

    return Predictor(load_model(model_path))


def predictor_for(model_path):
    """A cached :class:`Predictor` for a ``.keras`` file."""
    model_path = Path(model_path)
    return _load_predictor(str(model_path), model_path.stat().st_mtime)


@dataclass(frozen=True)
class ActiveModel:
    """The model a visitor's pages use, and why (empty for the bundled model by default)."""

    path: Path
    why: str = ""

    @property
    def name(self):
        return "the bundled tutorial model" if self.path == BUNDLED_MODEL_PATH else run_in_words(self.path.parent)

    @property
    def label(self):
        return f"{self.name} ({self.why})" if self.why else self.name


def _usable(model_path):
    """None when the model loads (cached: once), else why not."""
    import_tensorflow()
    from mnist_cnn.model import ModelFileError  # imports TensorFlow

    try:
        predictor_for(model_path)
        return None
    except (ModelFileError, OSError) as error:
        return str(error)


def active_model():
    """The visitor's :class:`ActiveModel`: their own choice > the class model > the bundled model.

    A model that can no longer be loaded (deleted, corrupted) is passed over with a note: a chosen one
    is dropped with a warning, a class model says so in ``why``. No choice and no class model: no TensorFlow.
    """
    chosen = st.session_state.get(ACTIVE_MODEL_KEY)
    if chosen:
        problem = _usable(chosen)
        if problem is None:
            return ActiveModel(Path(chosen), "your own choice")
        st.session_state[ACTIVE_MODEL_KEY] = None
        fallback = active_model()
        st.warning(f"The model you chose cannot be used any more ({problem}). Back to {fallback.label}.")
        return fallback
    class_model = current_class_model()
    problem = class_model.problem
    if class_model.model_path is not None:
        problem = _usable(class_model.model_path)
        if problem is None:
            return ActiveModel(class_model.model_path, chosen_by())
        problem = f"the class model, {run_in_words(class_model.model_path.parent)}, cannot be loaded ({problem})"
    return ActiveModel(BUNDLED_MODEL_PATH, f"{problem}, so the bundled one is used" if problem else "")


def active_model_path():
    """The ``.keras`` file of the visitor's active model (see :func:`active_model`)."""
    return active_model().path


def set_active_model_path(model_path):
    """Make ``model_path`` this visitor's own choice; ``None`` follows the class model (or the bundled one)."""
    st.session_state[ACTIVE_MODEL_KEY] = None if model_path is None else str(model_path)


def active_model_label():
    """The active model and why it is the one, e.g. "run X (the class model chosen by the teacher)"."""
    return active_model().label


def active_predictor():
    """The visitor's active model as a cached :class:`Predictor`."""
    return predictor_for(active_model_path())


@st.cache_data(max_entries=8, show_spinner="Scoring the 10,000 test digits…")
def _test_set_probabilities(model_path, modified_time):
    images, _ = load_test_set()
    return predictor_for(model_path).probabilities(images)


@st.cache_resource(max_entries=1, show_spinner=False)
def _shipped_test_probabilities(modified_time):
    return shipped_test_probabilities()


def test_set_probabilities(model_path=None):
    """(10000, 10) probabilities of a model (default: the active one) on the bundled test set, cached.

    The bundled model's ship in ``assets/`` (read without TensorFlow); any other model is scored.
    """
    model_path = Path(model_path or active_model_path())
    modified_time = model_path.stat().st_mtime
    if model_path == BUNDLED_MODEL_PATH:
        shipped = _shipped_test_probabilities(modified_time)
        if shipped is not None:
            return shipped
    return _test_set_probabilities(str(model_path), modified_time)


@st.cache_resource(max_entries=4)
def _load_feature_maps(model_path, modified_time):
    from mnist_cnn.features import FeatureMaps  # imports TensorFlow

    return FeatureMaps(predictor_for(model_path).model)


def active_feature_maps():
    """The visitor's active model's :class:`~mnist_cnn.features.FeatureMaps`, cached."""
    model_path = active_model_path()
    return _load_feature_maps(str(model_path), model_path.stat().st_mtime)
