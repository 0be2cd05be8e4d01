"""Accessibility in real chromium: the whole app by keyboard alone with axe-core's audit of every page
and state that matters on the way (1280 x 900 and 360 x 740), the canvas's alternative with its live
verdict, reduced motion, and every page offline.

One server with a teacher passcode for the module: the teacher's unlock is one of the walked states.
"""
import time

import pytest

from classroom.join_card import PUBLIC_URL_ENV
from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE
from mnist_cnn.contrast import AA_TEXT_CONTRAST, contrast_ratio
from support.accessibility import (
    DESKTOP_VIEWPORT,
    PHONE_VIEWPORT,
    STREAMLIT_VIOLATIONS,
    app_violations,
    axe_violations,
    cut_the_network,
    missing_icon_glyphs,
)
from support.app_server import ARTIFACTS_DIR, start_streamlit, wait_for_app_idle, witness

pytestmark = pytest.mark.browser

PASSCODE = "seven purple owls"
STATUS = ".st-key-train-status"
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"

# Every plotly text on the page with its fill, except heatmap cell labels (plotly picks their colour per cell).
PLOTLY_TEXT = """() => [...document.querySelectorAll('.js-plotly-plot text')]
  .filter(text => text.textContent.trim() && !text.closest('.hm, .heatmaplayer') && text.getClientRects().length)
  .map(text => ({text: text.textContent, fill: getComputedStyle(text).fill,
                 background: getComputedStyle(text.closest('.js-plotly-plot').querySelector('.main-svg') ?? document.body)
                             .backgroundColor}))"""


@pytest.fixture(scope="module")
def a11y_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("a11y-data")
    process, url = start_streamlit({
        PASSCODE_ENVIRONMENT_VARIABLE: PASSCODE, "MNIST_CNN_DATA": str(data), "MNIST_CNN_RUNS": str(data / "runs"),
        "MNIST_CNN_CLASS_DB_URL": "",
        # The join card's QR code is part of every state audited; at 127.0.0.1 the card would only warn.
        PUBLIC_URL_ENV: "https://studio.example.org/mnist",
    })
    yield url
    process.terminate()
    process.wait(timeout=20)


def new_page(browser, viewport=DESKTOP_VIEWPORT):
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(120_000)
    return context.new_page()


def unreadable_plotly_text(page):
    found = []
    for text in page.evaluate(PLOTLY_TEXT):
        background = text["background"] if text["background"] not in ("rgba(0, 0, 0, 0)", "transparent") else "#ffffff"
        if contrast_ratio(text["fill"], background) < AA_TEXT_CONTRAST:
            found.append(text)
    return found


class Audit:
    """axe-core's serious and critical violations per (state, viewport), one page load per state."""

    def __init__(self):
        self.found = {}
        self.started = time.monotonic()
        self.axe_seconds = 0.0  # the audit's own cost, apart from reaching the states

    def __call__(self, page, state):
        print(f"{time.monotonic() - self.started:6.1f} s: {state}")
        for viewport in (DESKTOP_VIEWPORT, PHONE_VIEWPORT):
            page.set_viewport_size(viewport)
            page.wait_for_function(f"() => innerWidth === {viewport['width']}")
            page.evaluate(NEXT_FRAME)
            wait_for_app_idle(page)
            started = time.monotonic()
            problems = app_violations(page)
            self.axe_seconds += time.monotonic() - started
            plotly = unreadable_plotly_text(page)
            if plotly:
                problems["plotly-text-contrast"] = plotly
            self.found[(state, viewport["width"])] = problems
        page.set_viewport_size(DESKTOP_VIEWPORT)


