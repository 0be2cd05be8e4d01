"""Accessibility checks in real chromium: axe-core's audit, requests that leave the machine, and icon glyphs.

Used by tests/test_accessibility.py and by hand (``python -m support.accessibility URL`` audits one page).
"""
import re
import sys
from urllib.parse import urlsplit

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import sync_playwright

from support.app_server import CHROMIUM, CHROMIUM_ARGS, wait_for_app_idle

BLOCKING_IMPACTS = ("serious", "critical")  # the bar: zero of these
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
DESKTOP_VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 360, "height": 740}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# Violations that Streamlit 1.67 itself causes and the app cannot fix: rule id -> (the element's CSS
# selector that axe reports, the upstream issue). docs/accessibility.md lists them; the audit fails on anything else.
STREAMLIT_VIOLATIONS = {}

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}


def axe_violations(page, impacts=BLOCKING_IMPACTS):
    """axe-core's violations on ``page`` of the given impacts: ``{rule id: [target selector, ...]}``.

    axe-core (half a megabyte of script) goes into a document once: moving between Streamlit's pages keeps the
    document, and an audit of each state then costs only the audit. Only the violations come back."""
    if not page.evaluate("() => typeof window.axe?.run === 'function'"):
        page.evaluate(AXE_SCRIPT)
    violations = page.evaluate("options => axe.run(document, options).then(results => results.violations)", AXE_OPTIONS)
    found = {}
    for violation in violations:
        if violation["impact"] in impacts:
            found[violation["id"]] = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
    return found


def app_violations(page):
    """The blocking violations left once the known Streamlit ones (:data:`STREAMLIT_VIOLATIONS`) are taken out."""
    found = {}
    for rule, targets in axe_violations(page).items():
        known = STREAMLIT_VIOLATIONS.get(rule)
        left = [target for target in targets if known is None or known[0] not in target]
        if left:
            found[rule] = left
    return found


def is_loopback(url):
    scheme, host = urlsplit(url).scheme, urlsplit(url).hostname or ""
    return scheme in ("data", "blob", "about", "chrome-extension") or host in LOOPBACK_HOSTS or host.startswith("127.")


# Every URL that :func:`is_loopback` refuses: another scheme than data:, blob:, about: and chrome-extension:,
# and a host other than 127.*, localhost and ::1 (an optional user@ and port around it).
LEAVING_THE_MACHINE = re.compile(
    r"^(?!(?:data|blob|about|chrome-extension):)"
    r"(?![a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?(?:127\.[^/?#:]*|localhost|\[::1\]|::1)(?:[:/?#]|$))",
    re.IGNORECASE,
)


def cut_the_network(context):
    """Abort every request of ``context`` that would leave the machine; returns the list of their URLs.

    Only those requests are routed (:data:`LEAVING_THE_MACHINE`, matched in the browser's driver): the
    app's own requests, hundreds per page load, go straight to the server instead of each waiting for
    this Python process to let it through."""
    outside = []

    def route(request_route):
        url = request_route.request.url
        if is_loopback(url):  # never, by the pattern; kept so that a gap in the pattern cannot cut the app off
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort("internetdisconnected")

    context.route(LEAVING_THE_MACHINE, route)
    return outside


# Material Symbols draw each icon from a ligature: with the font missing, the icon's name shows as text,
# as wide as its letters; with the font loaded, it is one square glyph about 1 em wide.
ICON_GLYPHS = """() => [...document.querySelectorAll('[data-testid="stIconMaterial"]')]
  .filter(icon => icon.getClientRects().length)
  .map(icon => ({name: icon.textContent, width: icon.getBoundingClientRect().width,
                 size: parseFloat(getComputedStyle(icon).fontSize)}))"""


def missing_icon_glyphs(page):
    """Names of the visible Material icons drawn as their ligature text instead of a glyph."""
    page.evaluate("() => document.fonts.ready.then(() => true)")
    return [icon["name"] for icon in page.evaluate(ICON_GLYPHS) if icon["width"] > 1.5 * icon["size"]]


def main(url):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=DESKTOP_VIEWPORT)
        page.goto(url)
        wait_for_app_idle(page)
        for rule, targets in axe_violations(page).items():
            print(rule, targets)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1])
