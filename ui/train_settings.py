"""The Train page's settings: a network, a recipe, and the form that adjusts them."""
import dataclasses

import streamlit as st

from mnist_cnn.model import OPTIMIZER_TITLES, OPTIMIZERS
from mnist_cnn.presets import PRESETS, SETTING_RECIPES
from mnist_cnn.training import BOUNDS, MIN_CLASS_DIGITS, TrainingConfig

BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]


def settings_form_ui(disabled_reason="", class_digits=None, recipe=None):
    """The settings widgets; the chosen :class:`TrainingConfig` when "Start training" is pressed, else None.

    ``class_digits``: how many digits the class set has (None when its database cannot be reached),
    for the "train on us" choice; ``recipe``: the settings chosen first (a key of SETTING_RECIPES; default the first).
    The config is not validated here: the run manager validates it when it starts the run. A
    ``disabled_reason`` disables "Start training" and is shown under it.
    """
    preset_column, recipe_column = st.columns(2)
    preset_name = preset_column.selectbox("Network", list(PRESETS), format_func=lambda name: PRESETS[name].title)
    recipe_name = recipe_column.selectbox("Settings", list(SETTING_RECIPES),
                                          index=list(SETTING_RECIPES).index(recipe) if recipe else 0)
    st.caption(PRESETS[preset_name].description)
    defaults = TrainingConfig.for_preset(preset_name, **SETTING_RECIPES[recipe_name])
    suffix = f"{preset_name}-{recipe_name}"  # new keys reset the form when the preset or recipe changes

    with st.form("settings"):
        epochs_column, batch_column, optimizer_column, rate_column = st.columns(4)
        epochs = epochs_column.number_input("Epochs", *BOUNDS["epochs"], value=defaults.epochs, key=f"epochs-{suffix}")
        batch_size = batch_column.select_slider("Batch size", BATCH_SIZES, value=defaults.batch_size, key=f"batch-{suffix}")
        optimizer = optimizer_column.selectbox(
            "Optimizer", list(OPTIMIZERS), index=list(OPTIMIZERS).index(defaults.optimizer),
            format_func=OPTIMIZER_TITLES.get, key=f"optimizer-{suffix}",
        )
        learning_rate = rate_column.number_input(
            "Learning rate", *BOUNDS["learning_rate"], value=defaults.learning_rate, step=1e-4, format="%.4f",
            key=f"rate-{suffix}",
        )
        size_column, seed_column, scale_column = st.columns([2, 1, 1], vertical_alignment="bottom")
        train_size = size_column.slider(
            "Training images (a tenth is held out for validation)", *BOUNDS["train_size"], value=defaults.train_size,
            step=1000, key=f"size-{suffix}",
        )
        seed = seed_column.number_input("Random seed", *BOUNDS["seed"], value=defaults.seed, key=f"seed-{suffix}")
        scale_pixels = scale_column.checkbox(
            "Scale pixels to [0, 1]", value=defaults.scale_pixels, key=f"scale-{suffix}",
            help="Off feeds raw 0-255 pixels, the tutorial's bug: with SGD the network stays at chance level.",
        )
        held_out = defaults.class_held_out
        if class_digits is None:
            class_note = "the class set cannot be reached now"
        elif class_digits < MIN_CLASS_DIGITS:
            class_note = f"it has {class_digits} digits; at least {MIN_CLASS_DIGITS} are needed"
        else:
            class_note = f"{class_digits:,} digits: learn from {1 - held_out:.0%}, test on {held_out:.0%}"
        use_class_set = st.checkbox(
            f"Train on us: add our class set ({class_note})", value=False, key=f"class-{suffix}",
            disabled=class_digits is None or class_digits < MIN_CLASS_DIGITS,
            help=f"The class's digits from the Draw page join the training images, each shown {defaults.class_repeats} times "
            f"an epoch; {held_out:.0%} of each digit's drawings are held out, and the run reports its accuracy on them "
            "next to MNIST's test set.",
        )
        start = st.form_submit_button("Start training", type="primary", disabled=bool(disabled_reason))
        if disabled_reason:
            st.caption(disabled_reason)
    if not start:
        return None
    return dataclasses.replace(
        defaults, epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
        train_size=train_size, seed=seed, scale_pixels=scale_pixels, use_class_set=use_class_set,
    )
