"""Server-side latency of explaining a reading: a what-if slider change, saliency, look-alikes.

    python benchmarks/explain_latency.py [--repeats 60] [--first-calls 3] [--in-server 40]

Each drawing is timed for all parts in a rotating order, interleaved with a baseline: reading the
drawing once (preprocessing + one prediction, what the Draw page does for every drawing).
A slider change counts what the fragment computes and serializes: the changed image, the
probabilities, the bar chart as JSON and the image as PNG. ``--in-server N`` also moves a slider
N times in chromium against a live app and times each change inside the server, from the
browser's rerun request to the end of the fragment's run (benchmarks/timed_streamlit.py).
"""
import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import plotly.io  # noqa: E402
from PIL import Image  # noqa: E402

from mnist_cnn.data import load_test_set  # noqa: E402
from mnist_cnn.display import enlarge  # noqa: E402
from mnist_cnn.explain import (  # noqa: E402
    WHAT_IF_SLIDERS,
    LookAlikes,
    WhatIf,
    occlusion_saliency,
    saliency_overlay,
    what_if,
)
from mnist_cnn.figures import probability_bar_chart  # noqa: E402
from mnist_cnn.model import load_bundled_model  # noqa: E402
from mnist_cnn.predict import Predictor  # noqa: E402
from mnist_cnn.preprocess import canvas_to_mnist  # noqa: E402
from support.canvas_styles import place_digit, render_on_canvas  # noqa: E402

MB = 2**20


def summary(values):
    return {"median_ms": round(float(np.median(values)), 2), "p95_ms": round(float(np.percentile(values, 95)), 2)}


