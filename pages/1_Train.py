"""Train: start a run, watch it learn live (with the whole class), keep and compare runs."""
import streamlit as st

from mnist_cnn.data import KERAS_MNIST_BYTES, download_progress, mnist_is_available_offline
from mnist_cnn.model import OPTIMIZERS
from mnist_cnn.paths import BUNDLED_RUN_DIR
from mnist_cnn.presets import PRESETS, SETTING_RECIPES
from mnist_cnn.run_manager import (
    NotRunOwnerError,
    RunAlreadyActiveError,
    get_run_manager,
    new_owner_token,
    read_saved_run,
    status_line,
)
from mnist_cnn.runs import RunsFolderError, metrics_csv, read_metrics
from mnist_cnn.training import BOUNDS, TrainingConfig
from mnist_cnn.training_figures import SharedLiveFigure, metrics_figure, runs_overlay_figure
from ui.active_model import active_model_path, set_active_model_path

st.set_page_config(page_title="Train · MNIST CNN Studio", page_icon="📈", layout="wide")

BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}


@st.cache_resource
def shared_live_figure():
    return SharedLiveFigure()


@st.cache_resource
def bundled_run_figure():
    # Shown to every idle viewer every few seconds; the bundled run never changes.
    return metrics_figure(read_metrics(BUNDLED_RUN_DIR))


manager = get_run_manager()
# Owner of the runs this browser session starts: only it may stop them.
owner = st.session_state.setdefault("owner_token", new_owner_token())
snapshot = manager.snapshot()


def request_stop():
    try:
        manager.stop(owner)
    except NotRunOwnerError as error:
        st.session_state["stop_error"] = str(error)


st.title("Train")
st.caption("One run trains at a time on this server; everyone who opens this page watches it live.")


@st.fragment(run_every=1.0 if snapshot.active else 3.0)
def live_run():
    live = manager.snapshot()
    if live.active != snapshot.active:
        st.rerun()  # a run started or ended: refresh the whole page (controls, saved runs)
    with st.container(key="train-status"):
        if live.state == "idle":
            st.markdown(f"**{status_line(live)}** Below: the bundled model's finished training run.")
        elif live.state == "failed":
            st.error(status_line(live))
        else:
            st.markdown(f"**{status_line(live)}**")
        downloaded = download_progress() if live.state == "loading" else None
        if downloaded is not None and downloaded < 1:
            megabytes = KERAS_MNIST_BYTES / 1e6
            st.progress(downloaded, text=f"Downloading MNIST through Keras: {downloaded * megabytes:.1f} of {megabytes:.1f} MB")
        if live.active and live.last_batch:
            batch = live.last_batch
            remaining = live.remaining_seconds
            st.progress(
                live.progress,
                text=f"batch {batch.batch} of {batch.batches} · {batch.samples_per_second:,.0f} samples/s · "
                f"{live.elapsed_seconds:.0f} s elapsed" + ("" if remaining is None else f" · about {remaining:.0f} s to go"),
            )
    if live.active and manager.is_owner(owner):
        st.button("Stop training", on_click=request_stop, type="secondary", disabled=live.state == "stopping")
    with st.container(key="train-chart"):
        if live.state == "idle":
            st.plotly_chart(bundled_run_figure(), key="example-chart")
        elif live.batch_steps:
            st.plotly_chart(shared_live_figure().figure(live), key="live-chart")


live_run()
if "stop_error" in st.session_state:
    st.warning(st.session_state.pop("stop_error"))

st.subheader("Start a run")
if not mnist_is_available_offline():
    st.info(
        "Training needs MNIST's 60,000 training images. They are downloaded through Keras (11 MB) when a run "
        "starts. Offline, point the MNIST_NPZ environment variable at a local mnist.npz before starting the app."
    )
preset_column, recipe_column = st.columns(2)
preset_name = preset_column.selectbox("Network", list(PRESETS), format_func=lambda name: PRESETS[name].title)
recipe_name = recipe_column.selectbox("Settings", list(SETTING_RECIPES))
preset, recipe = PRESETS[preset_name], SETTING_RECIPES[recipe_name]
st.caption(preset.description)
defaults = {
    "epochs": preset.epochs, "batch_size": preset.batch_size, "optimizer": preset.optimizer,
    "learning_rate": preset.learning_rate, "train_size": 60000, "scale_pixels": True, "seed": 0, **recipe,
}
suffix = f"{preset_name}-{recipe_name}"  # new keys reset the form when the preset or recipe changes