# The element that has the keyboard focus, through open shadow roots (the confusion grid is a component).
FOCUSED = """() => {
  let element = document.activeElement;
  while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  return {tag: element.tagName, text: (element.innerText || element.value || element.getAttribute('aria-label') || '').trim().slice(0, 80),
          label: element.getAttribute('aria-label') || '', kind: element.getAttribute('kind') || '',
          key: element.closest('[class*="st-key-"]')?.className.match(/st-key-[\\w-]+/)?.[0] ?? '',
          // a table's cells are drawn on a canvas, focus ring included (glide-data-grid)
          ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 || !!element.closest('[data-testid="stDataFrame"]')};
}"""


def tab_to(page, matches, limit=300, key="Tab"):
    """Press Tab until the focused element satisfies ``matches`` (a function of :data:`FOCUSED`'s dict);
    every element passed on the way shows a focus ring. Fails when it is not reached: unreachable, or a trap."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focused["ring"], f"no visible focus ring on {focused}"
        if matches(focused):
            return focused
        seen.append(focused["text"] or focused["label"] or focused["tag"])
    raise AssertionError(f"not reached by Tab in {limit} presses; focus went through {seen[-30:]}")


def text_is(text):
    return lambda focused: focused["text"].endswith(text)  # after an icon's name


def summary(text):
    return lambda focused: focused["tag"] == "SUMMARY" and text in focused["text"]


def is_input(focused):
    return focused["tag"] == "INPUT"


# Every distinct text the verdict's live region has shown since the observer started.
WATCH_LIVE_REGION = """() => {
  const region = document.querySelector('.st-key-prediction [role="status"][aria-live="polite"]');
  window.liveTexts = [region.textContent];
  new MutationObserver(() => { const text = region.textContent;
    if (text !== window.liveTexts.at(-1)) window.liveTexts.push(text); })
    .observe(region, {subtree: true, childList: true, characterData: true});
}"""


def test_every_state_by_keyboard_alone_passes_the_audit(browser, a11y_url, mnist_npz_path):
    """The keyboard walk (unlock, start and stop a run, read a digit without drawing, vote, filter Mistakes,
    open and close the dialog), with axe-core's audit of each state on the way at both viewports."""
    audit = Audit()
    teacher, student = new_page(browser), new_page(browser)
    try:
        with witness("keyboard-walk", teacher=teacher, student=student):
            _keyboard_walk(teacher, student, audit, a11y_url)
    finally:
        teacher.context.close()
        student.context.close()
    print(f"axe-core: {len(audit.found)} audits in {audit.axe_seconds:.1f} s")
    report = {key: problems for key, problems in audit.found.items() if problems}
    assert len(audit.found) == 2 * 15
    assert not report, "\n".join(f"{state} @ {width}: {problems}" for (state, width), problems in report.items())


