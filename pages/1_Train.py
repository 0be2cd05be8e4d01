"""Train: start a run, watch it learn live (with the whole class), keep and compare runs."""
import streamlit as st

from ui.server_tuning import import_tensorflow

st.set_page_config(page_title="Train · MNIST CNN Studio", page_icon="📈", layout="wide")
st.title("Train")
st.caption("One run trains at a time on this server; everyone who opens this page watches it live.")
with st.spinner("Starting TensorFlow, once after a server start…", show_time=True):
    import_tensorflow()

# Imported after the page's title: they import TensorFlow, which takes seconds after a server start.
from mnist_cnn.class_set import ClassSetUnavailableError
from mnist_cnn.data import KERAS_MNIST_BYTES, MNIST_TRAINING_IMAGES, download_progress, mnist_is_available_offline
from mnist_cnn.paths import BUNDLED_RUN_DIR
from mnist_cnn.run_manager import RunAlreadyActiveError, get_run_manager
from mnist_cnn.runs import RunsFolderError, RunState, list_saved_runs, metrics_csv, read_metrics, read_saved_run
from mnist_cnn.training_figures import SharedLiveFigure, metrics_figure, runs_overlay_figure
from ui.active_model import active_model, set_active_model_path
from ui.class_model import class_model_button_ui, class_model_caption, current_class_model, is_class_model
from ui.class_set import class_set, class_set_size
from ui.run_status import saved_run_rows, status_line
from ui.teacher import teacher_rights, teacher_ui
from ui.train_settings import settings_form_ui


@st.cache_resource
def shared_live_figure():
    return SharedLiveFigure()


@st.cache_resource
def bundled_run_figure():
    # Shown to every idle viewer every few seconds; the bundled run never changes.
    return metrics_figure(read_metrics(BUNDLED_RUN_DIR))


manager = get_run_manager()
snapshot = manager.snapshot()
ONLY_THE_TEACHER = "Only the teacher starts and stops runs in this class: watch the run live on this page."


def request_stop():
    if teacher_rights():  # checked again: only a page with the rights shows the button
        manager.stop()
    else:
        st.session_state["stop_error"] = ONLY_THE_TEACHER


rights = teacher_ui()


@st.fragment(run_every=1.0 if snapshot.active else 3.0)
def live_run():
    live = manager.snapshot()
    if live.active != snapshot.active:
        st.rerun()  # a run started or ended: refresh the whole page (controls, saved runs)
    with st.container(key="train-status"):
        if live.state == RunState.IDLE:
            st.markdown(f"**{status_line(live)}** Below: the bundled model's finished training run.")
        elif live.state == RunState.FAILED:
            st.error(status_line(live))
        else:
            st.markdown(f"**{status_line(live)}**")
        downloaded = download_progress() if live.state == RunState.LOADING else None
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
    if live.active and teacher_rights():
        st.button("Stop training", on_click=request_stop, type="secondary", disabled=live.state == RunState.STOPPING)
    with st.container(key="train-chart"):
        if live.state == RunState.IDLE:
            st.plotly_chart(bundled_run_figure(), key="example-chart")
        elif live.batch_steps:
            st.plotly_chart(shared_live_figure().figure(live), key="live-chart")


live_run()
if "stop_error" in st.session_state:
    st.warning(st.session_state.pop("stop_error"))

st.subheader("Start a run")
if not mnist_is_available_offline():
    st.info(
        f"Training needs MNIST's {MNIST_TRAINING_IMAGES:,} training images. They are downloaded through Keras (11 MB) when a run "
        "starts. Offline, point the MNIST_NPZ environment variable at a local mnist.npz before starting the app."
    )
if not rights:
    disabled_reason = ONLY_THE_TEACHER
elif snapshot.active:
    disabled_reason = "A run is training on this server: watch it above. A new one can start when it ends."
else:
    disabled_reason = ""
config = settings_form_ui(disabled_reason, class_digits=class_set_size())
if config is not None and not teacher_rights():
    st.error(ONLY_THE_TEACHER)
elif config is not None:
    try:
        manager.start(config, class_data=class_set().images_and_labels() if config.use_class_set else None)
        st.rerun()
    except ValueError as error:
        st.error(str(error))
    except RunAlreadyActiveError as error:
        st.warning(str(error))
    except (RunsFolderError, ClassSetUnavailableError) as error:
        st.error(f"Training was not started: {error}")

st.subheader("Saved runs")
saved = [read_saved_run(BUNDLED_RUN_DIR), *list_saved_runs(manager.runs_root, manager.snapshot())]
active = active_model()
active_path, class_model = active.path, current_class_model()
st.caption(f"{class_model_caption()} Your pages use {active.label}.")
rows = saved_run_rows(
    saved, live_run_dir=snapshot.run_dir if snapshot.active else None, active_model_path=active_path,
    class_model_path=class_model.model_path,
)
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
        if rights:
            use_column, class_column, model_column, csv_column = st.columns(4)
        else:
            (use_column, model_column, csv_column), class_column = st.columns(3), None
        use_column.button(
            "Use this model on the Draw and Mistakes pages", disabled=run.model_path == active_path,
            # choosing the class model means following it (None): the teacher may change it later
            on_click=set_active_model_path, args=(None if is_class_model(run, class_model) else run.model_path,),
        )
        class_model_button_ui(run, class_column)
        model_column.download_button(
            "Download model (.keras)", data=run.model_path.read_bytes(), file_name=f"{run.name}.keras",
            mime="application/octet-stream",
        )
        csv_column.download_button(
            "Download metrics (CSV)", data=metrics_csv(read_metrics(run.path)), file_name=f"{run.name}.csv",
            mime="text/csv",
        )
