"""A 360 x 740 touch phone in chromium, and pen strokes on a canvas: by finger (Chrome's input protocol) or mouse."""
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def touch_stroke(page, box, points):
    """One finger stroke through ``points`` (pixels relative to ``box``, a bounding box), with
    CDP ``Input.dispatchTouchEvent`` touchStart, touchMove and touchEnd like a real touch screen."""
    session = page.context.new_cdp_session(page)
    try:
        def touch(kind, x, y):
            session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": box["x"] + x, "y": box["y"] + y}]})

        touch("touchStart", *points[0])
        for x, y in points[1:]:
            touch("touchMove", x, y)
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        session.detach()


def mouse_stroke(page, box, points):
    """One mouse stroke through ``points`` (pixels relative to ``box``, a bounding box)."""
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    page.mouse.up()


def scroll_offsets(page):
    """How far the page has scrolled: the window and Streamlit's main scroll container."""
    return page.evaluate("() => [window.scrollY, document.querySelector('.stMain')?.scrollTop ?? 0]")


def too_small_tap_targets(page, width=360):
    """Buttons, links and select boxes on the page (inside components' shadow roots too) smaller than 32 x 32 px.

    Skipped: what is not displayed, lies beside the screen (the closed sidebar), or is Streamlit's
    visually hidden 1-pixel "Skip to main content" link for keyboards. Waits first for the phone
    stylesheet (injected by app.py with st.html, applied a moment after the elements) to take effect.
    """
    page.wait_for_function(
        """() => [...document.querySelectorAll(".st-key-phone-navigation a")]
                   .some(link => parseFloat(getComputedStyle(link).minHeight) >= 32)""",
        timeout=15_000,
    )
    return page.evaluate(
        """width => {
            const targets = [];
            const collect = root => {
                targets.push(...root.querySelectorAll("button, a, [role='combobox']"));
                root.querySelectorAll("*").forEach(element => element.shadowRoot && collect(element.shadowRoot));
            };
            collect(document);
            return targets.map(target => [target, target.getBoundingClientRect()])
                .filter(([, box]) => box.width > 1 && box.height > 1 && box.right > 0 && box.left < width)
                .filter(([, box]) => box.width < 32 || box.height < 32)
                .map(([target, box]) => [target.getAttribute("aria-label") || target.innerText.slice(0, 20),
                                         Math.round(box.width), Math.round(box.height)]);
        }""",
        width,
    )