def _keyboard_walk(teacher, student, audit, a11y_url):
    teacher.goto(f"{a11y_url}/")
    teacher.locator(".st-key-join-card img").wait_for()
    audit(teacher, "home")
    tab_to(teacher, text_is("Train"))  # the top navigation
    teacher.keyboard.press("Enter")
    teacher.get_by_text("Teacher? Unlock the controls").wait_for()  # a page is used once it has loaded
    wait_for_app_idle(teacher)

    tab_to(teacher, summary("Teacher? Unlock the controls"))
    teacher.keyboard.press("Enter")
    tab_to(teacher, is_input)  # the passcode
    audit(teacher, "Train: the teacher's unlock")
    teacher.keyboard.type(PASSCODE)
    teacher.keyboard.press("Enter")
    teacher.get_by_text("Teacher mode", exact=True).wait_for()
    audit(teacher, "Train: idle")
    tab_to(teacher, text_is("Start training"))
    teacher.keyboard.press("Enter")
    teacher.wait_for_function(f"() => document.querySelector('{STATUS}')?.innerText.includes('Training epoch')")
    audit(teacher, "Train: training")
    tab_to(teacher, text_is("Presenter view (projector)"))
    teacher.keyboard.press("Enter")
    teacher.locator(".st-key-presenter .js-plotly-plot").first.wait_for()
    audit(teacher, "Train: presenter view")
    tab_to(teacher, text_is("Stop training"))
    teacher.keyboard.press("Space")
    teacher.wait_for_function(f"() => /Stopped|Finished/.test((document.querySelector('{STATUS}')?.innerText ?? ''))")
    wait_for_app_idle(teacher)  # the stopped run redraws the page
    tab_to(teacher, text_is("Leave presenter view"))
    teacher.keyboard.press("Enter")
    teacher.get_by_text("Saved runs").wait_for()
    audit(teacher, "Train: finished")

    tab_to(teacher, text_is("Draw"))
    teacher.keyboard.press("Enter")
    teacher.locator(".st-key-prediction .verdict-blank").wait_for()
    wait_for_app_idle(teacher)
    audit(teacher, "Draw: blank")
    teacher.evaluate(WATCH_LIVE_REGION)
    tab_to(teacher, summary("Cannot draw? Read a test digit instead"))
    teacher.keyboard.press("Enter")
    tab_to(teacher, is_input)
    teacher.keyboard.type("42")
    teacher.keyboard.press("Enter")
    teacher.locator(".st-key-prediction .predicted-digit").wait_for()
    assert teacher.locator(".st-key-prediction .predicted-digit").inner_text() == "4"  # test digit #42 is a 4
    assert "Reading test digit #42" in teacher.locator(".stMain").inner_text()
    audit(teacher, "Draw: a reading")
    for label in ("Feature maps", "The way in", "What if", "Where it looked", "Look-alikes"):
        tab_to(teacher, summary(label))
        teacher.keyboard.press("Enter")
        wait_for_app_idle(teacher)
    teacher.locator(".st-key-draw-look-alikes img").first.wait_for()
    audit(teacher, "Draw: every explanation open")
    texts = teacher.evaluate("() => window.liveTexts")
    assert len(texts) == 2 and "reads 4" in texts[1], texts  # blank, then the reading: once, not on every rerun

    tab_to(teacher, text_is("Mistakes"))
    teacher.keyboard.press("Enter")
    teacher.locator(".cm-cell").first.wait_for()
    wait_for_app_idle(teacher)
    tab_to(teacher, lambda focused: focused["label"].startswith("true 0, predicted 0"))  # the grid is one tab stop
    for key in ["ArrowDown"] * 4 + ["End"]:
        teacher.keyboard.press(key)
    assert teacher.evaluate(FOCUSED)["label"].startswith("true 4, predicted 9")
    teacher.keyboard.press("Enter")
    teacher.locator(".cm-cell[data-true='4'][data-predicted='9'][aria-pressed='true']").wait_for()
    wait_for_app_idle(teacher)
    assert teacher.evaluate(FOCUSED)["label"].startswith("true 4, predicted 9")  # the redraw kept the focus
    assert "of true digit 4 predicted as 9" in teacher.locator(".st-key-mistake-count").inner_text()
    audit(teacher, "Mistakes: a cell chosen")
    tab_to(teacher, text_is("Inspect"))
    teacher.keyboard.press("Enter")
    dialog = teacher.get_by_role("dialog")
    dialog.locator(".js-plotly-plot").wait_for()
    audit(teacher, "Mistakes: the dialog open")
    teacher.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    tab_to(teacher, text_is("Inspect"))  # no trap: the page is reachable again

    tab_to(teacher, text_is("Class"))
    teacher.keyboard.press("Enter")
    teacher.get_by_text("Quiz: guess what the network says").wait_for()
    tab_to(teacher, summary("Quiz: guess what the network says"))
    teacher.keyboard.press("Enter")
    tab_to(teacher, text_is("Start the quiz"))
    teacher.keyboard.press("Enter")
    teacher.locator(".quiz-vote-count").wait_for()
    student.goto(f"{a11y_url}/Class")
    student.locator(".st-key-quiz-vote-9 button").wait_for()
    tab_to(student, lambda focused: focused["key"] == "st-key-quiz-vote-0")
    student.keyboard.press("Tab")
    student.keyboard.press("Tab")
    assert student.evaluate(FOCUSED)["key"] == "st-key-quiz-vote-2"
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    student.locator(".st-key-quiz").screenshot(path=str(ARTIFACTS_DIR / "keyboard-focus-quiz-vote.png"))
    student.keyboard.press("Space")
    student.wait_for_function("() => document.querySelector('.st-key-quiz-vote-2 button').getAttribute('kind') === 'primary'")
    teacher.wait_for_function("() => document.querySelector('.quiz-vote-count')?.innerText === '1'")
    audit(student, "Class: the quiz before the reveal (student)")
    audit(teacher, "Class: the quiz before the reveal (teacher)")
    tab_to(teacher, text_is("Reveal the answer"))
    teacher.keyboard.press("Enter")
    student.locator(".quiz-reveal").wait_for()
    teacher.locator(".quiz-reveal").wait_for()
    audit(student, "Class: the quiz after the reveal (student)")
    audit(teacher, "Class: the quiz after the reveal (teacher)")
    tab_to(teacher, text_is("End the quiz"))
    teacher.keyboard.press("Enter")
    student.get_by_text("No quiz right now").wait_for()


