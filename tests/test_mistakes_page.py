import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_cnn.data import load_test_set
from mnist_cnn.model import load_bundled_model
from mnist_cnn.predict import Predictor
from support.app_server import save_screenshot, wait_for_app_idle

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "3_Mistakes.py")


def count_text(app):
    return next(m.value for m in app.markdown if re.match(r"\*\*\d+\*\* mistakes", m.value))


@pytest.fixture(scope="module")
def bundled_predictions():
    images, labels = load_test_set()
    return labels, Predictor(load_bundled_model()).probabilities(images).argmax(axis=1)


def test_count_equals_test_set_minus_correct_predictions(bundled_predictions):
    labels, predictions = bundled_predictions
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception
    expected = len(labels) - int((predictions == labels).sum())
    assert count_text(app).startswith(f"**{expected}** mistakes")


def test_filters_narrow_the_gallery_and_clear_restores_it(bundled_predictions):
    labels, predictions = bundled_predictions
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    app.selectbox(key="true_filter").set_value(4).run()
    app.selectbox(key="predicted_filter").set_value(9).run()
    expected = int(((labels == 4) & (predictions == 9)).sum())
    assert count_text(app) == f"**{expected}** mistakes of true digit 4 predicted as 9"
    assert len(app.image) == min(expected, 24)

    app.selectbox(key="true_filter").set_value(1).run()
    app.selectbox(key="predicted_filter").set_value(1).run()
    assert count_text(app).startswith("**0** mistakes")
    assert "No mistakes match this filter" in app.info[0].value

    app.button[0].click().run()  # Clear
    assert count_text(app).startswith(f"**{int((labels != predictions).sum())}** mistakes")


def test_inspecting_a_digit_shows_it_with_its_probabilities(bundled_predictions):
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    inspect_buttons = [button for button in app.button if button.label == "Inspect"]
    first_index = int(inspect_buttons[0].key.removeprefix("inspect-"))
    inspect_buttons[0].click().run()
    assert not app.exception
    assert any(header.value == f"Test digit #{first_index}" for header in app.subheader)


@pytest.mark.browser
def test_clicking_a_confusion_cell_filters_the_gallery(app_url, page, bundled_predictions):
    labels, predictions = bundled_predictions
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, predictions), 1)
    np.fill_diagonal(confusion, 0)
    true_digit, predicted_digit = np.unravel_index(confusion.argmax(), confusion.shape)

    page.set_viewport_size({"width": 1280, "height": 1600})
    page.goto(f"{app_url}/Mistakes")
    count = page.locator(".st-key-mistake-count")
    count.wait_for(timeout=120_000)
    wait_for_app_idle(page)
    assert re.search(r"\d+", count.inner_text()).group() == str(int(confusion.sum()))

    plot = page.locator(".js-plotly-plot").first
    plot.wait_for()
    x, y = plot.evaluate(
        """(gd, cell) => {
            const box = gd.getBoundingClientRect(), layout = gd._fullLayout;
            return [box.left + layout.xaxis._offset + layout.xaxis.l2p(cell[1]),
                    box.top + layout.yaxis._offset + layout.yaxis.l2p(cell[0])];
        }""",
        [int(true_digit), int(predicted_digit)],
    )
    page.mouse.click(x, y)
    expected = f"{confusion[true_digit, predicted_digit]} mistakes of true digit {true_digit} predicted as {predicted_digit}"
    page.wait_for_function(
        "expected => document.querySelector('.st-key-mistake-count').innerText.includes(expected)",
        arg=expected,
        timeout=30_000,
    )
    # The count updates before the gallery below it is redrawn, and stale images linger
    # until the rerun ends, so wait for the gallery itself to settle.
    n_expected = int(confusion[true_digit, predicted_digit])
    page.wait_for_function(
        "n => document.querySelectorAll(\"[data-testid='stImageCaption']\").length === n",
        arg=n_expected,
        timeout=30_000,
    )
    wait_for_app_idle(page)
    gallery_captions = page.locator("[data-testid='stImageCaption']").all_inner_texts()
    assert len(gallery_captions) == n_expected
    assert all(f": {true_digit} read as {predicted_digit} " in caption for caption in gallery_captions)
    save_screenshot(page, "mistakes-filtered")
