"""Page-wide accessibility styles: a focus ring every keyboard user can see, and no motion for those who ask.

Called once per run from app.py (every page runs through it).
"""
import streamlit as st

FOCUS_COLOUR = "#1d4ed8"  # 6.7:1 on white: visible against the page (WCAG 2.4.7, 1.4.11)

# The Train page's steady chart layers its charts with a z-index animation that never moves anything
# (ui/live_run.py): it is left running.
_STYLE = f"""<style>
:focus-visible {{ outline: 3px solid {FOCUS_COLOUR} !important; outline-offset: 2px !important; }}
[data-baseweb="select"] input:focus-visible, [data-baseweb="input"] input:focus-visible,
[data-testid="stNumberInputField"]:focus-visible {{ outline-offset: -3px !important; }}
@media (prefers-reduced-motion: reduce) {{
  *:not(.stPlotlyChart), *::before, *::after {{
    animation-duration: 0s !important; animation-iteration-count: 1 !important;
    transition-duration: 0s !important; transition-delay: 0s !important; scroll-behavior: auto !important;
  }}
}}
</style>"""


def accessibility_styles():
    """The page-wide focus ring and reduced-motion styles (an invisible element)."""
    st.html(_STYLE)