def test_only_the_listed_streamlit_violations_are_excused(browser, a11y_url):
    """Each excused Streamlit violation is still there (else docs/accessibility.md's list is stale) and nothing else is."""
    if not STREAMLIT_VIOLATIONS:
        pytest.skip("no Streamlit violation is excused")
    page = new_page(browser)
    try:
        page.goto(f"{a11y_url}/")
        page.locator(".st-key-join-card img").wait_for()
        wait_for_app_idle(page)
        assert set(axe_violations(page)) == set(STREAMLIT_VIOLATIONS)
    finally:
        page.context.close()


# A probe that moves the way Streamlit's spinners and fades do: an endless animation and a transition.
MOTION_PROBE = """() => {
  const probe = document.createElement('div');
  probe.style.cssText = 'transition: opacity 1s; animation: spin 1s linear infinite';
  document.querySelector('.stMain').appendChild(probe);
  const style = getComputedStyle(probe);
  const durations = [style.transitionDuration, style.animationDuration, style.animationIterationCount];
  probe.remove();
  return durations;
}"""


def test_motion_stops_for_visitors_who_ask_for_less(browser, a11y_url):
    page = new_page(browser)
    try:
        page.goto(f"{a11y_url}/")
        page.locator(".st-key-join-card img").wait_for()  # the page has run (and brought its styles)
        wait_for_app_idle(page)
        assert page.evaluate(MOTION_PROBE) == ["1s", "1s", "infinite"]
        page.emulate_media(reduced_motion="reduce")
        assert page.evaluate(MOTION_PROBE) == ["0s", "0s", "1"]
    finally:
        page.context.close()


PAGES = {"": ".st-key-join-card img", "Train": ".js-plotly-plot .main-svg", "Draw": "canvas.upper-canvas",
         "Mistakes": ".cm-cell", "Class": ".js-plotly-plot .main-svg"}
FONTS = "() => document.fonts.ready.then(fonts => [...fonts].map(font => [font.family, font.status]))"


def test_every_page_renders_completely_with_the_network_cut(browser, a11y_url):
    page = new_page(browser)
    outside = cut_the_network(page.context)
    try:
        for path, proof in PAGES.items():
            page.goto(f"{a11y_url}/{path}")
            page.locator(proof).first.wait_for()
            wait_for_app_idle(page)
            assert not missing_icon_glyphs(page), f"/{path}: icons drawn as text: {missing_icon_glyphs(page)}"
            failed = [family for family, status in page.evaluate(FONTS) if status == "error"]
            assert not failed, f"/{path}: fonts that did not load: {failed}"
            if path == "":
                assert page.locator(".st-key-join-card img").evaluate("image => image.complete && image.naturalWidth > 0")
        assert not outside, f"requests that left the machine: {sorted(set(outside))}"
    finally:
        page.context.close()