def png(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def random_change(rng):
    values = {}
    for name, slider in WHAT_IF_SLIDERS.items():
        steps = round((slider.maximum - slider.minimum) / slider.step)
        values[name] = round(slider.minimum + slider.step * int(rng.integers(0, steps + 1)), 6)
    return WhatIf(**values)


def resident_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / MB


SEVEN = [(70 + 8 * k, 70) for k in range(17)] + [(200 - 5 * k, 70 + 10 * k) for k in range(1, 17)]


def in_server_slider_changes(count):
    """Milliseconds inside the server for ``count`` changes of the rotation slider on the Draw page."""
    # Here, not at the top: the memory figures above are this process's, taken without a browser driver loaded.
    from playwright.sync_api import sync_playwright

    from benchmarks.timed_streamlit import start_timed_streamlit
    from support.app_server import CHROMIUM, CHROMIUM_ARGS, wait_for_app_idle

    os.environ["STREAMLIT_TIMINGS_RUN_ENDS"] = "1"
    with tempfile.TemporaryDirectory() as runs:
        timings = Path(runs) / "server-timings.jsonl"
        server, url = start_timed_streamlit(runs, timings)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                # The home page first: a server whose first visit is a deep link to /Draw never runs
                # app.py's tuning, and Streamlit then collects all garbage after every run (~1 s here).
                page.goto(url)
                page.get_by_text("MNIST CNN Studio").first.wait_for(timeout=120_000)
                wait_for_app_idle(page)
                page.goto(f"{url}/Draw")
                canvas = page.locator("canvas.upper-canvas").first
                canvas.wait_for(timeout=120_000)
                wait_for_app_idle(page)
                box = canvas.bounding_box()
                page.mouse.move(box["x"] + SEVEN[0][0], box["y"] + SEVEN[0][1])
                page.mouse.down()
                for x, y in SEVEN[1:]:
                    page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
                page.mouse.up()
                page.get_by_text("Why this answer?").wait_for(timeout=60_000)
                wait_for_app_idle(page)
                page.locator("[data-testid='stExpander']").filter(has_text="What if").locator("summary").click()
                reading = page.locator(".st-key-draw-what-if-reading")
                reading.wait_for(timeout=60_000)
                wait_for_app_idle(page)
                start = len(timings.read_text().splitlines())
                thumb = page.locator("[data-testid='stSlider']").filter(has_text="Rotate").get_by_role("slider")
                thumb.focus()
                for change in range(count):
                    finished = timings.read_text().count('"run_finished"')
                    thumb.press("ArrowLeft" if change % 24 < 12 else "ArrowRight")  # 5 degrees a press, to -60 and back
                    deadline = time.monotonic() + 30
                    while timings.read_text().count('"run_finished"') == finished:  # the fragment ran
                        if time.monotonic() > deadline:
                            raise TimeoutError("a slider change did not rerun the fragment within 30 s")
                        time.sleep(0.02)
                    wait_for_app_idle(page)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
        events = [json.loads(line) for line in timings.read_text().splitlines()[start:]]
    requested, milliseconds = None, []
    for event in events:
        if event["event"] == "rerun_requested":
            requested = event["t"]
        elif event["event"] == "run_finished" and requested is not None:
            milliseconds.append((event["t"] - requested) * 1000)
            requested = None
    return milliseconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--first-calls", type=int, default=3, help="look-alike precomputes to time (each from scratch)")
    parser.add_argument("--in-server", type=int, default=0, metavar="N", help="also time N slider changes inside a live app")
    args = parser.parse_args()

    images, labels = load_test_set()
    rng = np.random.default_rng(0)
    canvases = []
    for index in range(args.repeats):
        size = int(rng.integers(80, 261))
        top, left = (int(v) for v in rng.integers(0, 281 - size, 2))
        canvases.append(render_on_canvas(place_digit(images[index], size, top, left), "light ink on dark"))
    predictor = Predictor(load_bundled_model())

    first_calls, memory = [], []
    for _ in range(args.first_calls):
        before = resident_mb()
        started = time.perf_counter()
        look_alikes = LookAlikes(predictor.model, images, labels)
        look_alikes.nearest(canvas_to_mnist(canvases[0]))
        first_calls.append((time.perf_counter() - started) * 1000)
        memory.append(resident_mb() - before)

    def baseline(canvas):
        predictor.probabilities(canvas_to_mnist(canvas))

    def slider_change(image):
        changed = what_if(image, random_change(rng))
        original, now = predictor.probabilities(np.stack([image, changed]))
        plotly.io.to_json(probability_bar_chart(now, height=220))
        png(enlarge(changed, 3))

    def saliency(image):
        maps = occlusion_saliency(image, predictor)
        predicted = int(predictor.probabilities(image)[0].argmax())
        for digit in (predicted, (predicted + 1) % 10):
            png(saliency_overlay(image, maps[digit], 5))

    def look_alike(image):
        nearest, _ = look_alikes.nearest(image)
        for index in nearest:
            png(enlarge(images[index], 5))

    parts = {"slider_change": slider_change, "saliency": saliency, "look_alikes_warm": look_alike}
    timings = {name: [] for name in ["baseline_one_reading", *parts]}
    image = canvas_to_mnist(canvases[0])
    for function in parts.values():  # warm-up
        function(image)
    for number, canvas in enumerate(canvases):
        image = canvas_to_mnist(canvas)
        order = list(parts)
        order = order[number % len(order) :] + order[: number % len(order)]
        for name in ["baseline_one_reading", *order]:
            started = time.perf_counter()
            (baseline(canvas) if name == "baseline_one_reading" else parts[name](image))
            timings[name].append((time.perf_counter() - started) * 1000)

    baseline_median = np.median(timings["baseline_one_reading"])
    in_server = in_server_slider_changes(args.in_server) if args.in_server else []
    print(
        json.dumps(
            {
                "drawings": args.repeats,
                **{
                    name: {**summary(values), "x_baseline": round(float(np.median(values) / baseline_median), 1)}
                    for name, values in timings.items()
                },
                **({"slider_change_in_server": {"changes": len(in_server), **summary(in_server)}} if in_server else {}),
                "look_alikes_first_call": {
                    "runs": args.first_calls,
                    **summary(first_calls),
                    "features_mb": round(look_alikes.nbytes / MB, 1),
                    "resident_growth_mb": [round(value, 1) for value in memory],
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
