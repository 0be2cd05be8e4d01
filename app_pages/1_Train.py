"""Train: start a run, watch it learn live (with the whole class), keep and compare runs."""
import functools

import streamlit as st

from ui.presenter import presenter_mode
from ui.server_tuning import import_tensorflow

st.set_page_config(page_title="Train · MNIST CNN Studio", layout="wide")
if not presenter_mode():
    st.title("Train")
    st.caption("One run trains at a time on this server; everyone in the class who opens this page watches it live.")
with st.spinner("Starting TensorFlow, once after a server start…", show_time=True):
    import_tensorflow()

# Imported after the page's title: they import TensorFlow, which takes seconds after a server start.
from classroom.class_set import ClassSetUnavailableError
from classroom.run_manager import RunAlreadyActiveError
from classroom.runs import list_saved_runs, read_saved_run
from mnist_cnn.data import MNIST_TRAINING_IMAGES, mnist_is_available_offline
from mnist_cnn.paths import BUNDLED_RUN_DIR
from mnist_cnn.presets import DEMO_RECIPE
from mnist_cnn.run_folder import RunsFolderError, run_zip_bytes
from mnist_cnn.training_figures import runs_overlay_figure
from ui.active_model import active_model, set_active_model_path
from ui.class_model import class_model_button_ui, class_model_caption, current_class_model, is_class_model
from ui.class_set import class_set, class_set_size
from ui.live_run import live_run_ui
from ui.presenter import presenter_toggle, presenter_ui
from ui.run_status import rows_of_runs, runs_table_key, saved_run_rows
from ui.run_store import (
    OPEN_STUDIO_RULE,
    cancel_waiting_runs,
    controls_run,
    in_open_studio,
    run_manager,
    runs_ahead,
    saved_runs_problem,
    start_run,
    stop_live_run,
)
from ui.teacher import teacher_rights, teacher_ui
from ui.train_settings import settings_form_ui

manager = run_manager()
snapshot = manager.snapshot()
ONLY_THE_TEACHER = "Only the teacher starts and stops runs in this class: watch the run live on this page."
FOR_STUDENTS = "The teacher starts runs here: watch the run live on this page."
ONLY_ITS_STARTER = "Only the visitor who started this run can stop it: watch it live on this page."
CHOSEN_RUNS_KEY = "chosen_run_ids"  # the saved runs this visitor selected, by folder path


def request_stop():
    if not stop_live_run(manager):
        st.session_state["stop_error"] = ONLY_ITS_STARTER if in_open_studio() else ONLY_THE_TEACHER


def can_stop(live):
    return controls_run(live.starter)


def remember_chosen_runs(table_key, run_ids):
    """A selection in the table as drawn with ``run_ids``: its positions name these runs, whatever changed since."""
    positions = st.session_state[table_key].selection.rows
    st.session_state[CHOSEN_RUNS_KEY] = [run_ids[position] for position in positions if position < len(run_ids)]


if presenter_mode():  # the projector shows the run, not the teacher's controls
    presenter_ui(manager, snapshot.active, can_stop=can_stop, request_stop=request_stop)
    st.stop()

# A student's phone gets the live run first; the teacher's corner (unlock) waits at the bottom, small.
rights = teacher_rights()
if rights:
    rights = teacher_ui()
    presenter_toggle()
else:
    st.info(FOR_STUDENTS, icon=":material/visibility:")
ahead = runs_ahead()
if ahead is not None and rights and st.button("Cancel the waiting run", key="cancel_waiting"):
    cancel_waiting_runs()
    st.rerun()
live_run_ui(manager, snapshot.active, can_stop=can_stop, request_stop=request_stop, ahead=ahead)
if "stop_error" in st.session_state:
    st.warning(st.session_state.pop("stop_error"))


