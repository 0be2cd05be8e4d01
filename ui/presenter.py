"""Presenter view (``?present=1``): the live run for a projector, filling a 1920×1080 screen without
scrolling: status, progress, the chart, the prediction wall and the join card, in large type."""
import streamlit as st

from mnist_cnn.run_folder import RunState
from ui.join_card import join_card_ui
from ui.page_styles import use_styles

PRESENT_PARAM = "present"
TRAIN_PAGE_PATH = "Train"  # the URL path app.py gives the Train page (its title)
PRESENTER_CHART_HEIGHT = 900
PRESENTER_FONT_SIZE = 22


def presenter_mode():
    """True in presenter view: ``?present=1`` in the URL, so a reload keeps it."""
    return st.query_params.get(PRESENT_PARAM) == "1"


def presenter_toggle():
    """The button that switches presenter view on (or off, in presenter view).

    It reruns the whole page (the layout changes), also from inside the live fragment, where a
    button alone would rerun only the fragment and leave the old layout until a reload.
    """
    if presenter_mode():
        if st.button("Leave presenter view", key="leave-presenter"):
            st.query_params.pop(PRESENT_PARAM, None)
            st.rerun(scope="app")
    else:
        use_styles("presenter-button")
        if st.button("Presenter view (projector)", icon=":material/present_to_all:", key="enter-presenter"):
            st.query_params[PRESENT_PARAM] = "1"  # other parameters (e.g. a teacher's token) stay
            st.rerun(scope="app")


def presenter_ui(manager, started_active, can_stop, request_stop):
    """The whole presenter screen; the page should show nothing else."""
    # Here, not at the top: they import TensorFlow, and presenter_mode() is asked before the page has loaded it.
    from ui.live_run import (
        ACTIVE_REFRESH_SECONDS,
        IDLE_REFRESH_SECONDS,
        chart_figure,
        prediction_wall_ui,
        progress_text,
        steady_chart,
        wall_styles,
    )
    from ui.run_status import status_line

    use_styles("presenter")
    wall_styles()

    @st.fragment(run_every=ACTIVE_REFRESH_SECONDS if started_active else IDLE_REFRESH_SECONDS)
    def presenter_live():
        live = manager.snapshot()
        if live.active != started_active:
            st.rerun()
        with st.container(key="presenter"):
            chart_column, wall_column = st.columns([11, 9], gap="medium")
            with chart_column:
                with st.container(key="train-status"):
                    st.markdown(f'<p class="presenter-status">{status_line(live)}</p>', unsafe_allow_html=True)
                    if live.active and live.last_batch:
                        st.progress(live.progress, text=progress_text(live))
                with st.container(key="train-chart"):
                    steady_chart(chart_figure(live, height=PRESENTER_CHART_HEIGHT, font_size=PRESENTER_FONT_SIZE), view="presenter")
            with wall_column:
                prediction_wall_ui(live)
                join_card_ui(qr_width=190, text_size="1.5rem", page_path=TRAIN_PAGE_PATH)
                with st.container(horizontal=True):
                    if live.active and can_stop(live):
                        st.button("Stop training", on_click=request_stop, disabled=live.state == RunState.STOPPING)
                    presenter_toggle()

    presenter_live()
