"""The Streamlit internals this app depends on, named in one place: an upgrade of Streamlit that changes one
fails tests/test_streamlit_internals.py, which checks every entry here (and that the stylesheets use no other).

:data:`SELECTORS`: Streamlit's element test ids and class names in ``assets/styles/*.css`` (drawn by
:mod:`ui.page_styles`), as the stylesheets write them (``token``), with a selector that a page with one element of
each kind (tests/streamlit_probe_app.py, at phone width) must match (``probe``). :data:`HIDDEN_OPTIONS`: the
undocumented options .streamlit/config.toml sets. :data:`BEHAVIOURS`: what the
app's styles and scripts need of Streamlit's page beyond a name. :data:`PYTHON`: private Python API the app calls
or replaces. :data:`CANVAS_COMPONENT` and the two after it: the same for streamlit-drawable-canvas, whose toolbar ui/draw.py hides.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Selector:
    token: str  # as written in the stylesheets, quotes normalised to ""
    probe: str  # matches at least one element of tests/streamlit_probe_app.py
    used_in: tuple  # the files (from the project folder) that write the token
    why: str


@dataclass(frozen=True)
class PythonInternal:
    module: str
    attribute: str  # dotted, within the module
    signature: str  # str(inspect.signature(...))
    used_in: str
    why: str


_PRESENTER_PAGES = ("assets/styles/presenter.css", "assets/styles/quiz-presenter-page.css")
SELECTORS = (
    Selector('[data-testid="stApp"]', '[data-testid="stApp"][data-test-script-state="notRunning"]', ("support/app_server.py",),
             "the browser tests wait for the app root's data-test-script-state to say a script run has ended"),
    Selector('[data-testid="stHeader"]', 'header[data-testid="stHeader"]', _PRESENTER_PAGES,
             "presenter view hides the page header (menu, top navigation) on a projector"),
    Selector('[data-testid="stMainBlockContainer"]', '[data-testid="stMainBlockContainer"]', _PRESENTER_PAGES,
             "presenter view takes the page's whole width with small margins"),
    Selector(".stMainBlockContainer", ".stMainBlockContainer h1", ("assets/styles/navigation.css",),
             "phones get smaller page margins and title"),
    Selector('[data-testid="stMetricValue"]', '[data-testid="stMetricValue"]', ("assets/styles/navigation.css",),
             "phones get smaller metric values (the home page's three fit a row)"),
    Selector('[data-testid="stIconMaterial"]', '.st-key-probe-links a > span:has([data-testid="stIconMaterial"])',
             ("assets/styles/navigation.css",), "the phone navigation's links drop their icons: five links fit one row"),
    Selector('[data-testid="stExpandSidebarButton"]', '[data-testid="stExpandSidebarButton"]', ("assets/styles/navigation.css",),
             "phones hide the sidebar's button: the sidebar only repeats the phone navigation's links"),
    Selector('[data-testid="stMainMenuButton"]', '[data-testid="stMainMenuButton"]', ("assets/styles/navigation.css",),
             "the main menu's button is made 32 px at least on phones (a tap target)"),
    Selector('[data-testid="stHeaderActionElements"]', '[data-testid="stHeaderActionElements"]', ("assets/styles/navigation.css",),
             "phones hide the headings' 17 px anchor links (a hover feature)"),
    Selector('[data-testid="stNumberInputField"]', '[data-testid="stNumberInputField"]', ("assets/styles/accessibility.css",),
             "a number input's focus ring is drawn inside it, where its frame does not hide it"),
    Selector('[data-testid="stSelectbox"]', '[data-testid="stSelectbox"] input', ("assets/styles/accessibility.css",),
             "a select box's focus ring is drawn inside it (its input's frame hid most of it)"),
    Selector('[data-testid="stTextInputField"]', '[data-testid="stTextInputField"]', ("assets/styles/accessibility.css",),
             "a text input's focus ring is drawn inside it (its frame hid it)"),
    Selector('[data-testid="stMarkdownContainer"]', '[data-testid="stMarkdownContainer"] p',
             ("assets/styles/draw.css", "assets/styles/quiz.css", "assets/styles/presenter.css"),
             "markdown's -1rem bottom margin is taken back where boxes must not overlap, and presenter text is enlarged"),
    Selector('[data-testid="stHorizontalBlock"]', '[data-testid="stHorizontalBlock"]', ("assets/styles/quiz.css",),
             "the quiz's result columns overflow visibly: no 10 px scroller on a phone"),
    Selector('[data-testid="stProgress"]', '[data-testid="stProgress"] p', ("assets/styles/presenter.css",),
             "presenter view enlarges the progress bar's text"),
    Selector('[data-testid="stImageCaption"]', '[data-testid="stImageCaption"]', ("assets/styles/mistakes.css",),
             "the mistakes gallery's captions are smaller"),
    Selector('[data-testid="stElementToolbar"]', '[data-testid="stElementToolbar"]', ("assets/styles/mistakes.css",),
             "the gallery's images have no fullscreen button (Inspect is the way to look closer)"),
    Selector('[data-testid="stLayoutWrapper"]', '[data-testid="stLayoutWrapper"]:has(> .st-key-probe-box)',
             ("assets/styles/explain.css", "assets/styles/identity.css", "assets/styles/steady-chart.css"),
             "a keyed container's wrapper: made sticky (What if…?) or hidden with it (the identity carriers, the page "
             "styles' script: no gap)"),
    Selector(".stPlotlyChart", ".st-key-probe-box > .stElementContainer .stPlotlyChart",
             ("assets/styles/steady-chart.css", "assets/scripts/steady-chart.js"),
             "the steady chart stacks a keyed container's charts in one grid cell (each child one chart) and its script "
             "lifts each chart mounted above those before it"),
    Selector(".stElementContainer", ".st-key-probe-box > .stElementContainer",
             ("assets/styles/live-run-status.css", "assets/styles/presenter.css"),
             "the live run's elements are never faded out while a refresh is under way"),
    Selector(".st-key-", ".stVerticalBlock.st-key-probe-box",
             ("assets/styles/steady-chart.css", "assets/styles/live-run-status.css", "assets/styles/navigation.css",
              "assets/styles/join-card.css", "assets/styles/class-set.css", "assets/styles/draw.css",
              "assets/styles/identity.css", "assets/styles/mistakes.css",
              "assets/styles/presenter.css", "assets/styles/presenter-button.css", "assets/styles/quiz.css",
              "assets/styles/quiz-presenter-page.css"),
             "an element or container with key K carries the class st-key-K: every style of a part of a page finds it so "
             "(explain.css too, by the end of the class: [class*=\"-what-if-reading\"])"),
    Selector("details", "details:has(.st-key-probe-in-expander)", ("assets/styles/explain.css",),
             "an expander is a <details> element, whose overflow is made visible for What if…?'s sticky reading"),
)

# What the app needs of Streamlit's page beyond a name, each a selector on the probe page.
BEHAVIOURS = (
    ('body[data-probe-current-script="yes"]',
     "st.html(..., unsafe_allow_javascript=True) runs a <script> as a script element of the page, with "
     "document.currentScript set: assets/scripts/write-cookies.js writes the identity cookies and empties itself"),
)

PYTHON = (
    PythonInternal("streamlit.runtime.scriptrunner.script_runner", "_clean_problem_modules", "() -> 'None'",
                   "ui/server_tuning.py",
                   "replaced after every run so that Streamlit does not clear the Keras session"),
    PythonInternal("streamlit.net_util", "get_internal_ip", "() -> 'str | None'", "ui/join_card.py",
                   "this machine's network address, as Streamlit prints it for \"Network URL\": the join card's address"),
    PythonInternal("streamlit.runtime.context", "StreamlitCookies.to_dict", "(self) -> 'dict[str, str]'", "ui/identity.py",
                   "st.context.cookies as a plain dict: the cookies that carry a visitor's identity"),
)

@dataclass(frozen=True)
class HiddenOption:
    name: str  # as .streamlit/config.toml sets it, section.option
    read_by: str  # the Streamlit module that reads it (with config.get_option)
    why: str


# Options Streamlit keeps out of its documentation (visibility "hidden") that .streamlit/config.toml sets: each must
# still exist and be read where named, or the setting does nothing after an upgrade, silently.
HIDDEN_OPTIONS = (
    HiddenOption("global.minCachedMessageSize", "streamlit.runtime.forward_msg_cache",
                 "from 5 kB an element the browser holds goes as a reference: the live chart's three slots early in a run"),
    HiddenOption("runner.postScriptGC", "streamlit.runtime.scriptrunner.script_runner",
                 "no full garbage collection after every run: with TensorFlow loaded it holds the GIL for tens of ms"),
)

# streamlit-drawable-canvas's own internals, used by ui/draw.py to register it again with its toolbar hidden
# (assets/styles/canvas-toolbar.css): the name it registers its component under, its built files, its toolbar's class.
CANVAS_COMPONENT = "streamlit-drawable-canvas.streamlit_drawable_canvas"
CANVAS_FILES = ("frontend/build/index-*.css", "frontend/build/index-*.js")
CANVAS_TOOLBAR_CLASS = "dc-toolbar"
