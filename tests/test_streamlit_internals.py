"""Every Streamlit internal the app depends on (ui/streamlit_internals.py) is still there, and the stylesheets use
no other: an upgrade of Streamlit that renames a test id, a class or a private function fails here, not silently
in a classroom."""
import contextlib
import importlib
import importlib.util
import inspect
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from support.app_server import start_streamlit, wait_for_app_idle
from ui import server_tuning
from ui.page_styles import STYLES_DIR
from ui.streamlit_internals import (
    BEHAVIOURS,
    CANVAS_COMPONENT,
    CANVAS_FILES,
    CANVAS_TOOLBAR_CLASS,
    HIDDEN_OPTIONS,
    PYTHON,
    SELECTORS,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROBE_APP = Path(__file__).resolve().parent / "streamlit_probe_app.py"
STYLESHEETS = sorted(STYLES_DIR.glob("*.css"))


def streamlit_tokens(css):
    """Streamlit's names in a stylesheet, as ui/streamlit_internals.py writes them (comments left out)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    tokens = {f'[{attribute}="{value}"]' for attribute, value in re.findall(r"\[(data-[\w-]+)=[\"']?([\w-]+)[\"']?\]", css)}
    tokens |= {f".{name}" for name in re.findall(r"(?<![\w-])\.(st[A-Z][\w-]*)", css)}
    tokens |= {".st-key-"} if "st-key-" in css else set()
    tokens |= {"details"} if re.search(r"(?<![\w.#-])details(?![\w-])", css) else set()
    return tokens


def raw_name(token):
    """The name in a token: stApp in [data-testid="stApp"], stPlotlyChart in .stPlotlyChart."""
    return token.split('"')[1] if '"' in token else token.lstrip(".")


def test_the_stylesheets_use_only_registered_internals_and_every_entry_says_where():
    assert STYLESHEETS
    registered = {selector.token: selector for selector in SELECTORS}
    assert len(registered) == len(SELECTORS), "one entry per token"
    for path in STYLESHEETS:
        name = path.relative_to(PROJECT_DIR).as_posix()
        for token in streamlit_tokens(path.read_text()):
            assert token in registered, f"{name} uses {token}: add it to ui/streamlit_internals.py with why"
            assert name in registered[token].used_in, f"{name} uses {token}: add the file to its entry's used_in"
    for selector in SELECTORS:
        for name in selector.used_in:
            text = (PROJECT_DIR / name).read_text()
            used = selector.token in streamlit_tokens(text) if name.endswith(".css") else raw_name(selector.token) in text
            assert used, f"{name} no longer uses {selector.token}: take it out of the entry"


def test_a_stylesheet_with_an_unregistered_internal_is_caught():
    assert streamlit_tokens('[data-testid=stNew] p, .stNewThing { color: red } /* [data-testid="stComment"] */') == {
        '[data-testid="stNew"]', ".stNewThing",
    }


@pytest.mark.parametrize("internal", PYTHON, ids=[f"{entry.module}.{entry.attribute}" for entry in PYTHON])
def test_private_python_api_is_there_with_its_signature(internal):
    value = importlib.import_module(internal.module)
    for part in internal.attribute.split("."):
        assert hasattr(value, part), f"{internal.module}.{internal.attribute} is gone: {internal.used_in} needs it"
        value = getattr(value, part)
    if value is server_tuning._skip_clearing_the_keras_session:  # the app's replacement, put in by an earlier test
        value = server_tuning.STREAMLIT_CLEANUP
    assert str(inspect.signature(value)) == internal.signature
    assert internal.attribute.split(".")[-1] in (PROJECT_DIR / internal.used_in).read_text()


def test_every_hidden_option_the_config_sets_is_registered_still_exists_and_is_read():
    import tomllib

    from streamlit import config

    settings = tomllib.loads((PROJECT_DIR / ".streamlit" / "config.toml").read_text())
    set_here = {f"{section}.{name}" for section, options in settings.items() for name in options}
    for name in set_here:
        assert name in config._config_options_template, f".streamlit/config.toml sets {name}, which Streamlit no longer has"
    hidden = {name for name in set_here if config._config_options_template[name].visibility == "hidden"}
    assert hidden == {option.name for option in HIDDEN_OPTIONS}, "register each hidden option in ui/streamlit_internals.py"
    for option in HIDDEN_OPTIONS:
        source = inspect.getsource(importlib.import_module(option.read_by))
        assert f'"{option.name}"' in source, f"{option.read_by} no longer reads {option.name}"


def test_the_drawable_canvas_internals_that_ui_draw_relies_on():
    # Found, not imported: the package registers its component on import, which needs a running app.
    package = Path(importlib.util.find_spec("streamlit_drawable_canvas").origin).parent
    for pattern in CANVAS_FILES:
        assert len(list(package.glob(pattern))) == 1, pattern  # ui/draw.py takes the one built file
    (css_file,) = package.glob(CANVAS_FILES[0])
    assert f".{CANVAS_TOOLBAR_CLASS}" in css_file.read_text()
    assert f"'{CANVAS_COMPONENT}'" in (package / "__init__.py").read_text().replace('"', "'")
    draw = (PROJECT_DIR / "ui" / "draw.py").read_text()
    assert CANVAS_COMPONENT in draw and all(Path(pattern).name in draw for pattern in CANVAS_FILES)
    assert f".{CANVAS_TOOLBAR_CLASS} " in (STYLES_DIR / "canvas-toolbar.css").read_text()


@pytest.fixture(scope="module")
def probe_url(tmp_path_factory):
    """A server of tests/streamlit_probe_app.py with the app's .streamlit/config.toml."""
    folder = tmp_path_factory.mktemp("probe")
    shutil.copy(PROBE_APP, folder / "app.py")
    shutil.copytree(PROJECT_DIR / ".streamlit", folder / ".streamlit")
    process, base_url = start_streamlit(project_dir=folder)
    yield base_url
    process.terminate()
    process.wait(timeout=20)


@pytest.mark.browser
def test_every_registered_selector_matches_on_a_phone(browser, probe_url):
    # At phone width: the sidebar's button shows only there, and every other element is there too. One load.
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(probe_url)
        wait_for_app_idle(page)
        probes = [selector.probe for selector in SELECTORS] + [probe for probe, _ in BEHAVIOURS]
        missing = "probes => probes.filter(probe => !document.querySelector(probe))"
        # Streamlit loads some elements' code lazily: they can show a moment after the run has ended.
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(f"probes => ({missing})(probes).length === 0", arg=probes, timeout=20_000)
        missing = page.evaluate(missing, probes)
        assert not missing, f"Streamlit's page no longer has these (see ui/streamlit_internals.py): {missing}"
    finally:
        context.close()