def start_a_run_ui():
    if not mnist_is_available_offline():
        st.info(
            f"Training needs MNIST's {MNIST_TRAINING_IMAGES:,} training images. They are downloaded through Keras (11 MB) when a run "
            "starts. Offline, point the MNIST_NPZ environment variable at a local mnist.npz before starting the app."
        )
    if not rights:
        disabled_reason = ONLY_THE_TEACHER
    elif snapshot.active:
        disabled_reason = "A run is training on this server: watch it above. A new one can start when it ends."
    elif ahead is not None:
        disabled_reason = "Your run is queued: it starts after the runs before it (see above)."
    else:
        disabled_reason = ""
    config = settings_form_ui(disabled_reason, class_digits=class_set_size(), recipe=DEMO_RECIPE if in_open_studio() else None)
    if config is not None and not teacher_rights():
        st.error(ONLY_THE_TEACHER)
    elif config is not None:
        try:
            start_run(config, class_data=class_set().images_and_labels() if config.use_class_set else None)
            st.rerun()
        except ValueError as error:
            st.error(str(error))
        except RunAlreadyActiveError as error:
            st.warning(str(error))
        except (RunsFolderError, ClassSetUnavailableError) as error:
            st.error(f"Training was not started: {error}")


if rights:
    st.subheader("Start a run")
    if in_open_studio():
        st.caption(OPEN_STUDIO_RULE)
    start_a_run_ui()
else:
    with st.expander("The teacher's run settings", icon=":material/tune:"):
        st.caption("The teacher unlocks them at the bottom of this page.")
        start_a_run_ui()

st.subheader("Saved runs")
if problem := saved_runs_problem():
    st.warning(f"Saved runs are kept on this server's disk only, which a restart may wipe: {problem}")
saved = [read_saved_run(BUNDLED_RUN_DIR), *list_saved_runs(manager.runs_root, manager.snapshot())]
active = active_model()
active_path, class_model = active.path, current_class_model()
st.caption(f"{class_model_caption()} Your pages use {active.label}.")
rows = saved_run_rows(
    saved, live_run_dir=snapshot.run_dir if snapshot.active else None, active_model_path=active_path,
    class_model_path=class_model.model_path,
)
# Selected by run, not by row: a new run at the top must not move a visitor's choice to its neighbour.
run_ids = [str(run.path) for run in saved]
remembered = st.session_state.get(CHOSEN_RUNS_KEY, [])
table_key = runs_table_key(saved)
table = st.dataframe(
    rows, hide_index=True, width="stretch", key=table_key, selection_mode="multi-row",
    on_select=functools.partial(remember_chosen_runs, table_key, run_ids),
    selection_default={"selection": {"rows": rows_of_runs(saved, remembered)}},
)
chosen = [saved[position] for position in table.selection.rows if position < len(saved)]
if len(rows_of_runs(saved, remembered)) < len(remembered):
    st.info("A run you had selected is no longer listed.")
st.session_state[CHOSEN_RUNS_KEY] = [str(run.path) for run in chosen]
st.caption("Select one run to use or download it; select two or more to compare them.")

readable = [run for run in chosen if run.readable]
if len(readable) >= 2:
    st.plotly_chart(runs_overlay_figure([(run.title(), run.record) for run in readable]), key="overlay")
if len(chosen) == 1:
    run = chosen[0]
    title = "the bundled example" if run.path == BUNDLED_RUN_DIR else run.title()
    if not run.readable:
        st.error(f"{run.name} cannot be read ({run.error}); the rest of the app is unaffected.")
    elif not run.has_model:
        st.info("This run has no saved model yet: it stopped before its first checkpoint.")
    else:
        st.markdown(f"Selected: **{title}**")
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
            "Download run (.zip)", data=run_zip_bytes(run.path), file_name=f"{run.name}.zip", mime="application/zip",
            help="model.keras and metrics.json in a folder: `python -m mnist_cnn evaluate` reads the zip or the folder.",
        )
        csv_column.download_button(
            "Download metrics (CSV)", data=run.record.history_csv(), file_name=f"{run.name}.csv",
            mime="text/csv",
        )

if not rights:
    st.divider()
    teacher_ui()
