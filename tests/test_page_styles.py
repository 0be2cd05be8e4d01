"""The app's styles and scripts live in assets/ and are drawn through ui/page_styles.py, and nowhere else."""
import re
from pathlib import Path

import pytest

from ui.class_set import DIGIT_BUTTONS_KEY
from ui.identity import carry_identity
from ui.navigation import PHONE_MAX_WIDTH
from ui.page_styles import SCRIPTS_DIR, STYLES_DIR, script_html, styles_html, stylesheet

PROJECT_DIR = Path(__file__).resolve().parent.parent
APP_SOURCES = [PROJECT_DIR / "app.py", *sorted((PROJECT_DIR / "app_pages").glob("*.py")), *sorted((PROJECT_DIR / "ui").glob("*.py"))]
LOADER, REGISTRY = PROJECT_DIR / "ui" / "page_styles.py", PROJECT_DIR / "ui" / "streamlit_internals.py"


def names_drawn(function_names):
    """The quoted names passed to the loader's functions anywhere in the app's code."""
    code = "".join(path.read_text() for path in APP_SOURCES)
    calls = re.findall(rf"\b(?:{'|'.join(function_names)})\(([^()]*(?:\([^()]*\)[^()]*)*)\)", code)
    return {name for call in calls for name in re.findall(r"\"([\w-]+)\"", call)}


def test_every_stylesheet_and_script_named_in_the_code_exists_and_every_file_is_used():
    assert names_drawn(["use_styles", "styles_html", "stylesheet"]) <= {path.stem for path in STYLES_DIR.glob("*.css")}
    assert names_drawn(["script", "script_html"]) <= {path.stem for path in SCRIPTS_DIR.glob("*.js")}
    code = "".join(path.read_text() for path in APP_SOURCES)
    for path in [*STYLES_DIR.glob("*.css"), *SCRIPTS_DIR.glob("*.js")]:
        assert f'"{path.stem}"' in code, f"{path.name} is drawn nowhere"


def test_no_stylesheet_has_a_less_than_sign():
    # Streamlit's HTML sanitizer (DOMPurify) drops a whole <style> whose text has one, a comment's included.
    for path in STYLES_DIR.glob("*.css"):
        assert "<" not in path.read_text(), f"{path.name}: Streamlit would drop the whole stylesheet"


def test_no_css_or_javascript_in_python_strings_outside_the_loader():
    for path in APP_SOURCES:
        if path in (LOADER, REGISTRY):
            continue
        text = path.read_text()
        for sign in ("<style", "<script", "data-testid", "st-key-", "{ display:"):
            assert sign not in text, f"{path.relative_to(PROJECT_DIR)} has {sign!r}: put it in assets/ (ui/page_styles.py)"


def test_the_stylesheets_numbers_and_keys_are_the_pythons():
    media = set(re.findall(r"\((?:max|min)-width: \d+px\)", stylesheet("navigation") + stylesheet("join-card")))
    assert media == {f"(max-width: {PHONE_MAX_WIDTH}px)", f"(min-width: {PHONE_MAX_WIDTH + 1}px)"}
    # ui.draw is imported by the app only (streamlit-drawable-canvas registers its component on import)
    canvas_size = re.search(r"^CANVAS_SIZE = (\d+)", (PROJECT_DIR / "ui" / "draw.py").read_text(), re.MULTILINE)[1]
    assert f".st-key-sketch-box {{ min-height: {canvas_size}px; }}" in stylesheet("draw")
    assert f".st-key-{DIGIT_BUTTONS_KEY} button" in stylesheet("class-set")


def test_the_loader_reads_each_file_once_and_wraps_it():
    assert stylesheet("draw") is stylesheet("draw")
    html = styles_html("join-card", "class-set")
    assert html.startswith("<style>\n") and html.endswith("</style>")
    assert html.index("home-join") < html.index("class-digit-buttons")
    script = script_html("write-cookies", ["a=1; path=/"])
    assert script.startswith("<script>") and script.endswith(')(["a=1; path=/"]);</script>')


def test_an_identity_carrier_needs_a_key_its_style_hides():
    with pytest.raises(ValueError, match="starts with 'identity'"):
        carry_identity(key="cookies")
