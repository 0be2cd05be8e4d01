"""The visitor's active model: the bundled one by default, or a saved run chosen on the Train page.

The choice lives in ``st.session_state`` so one visitor's choice never changes another's; loaded
models are shared by everyone through ``st.cache_resource``. Importing this module imports no
TensorFlow: the first model loaded does (see ui.server_tuning.import_tensorflow).
"""
from pathlib import Path

import streamlit as st

from mnist_cnn.paths import BUNDLED_MODEL_PATH
from mnist_cnn.precomputed import shipped_test_probabilities
from ui.server_tuning import import_tensorflow

ACTIVE_MODEL_KEY = "active_model_path"


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _load_predictor(model_path, modified_time):
    # modified_time is part of the cache key: a re-saved file is loaded afresh.
    import_tensorflow()  # the first model after a server start waits for TensorFlow's import
    from mnist_cnn.model import load_model
    from mnist_cnn.predict import Predictor

    return Predictor(load_model(model_path))


def predictor_for(model_path):
    """A cached :class:`Predictor` for a ``.keras`` file."""
    model_path = Path(model_path)
    return _load_predictor(str(model_path), model_path.stat().st_mtime)


def active_model_path():
    """The ``.keras`` file of the visitor's active model.

    A chosen model that can no longer be loaded (deleted, corrupted) is dropped with a warning,
    and the visitor is back on the bundled model.
    """
    chosen = st.session_state.get(ACTIVE_MODEL_KEY)
    if chosen:
        import_tensorflow()
        from mnist_cnn.model import ModelFileError

        try:
            predictor_for(chosen)  # cached: loads once, and proves the file is usable
            return Path(chosen)
        except (ModelFileError, OSError) as error:
            st.session_state[ACTIVE_MODEL_KEY] = None
            st.warning(f"The chosen model cannot be used any more ({error}). Back to the bundled model.")
    return BUNDLED_MODEL_PATH


def set_active_model_path(model_path):
    """Make ``model_path`` (or the bundled model, for ``None``) this visitor's active model."""
    st.session_state[ACTIVE_MODEL_KEY] = None if model_path is None else str(model_path)


def active_model_label():
    path = active_model_path()
    return "the bundled tutorial model" if path == BUNDLED_MODEL_PATH else f"run {path.parent.name}"


def active_predictor():
    """The visitor's active model as a cached :class:`Predictor`."""
    return predictor_for(active_model_path())


@st.cache_data(max_entries=8, show_spinner="Scoring the 10,000 test digits…")
def _test_set_probabilities(model_path, modified_time):
    from mnist_cnn.data import load_test_set

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
    from mnist_cnn.features import FeatureMaps

    return FeatureMaps(predictor_for(model_path).model)


def active_feature_maps():
    """The visitor's active model's :class:`~mnist_cnn.features.FeatureMaps`, cached."""
    model_path = active_model_path()
    return _load_feature_maps(str(model_path), model_path.stat().st_mtime)
