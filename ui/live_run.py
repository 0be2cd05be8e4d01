"""The live run on the Train page and in presenter view: status, progress, chart and prediction wall.

Everything here redraws in place: the chart keeps its height in every state (idle, loading,
training, finished) and never shows a blank frame on a refresh (see :func:`steady_chart`).
"""

import random
import time

import streamlit as st

from mnist_cnn.data import KERAS_MNIST_BYTES, download_progress, load_test_set
from mnist_cnn.display import png_data_url
from mnist_cnn.paths import BUNDLED_RUN_DIR
from mnist_cnn.prediction_wall import WALL_INDICES, empty_wall
from mnist_cnn.roofline import MACHINE_RATE_HELP, machine_sgemm_gflops
from mnist_cnn.run_folder import RunState
from mnist_cnn.run_record import read_run_record
from mnist_cnn.training_figures import CHART_HEIGHT, FONT_SIZE, SharedFigure, SharedLiveFigure, record_figure
from ui.page_styles import style_element, styles_html
from ui.run_status import machine_rate_line, queued_line, status_line

ACTIVE_REFRESH_SECONDS = 1.0
CHART_SLOTS = 3
IDLE_REFRESH_SECONDS = 3.0
# When a run starts or ends every page of the class reruns in full (its controls, saved runs): a student's page does
# it at a moment of its own within this long, so that thirty pages do not all rerun in the same second.
RERUN_SPREAD_SECONDS = 2.0
_RERUN_DUE_KEY = "live-run-full-rerun-due"


@st.cache_resource
def shared_live_figure(height=CHART_HEIGHT, font_size=FONT_SIZE):
    return SharedLiveFigure(height=height, font_size=font_size)


@st.cache_resource
def bundled_run_figure(height=CHART_HEIGHT, font_size=FONT_SIZE):
    # Shown to every idle viewer every few seconds; the bundled run never changes.
    return SharedFigure(record_figure(read_run_record(BUNDLED_RUN_DIR), height=height, font_size=font_size))


@st.cache_resource
def wall_image_css():
    """The wall's digits as CSS backgrounds (28×28 PNGs, enlarged by the browser), made once per server: drawn
    once per page, outside the refreshing part, so the wall's refreshes carry only its guesses."""
    images, _ = load_test_set()
    rules = "".join(f'.wall-digit-{index} {{ background-image: url("{png_data_url(images[index])}"); }}\n' for index in WALL_INDICES)
    return style_element(rules)


def wall_styles():
    """The wall's styles and digits; call outside the live fragment (they never change)."""
    st.html(styles_html("prediction-wall") + wall_image_css())


@st.cache_resource
def idle_wall():
    _, labels = load_test_set()
    return empty_wall(labels)


def chart_figure(snapshot, height=CHART_HEIGHT, font_size=FONT_SIZE):
    """The figure for the live section: the bundled run when idle, else the current run (empty
    until its first batch), always the same height."""
    if snapshot.state == RunState.IDLE:
        return bundled_run_figure(height, font_size)
    return shared_live_figure(height, font_size).figure(snapshot)


def steady_chart(figure, key="steady-chart", view="page"):
    """Show ``figure`` without a blank frame when it replaces the previous one (with
    assets/styles/steady-chart.css, drawn by app.py before every page: :func:`ui.page_styles.page_styles`).

    ``view`` names the layout the chart is in (the page, presenter view): when it changes, every
    slot is mounted anew at once, and a tie in the mount animation goes to the last slot, so the
    slots start afresh with ``figure`` (no chart of the other view, in its size and type, on top).
    """
    # All slots exist from the first draw on: a slot that appeared later would shift the others'
    # positions in the page, and Streamlit would mount them all anew. Three, not two: a busy browser
    # may apply two refreshes in one frame, and one slot must still hold a drawn chart.
    slots = st.session_state.get(f"{key}-slots")
    if slots is None or slots["view"] != view:
        slots = st.session_state[f"{key}-slots"] = {"figures": [figure] * CHART_SLOTS, "front": 0, "view": view}
    if figure is not slots["figures"][slots["front"]]:
        slots["front"] = (slots["front"] + 1) % CHART_SLOTS
        slots["figures"][slots["front"]] = figure
    with st.container(key=key):
        for slot, slot_figure in enumerate(slots["figures"]):
            st.plotly_chart(slot_figure, key=f"{key}-{slot}", theme=None, config={"displayModeBar": False})


def wall_html(state):
    """The prediction wall as HTML: each digit (its image from :func:`wall_image_css`) with the network's guess
    and confidence, framed green when right and red when wrong (with ✓/✗ for those who cannot tell the colours apart)."""
    cells = []
    for digit in state.digits:
        if digit.guess is None:
            kind, guess, detail = "wall-waiting", "?", "&nbsp;"
        elif digit.correct:
            kind, guess, detail = "wall-right", f"✓ {digit.guess}", f"{digit.confidence:.0%} sure"
        else:
            kind, guess, detail = "wall-wrong", f"✗ {digit.guess}", f"{digit.confidence:.0%} · is {digit.label}"
        cells.append(
            f'<div class="wall-cell {kind}" title="test digit #{digit.index}, a {digit.label}">'
            f'<div class="wall-digit wall-digit-{digit.index}" role="img" aria-label="a handwritten {digit.label}"></div>'
            f'<div class="wall-guess">{guess}</div><div class="wall-confidence">{detail}</div></div>'
        )
    return f'<div class="prediction-wall">{"".join(cells)}</div>'


