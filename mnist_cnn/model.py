"""Building, saving and loading models."""
import functools
import json
import os
import tempfile
from pathlib import Path

import keras

from mnist_cnn.paths import BUNDLED_MODEL_PATH
from mnist_cnn.presets import DEFAULT_PRESET, INPUT_SHAPE, get_preset
from mnist_cnn.run_folder import METRICS_FILE

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
}
OPTIMIZER_TITLES = {name: optimizer_class.__name__ for name, optimizer_class in OPTIMIZERS.items()}  # Adam, SGD, RMSprop
# Every model takes raw 0-255 pixels; this first layer scales them as the model was trained.
INPUT_SCALING_LAYER = "input_scaling"
MAX_MODEL_FILE_BYTES = 50 * 1024 * 1024


class ModelFileError(ValueError):
    """A model file is missing, unreadable, too large or not an MNIST classifier."""


def make_optimizer(name, learning_rate, decay_steps=None, warmup_fraction=0.0):
    """An optimizer by name; with ``decay_steps`` its learning rate anneals (cosine) to 1% over that many
    steps, after rising linearly from a tenth of ``learning_rate`` over their first ``warmup_fraction``."""
    try:
        optimizer_class = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"Unknown optimizer {name!r}: expected one of {sorted(OPTIMIZERS)}.") from None
    warmup_steps = int(decay_steps * warmup_fraction) if decay_steps else 0
    if warmup_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(
            learning_rate / 10, decay_steps - warmup_steps, alpha=0.01, warmup_target=learning_rate, warmup_steps=warmup_steps
        )
    elif decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.01)
    return optimizer_class(learning_rate=learning_rate)


def _input_scaling(scale_pixels):
    return keras.layers.Rescaling(1 / 255 if scale_pixels else 1.0, name=INPUT_SCALING_LAYER)


def with_input_scaling(network, scale_pixels=True):
    """``network`` (a Sequential model, weights and layer names kept) behind a Rescaling layer:
    1/255 when it expects [0, 1] pixels, else 1.0."""
    joined = keras.Sequential([keras.Input(shape=INPUT_SHAPE), _input_scaling(scale_pixels), *network.layers], name=network.name)
    # Fresh layers from the config: a reused layer's .output would still belong to the old model (FeatureMaps uses it).
    model = keras.Sequential.from_config(joined.get_config())
    model.set_weights(joined.get_weights())
    return model


def build_model(preset=DEFAULT_PRESET, optimizer=None, learning_rate=None, decay_steps=None, scale_pixels=True):
    """The preset's network for raw 0-255 pixels, compiled with categorical cross-entropy and accuracy.

    ``optimizer`` and ``learning_rate`` default to the preset's; ``decay_steps`` (the run's total
    batches) enables the cosine decay of presets that use it; ``scale_pixels=False`` is the tutorial's bug.
    """
    spec = get_preset(preset)
    model = with_input_scaling(spec.build(), scale_pixels)
    model.compile(
        optimizer=make_optimizer(
            optimizer or spec.optimizer,
            learning_rate or spec.learning_rate,
            decay_steps=decay_steps if spec.cosine_decay else None,
            warmup_fraction=spec.warmup_fraction,
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
    if not any(layer.name == INPUT_SCALING_LAYER for layer in model.layers):
        model = _add_input_scaling(model, _run_scaled_pixels(path.parent))
    return model


def _run_scaled_pixels(run_dir):
    """Whether the run in ``run_dir`` trained on [0, 1] pixels (assumed, unless its metrics.json says not)."""
    try:
        config = json.loads((run_dir / METRICS_FILE).read_text()).get("config", {})
    except (OSError, ValueError, AttributeError):
        return True
    return config.get("scale_pixels", True) is not False


def _add_input_scaling(model, scale_pixels):
    # Models saved before the scaling layer existed (the bundled one too) expect pre-scaled input.
    if isinstance(model, keras.Sequential):
        return with_input_scaling(model, scale_pixels)
    inputs = keras.Input(shape=INPUT_SHAPE)
    return keras.Model(inputs, model(_input_scaling(scale_pixels)(inputs)), name=model.name)


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
