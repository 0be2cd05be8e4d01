"""The app's styles and scripts, kept in ``assets/styles/*.css`` and ``assets/scripts/*.js`` and drawn by one helper.

A page part draws what it needs with :func:`use_styles` (``use_styles("draw")``); each file is read once per
process. The selectors on Streamlit's own elements that these files use are listed, with why, in
:mod:`ui.streamlit_internals` (tests/test_streamlit_internals.py checks both).

:func:`page_styles` draws the live run's layout styles and the phone navigation's, drawn by app.py before any page
(an invisible element).
A style drawn by the page itself is missing for a moment whenever a full rerun rebuilds the page (a run
started or ended): the browser shows the element tree while it is rebuilt, and the chart below would
jump (a test watches every frame: tests/test_class_mode_browser.py). Drawn first and the same on every run,
these are never replaced.
"""
import functools
import json

import streamlit as st

from mnist_cnn.paths import ASSETS_DIR

STYLES_DIR = ASSETS_DIR / "styles"
SCRIPTS_DIR = ASSETS_DIR / "scripts"


@functools.cache
def stylesheet(name):
    """The text of ``assets/styles/<name>.css``."""
    return (STYLES_DIR / f"{name}.css").read_text(encoding="utf-8")


@functools.cache
def script(name):
    """The text of ``assets/scripts/<name>.js``."""
    return (SCRIPTS_DIR / f"{name}.js").read_text(encoding="utf-8")


def style_element(css):
    """``css`` in a ``<style>`` element."""
    return f"<style>\n{css}</style>"


def styles_html(*names):
    """The style element of the named stylesheets, in order."""
    return style_element("".join(stylesheet(name) for name in names))


def use_styles(*names):
    """Draw the named stylesheets (an invisible element)."""
    st.html(styles_html(*names))


def script_html(name, *arguments):
    """A ``<script>`` that calls ``assets/scripts/<name>.js`` (a function expression) with ``arguments`` as JSON."""
    return f"<script>{script(name).strip()}({', '.join(json.dumps(argument) for argument in arguments)});</script>"


def page_styles():
    """The live run's layout styles (and the steady chart's script) and the phone navigation's (hidden on wider
    screens), the same on every run."""
    # In a container its own styles hide: an st.html with a script, unlike one of styles only, takes a row's gap.
    with st.container(key="steady-chart-script", border=False):
        st.html(styles_html("steady-chart", "live-run-status", "navigation") + script_html("steady-chart"),
                unsafe_allow_javascript=True)