def class_accuracy_html(state):
    """Test accuracy per digit class after the last epoch, as a row of ten cells ("–" before the
    first epoch ends: the row is always there, so nothing below it moves when it fills in)."""
    accuracies = state.class_accuracy or (None,) * 10
    cells = "".join(
        f'<div class="{"class-weak" if accuracy is not None and accuracy < 0.9 else ""}"><b>{digit}</b>'
        f'{"–" if accuracy is None else f"{accuracy:.0%}"}</div>'
        for digit, accuracy in enumerate(accuracies)
    )
    return f'<div class="class-accuracy">{cells}</div>'


def wall_heading(state):
    if state.progress_epochs is None:
        return "The network's guesses appear here while a run trains."
    return f"**{state.correct_count} of {len(state.digits)}** read right, at epoch {state.progress_epochs:.1f}"


def prediction_wall_ui(snapshot):
    """The wall of the current run (or of no run: the digits, waiting) and its per-class accuracy; needs :func:`wall_styles`."""
    state = getattr(snapshot, "wall", None) or idle_wall()
    with st.container(key="prediction-wall"):
        st.markdown(wall_heading(state))
        st.markdown(wall_html(state), unsafe_allow_html=True)
        after = "after the first epoch" if state.class_accuracy is None else f"after epoch {state.class_accuracy_epoch}"
        st.markdown(f"Test accuracy per digit ({after})")
        st.markdown(class_accuracy_html(state), unsafe_allow_html=True)


def progress_text(snapshot):
    batch = snapshot.last_batch
    remaining = snapshot.remaining_seconds
    return (
        f"batch {batch.batch} of {batch.batches} · {batch.samples_per_second:,.0f} samples/s · "
        f"{snapshot.elapsed_seconds:.0f} s elapsed" + ("" if remaining is None else f" · about {remaining:.0f} s to go")
    )


def status_ui(snapshot, stop_button=None, ahead=None):
    """The run's status line and progress bar (a download bar while MNIST downloads), with
    ``stop_button`` (a function that draws it, or None) beside them; ``ahead``: the runs this room's waiting
    run waits for (None: it has none waiting)."""
    with st.container(key="train-status-row", horizontal=True, vertical_alignment="top"):
        with st.container(key="train-status"):
            if ahead is not None and not snapshot.active:
                st.markdown(f"**{queued_line(ahead)}** Below: the last run.")
            else:
                _status_lines(snapshot)
        if stop_button is not None:
            stop_button()


def _status_lines(snapshot):
    if snapshot.state == RunState.IDLE:
        st.markdown(f"**{status_line(snapshot)}** Below: the bundled model's finished training run.")
    elif snapshot.state == RunState.FAILED:
        st.error(status_line(snapshot))
    else:
        st.markdown(f"**{status_line(snapshot)}**")
    downloaded = download_progress() if snapshot.state == RunState.LOADING else None
    if downloaded is not None and downloaded < 1:
        megabytes = KERAS_MNIST_BYTES / 1e6
        st.progress(downloaded, text=f"Downloading MNIST through Keras: {downloaded * megabytes:.1f} of {megabytes:.1f} MB")
    elif snapshot.active and snapshot.last_batch:
        st.progress(snapshot.progress, text=progress_text(snapshot))
        st.caption(machine_rate_line(snapshot, machine_sgemm_gflops(measure=False)), help=MACHINE_RATE_HELP)


def stop_button(snapshot, request_stop):
    """A function that draws the Stop button (disabled while the run is stopping)."""
    return lambda: st.button("Stop training", on_click=request_stop, disabled=snapshot.state == RunState.STOPPING)


def rerun_when_due(changed, at_once):
    """Rerun the whole page once ``changed`` (a run started or ended): now when ``at_once()`` (whoever controls the
    run), else at a moment of this page's own within RERUN_SPREAD_SECONDS (its live part shows the run meanwhile)."""
    if not changed:
        st.session_state.pop(_RERUN_DUE_KEY, None)
        return
    if _RERUN_DUE_KEY not in st.session_state:
        st.session_state[_RERUN_DUE_KEY] = time.monotonic() + (0.0 if at_once() else random.uniform(0, RERUN_SPREAD_SECONDS))
    if time.monotonic() >= st.session_state[_RERUN_DUE_KEY]:
        del st.session_state[_RERUN_DUE_KEY]
        st.rerun()


def live_run_ui(manager, started_active, can_stop, request_stop, ahead=None):
    """The Train page's live section, redrawn every second while a run trains (every 3 s otherwise).

    ``started_active``: whether a run was active when the page ran; when that changes, the whole
    page reruns (its controls and saved runs change). ``can_stop(snapshot)`` says whether this
    visitor may stop the run; ``request_stop`` is the Stop button's callback; ``ahead``: the runs this room's
    queued run waited for when the page ran (None: none queued; the page reruns when it starts)."""
    wall_styles()

    @st.fragment(run_every=ACTIVE_REFRESH_SECONDS if started_active else IDLE_REFRESH_SECONDS)
    def live_run():
        live = manager.snapshot()
        rerun_when_due(live.active != started_active, at_once=lambda: can_stop(live))
        may_stop = live.active and can_stop(live)
        with st.container(key="live-run"):
            status_ui(live, stop_button=stop_button(live, request_stop) if may_stop else None, ahead=ahead)
            chart_column, wall_column = st.columns([3, 2])
            with chart_column, st.container(key="train-chart"):
                steady_chart(chart_figure(live))
            with wall_column:
                prediction_wall_ui(live)

    live_run()

