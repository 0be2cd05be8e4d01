"""Styles the live run needs in every frame, drawn by app.py before any page (an invisible element).

A style drawn by the page itself is missing for a moment whenever a full rerun rebuilds the page (a run
started or ended): the browser shows the element tree while it is rebuilt, and the chart below would
jump (a test watches every frame: tests/test_class_mode_browser.py). Drawn first and the same on every run,
these are never replaced.
"""
import streamlit as st

# Streamlit gives a chart a new element id whenever its figure changes (the id hashes the spec, even
# with a key), so the browser unmounts the old chart and mounts a new one, which plotly draws a frame
# or more later: a blank chart on every refresh. Charts stacked in one grid cell take turns: the new
# figure goes into the oldest slot, and a mount animation lifts the newest chart above the others,
# which stay drawn beneath until it has painted (a chart is transparent until then).
STEADY_CHART_CSS = """
<style>
.st-key-steady-chart { display: grid; grid-template-columns: minmax(0, 1fr); }
.st-key-steady-chart > div { grid-area: 1 / 1; width: 100%; }
.st-key-steady-chart .stPlotlyChart { position: relative; animation: newest-chart-on-top 100000s linear forwards; }
@keyframes newest-chart-on-top { from { z-index: 1000000; } to { z-index: 1; } }
</style>
"""

STATUS_CSS = """
<style>
/* Status, progress and Stop keep one height in every state, so the chart below never moves. */
.st-key-train-status-row { min-height: 7.5rem; }
/* A refresh that takes a while (a busy server) must not fade the live run out for a moment. */
.st-key-live-run .stElementContainer, .st-key-presenter .stElementContainer { opacity: 1 !important; transition: none !important; }
</style>
"""


def page_styles():
    """The live run's layout styles, the same on every run."""
    st.html(STEADY_CHART_CSS + STATUS_CSS)