with st.form("settings"):
    epochs_column, batch_column, optimizer_column, rate_column = st.columns(4)
    epochs = epochs_column.number_input("Epochs", *BOUNDS["epochs"], value=defaults["epochs"], key=f"epochs-{suffix}")
    batch_size = batch_column.select_slider("Batch size", BATCH_SIZES, value=defaults["batch_size"], key=f"batch-{suffix}")
    optimizer = optimizer_column.selectbox(
        "Optimizer", list(OPTIMIZERS), index=list(OPTIMIZERS).index(defaults["optimizer"]),
        format_func=OPTIMIZER_NAMES.get, key=f"optimizer-{suffix}",
    )
    learning_rate = rate_column.number_input(
        "Learning rate", *BOUNDS["learning_rate"], value=defaults["learning_rate"], step=1e-4, format="%.4f",
        key=f"rate-{suffix}",
    )
    size_column, seed_column, scale_column = st.columns([2, 1, 1], vertical_alignment="bottom")
    train_size = size_column.slider(
        "Training images (a tenth is held out for validation)", *BOUNDS["train_size"], value=defaults["train_size"],
        step=1000, key=f"size-{suffix}",
    )
    seed = seed_column.number_input("Random seed", *BOUNDS["seed"], value=defaults["seed"], key=f"seed-{suffix}")
    scale_pixels = scale_column.checkbox(
        "Scale pixels to [0, 1]", value=defaults["scale_pixels"], key=f"scale-{suffix}",
        help="Off feeds raw 0-255 pixels, the tutorial's bug: with SGD the network stays at chance level.",
    )
    start = st.form_submit_button("Start training", type="primary", disabled=snapshot.active)
    if snapshot.active:
        st.caption("A run is training on this server: watch it above. A new one can start when it ends.")

if start:
    try:
        config = TrainingConfig.for_preset(
            preset_name, epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
            train_size=train_size, seed=seed, scale_pixels=scale_pixels,
        )
        manager.start(config, owner)
        st.rerun()
    except ValueError as error:
        st.error(str(error))
    except RunAlreadyActiveError as error:
        st.warning(str(error))
    except RunsFolderError as error:
        st.error(f"Training was not started: {error}")

st.subheader("Saved runs")
saved = [read_saved_run(BUNDLED_RUN_DIR), *manager.list_runs()]
active_path = active_model_path()
rows = [
    {
        "run": "bundled example" if run.path == BUNDLED_RUN_DIR else run.name,
        "status": "training now" if snapshot.active and run.path == snapshot.run_dir else run.status if run.readable else "unreadable",
        "network": run.config.get("preset", ""),
        "epochs": f"{run.completed_epochs} of {run.config.get('epochs', '?')}" if run.readable else "",
        "images": run.config.get("train_size"),
        "optimizer": OPTIMIZER_NAMES.get(run.config.get("optimizer"), ""),
        "learning rate": run.config.get("learning_rate"),
        "scaled": run.config.get("scale_pixels"),
        "seed": run.config.get("seed"),
        "test accuracy": None if run.test_accuracy is None else f"{run.test_accuracy:.2%}",
        "in use": "✓" if run.model_path == active_path else "",
        "note": run.error,
    }
    for run in saved
]
table = st.dataframe(rows, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row", key="runs_table")
chosen = [saved[index] for index in table.selection.rows if index < len(saved)]
st.caption("Select one run to use or download it; select two or more to compare them.")

readable = [run for run in chosen if run.readable]
if len(readable) >= 2:
    st.plotly_chart(runs_overlay_figure([(run.name, read_metrics(run.path)) for run in readable]), key="overlay")
if len(chosen) == 1:
    run = chosen[0]
    if not run.readable:
        st.error(f"{run.name} cannot be read ({run.error}); the rest of the app is unaffected.")
    elif not run.has_model:
        st.info("This run has no saved model yet: it stopped before its first checkpoint.")
    else:
        use_column, model_column, csv_column = st.columns(3)
        is_bundled = run.path == BUNDLED_RUN_DIR
        use_column.button(
            "Use this model on the Draw and Mistakes pages", disabled=run.model_path == active_path,
            on_click=set_active_model_path, args=(None if is_bundled else run.model_path,),
        )
        model_column.download_button(
            "Download model (.keras)", data=run.model_path.read_bytes(), file_name=f"{run.name}.keras",
            mime="application/octet-stream",
        )
        csv_column.download_button(
            "Download metrics (CSV)", data=metrics_csv(read_metrics(run.path)), file_name=f"{run.name}.csv",
            mime="text/csv",
        )
