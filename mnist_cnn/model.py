"""Building, saving and loading models."""
import functools
import os
import tempfile
from pathlib import Path

import keras

from mnist_cnn.paths import BUNDLED_MODEL_PATH
from mnist_cnn.presets import get_preset

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
}
MAX_MODEL_FILE_BYTES = 50 * 1024 * 1024


class ModelFileError(ValueError):
    """A model file is missing, unreadable, too large or not an MNIST classifier."""


def make_optimizer(name, learning_rate, decay_steps=None):
    """An optimizer by name; with ``decay_steps`` its learning rate anneals (cosine) to 1% over that many steps."""
    try:
        optimizer_class = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"Unknown optimizer {name!r}: expected one of {sorted(OPTIMIZERS)}.") from None
    if decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.01)
    return optimizer_class(learning_rate=learning_rate)


def build_model(preset="tutorial", optimizer=None, learning_rate=None, decay_steps=None):
    """The preset's network, compiled with categorical cross-entropy and accuracy.

    ``optimizer`` and ``learning_rate`` default to the preset's own (Adam, 0.001 for the tutorial).
    ``decay_steps`` (the run's total batches) enables the cosine decay of presets that use it.
    """
    spec = get_preset(preset)
    model = spec.build()
    model.compile(
        optimizer=make_optimizer(
            optimizer or spec.optimizer,
            learning_rate or spec.learning_rate,
            decay_steps=decay_steps if spec.cosine_decay else None,
        ),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def save_model_atomically(model, path):
    """Save weights and architecture only (no optimizer state), via a temp file and a rename."""
    path = Path(path)
    # from_config builds an uncompiled twin (clone_model would copy the optimizer along).
    inference_copy = type(model).from_config(model.get_config())
    inference_copy.set_weights(model.get_weights())
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".keras")
    os.close(handle)
    try:
        inference_copy.save(temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a model file is for everyone
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def load_model(path):
    """Load a ``.keras`` model in Keras's safe mode and check that it classifies 28x28 digits."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Expected a model file at {path}, but there is none.")
    size = path.stat().st_size
    if size > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(
            f"Expected a model file of at most {MAX_MODEL_FILE_BYTES // 2**20} MB, got {size / 2**20:.1f} MB."
        )
    if path.suffix != ".keras":
        raise ModelFileError(f"Expected a Keras v3 file ending in .keras, got {path.name!r}.")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds of error for a bad file
        raise ModelFileError(f"Could not read the model file {path.name}: {error}") from error
    input_shape = tuple(model.input_shape[1:])
    output_shape = tuple(model.output_shape[1:])
    if input_shape != (28, 28, 1) or output_shape != (10,):
        raise ModelFileError(
            f"Expected a model mapping (28, 28, 1) images to 10 probabilities, "
            f"got input {input_shape} and output {output_shape}."
        )
    return model


@functools.lru_cache(maxsize=1)
def load_bundled_model():
    """The pretrained tutorial model shipped in ``assets/`` (loaded once per process)."""
    return load_model(BUNDLED_MODEL_PATH)


def layer_table(model):
    """One row per layer: name, type, output shape and parameter count."""
    return [
        {
            "layer": layer.name,
            "type": type(layer).__name__,
            "output shape": " × ".join(str(size) for size in layer.output.shape[1:]),
            "parameters": layer.count_params(),
        }
        for layer in model.layers
    ]
