import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_cnn.data import load_test_set
from support.app_server import save_screenshot, wait_for_app_idle
from support.touch import PHONE, too_small_tap_targets
from ui.mistakes import PAGE_SIZE

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "3_Mistakes.py")
COUNT = ".st-key-mistake-count"
CAPTIONS = ".st-key-gallery [data-testid='stImageCaption']"


def count_text(app):
    return next(m.value for m in app.markdown if re.match(r"\*\*\d+\*\* mistakes", m.value))


@pytest.fixture(scope="module")
def bundled_predictions(predictor):
    images, labels = load_test_set()
    return labels, predictor.probabilities(images).argmax(axis=1)


@pytest.fixture(scope="module")
def confusion(bundled_predictions):
    labels, predictions = bundled_predictions
    matrix = np.zeros((10, 10), int)
    np.add.at(matrix, (labels, predictions), 1)
    np.fill_diagonal(matrix, 0)
    return matrix


def test_count_equals_test_set_minus_correct_predictions(bundled_predictions):
    labels, predictions = bundled_predictions
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception
    expected = len(labels) - int((predictions == labels).sum())
    assert count_text(app).startswith(f"**{expected}** mistakes")


def test_filters_narrow_the_gallery_and_clear_resets_them_to_any(bundled_predictions):
    labels, predictions = bundled_predictions
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert app.selectbox(key="true_filter").value == "any" and app.selectbox(key="predicted_filter").value == "any"
    app.selectbox(key="true_filter").set_value(4).run()
    app.selectbox(key="predicted_filter").set_value(9).run()
    expected = int(((labels == 4) & (predictions == 9)).sum())
    assert count_text(app) == f"**{expected}** mistakes of true digit 4 predicted as 9"
    assert len([button for button in app.button if button.label == "Inspect"]) == min(expected, PAGE_SIZE)

    app.selectbox(key="true_filter").set_value(1).run()
    app.selectbox(key="predicted_filter").set_value(1).run()
    assert count_text(app).startswith("**0** mistakes")
    assert "No mistakes match this filter" in app.info[0].value

    app.button(key="clear-filters").click().run()
    assert count_text(app).startswith(f"**{int((labels != predictions).sum())}** mistakes")
    # Both filters show "any" again, not an empty "Choose an option".
    assert app.selectbox(key="true_filter").value == "any" and app.selectbox(key="predicted_filter").value == "any"


def test_inspecting_a_digit_opens_a_dialog_with_it_and_its_probabilities(bundled_predictions):
    labels, _ = bundled_predictions
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    inspect_buttons = [button for button in app.button if button.label == "Inspect"]
    first_index = int(inspect_buttons[0].key.removeprefix("inspect-"))
    inspect_buttons[0].click().run()
    assert not app.exception
    (dialog,) = app.get("dialog")
    assert dialog.proto.dialog.title == f"Test digit #{first_index}"
    assert any(f"True label **{labels[first_index]}**" in markdown.value for markdown in dialog.markdown)
    assert len(dialog.get("plotly_chart")) == 1


def open_mistakes_page(page, app_url):
    page.goto(f"{app_url}/Mistakes")
    page.locator(COUNT).wait_for(timeout=120_000)
    wait_for_app_idle(page)


def matrix_cell(page, true_digit, predicted_digit):
    return page.locator(f".cm-cell[data-true='{true_digit}'][data-predicted='{predicted_digit}']")


def wait_for_gallery(page, expected_count_text, expected_tiles):
    """Wait for the count line, then for the gallery below it to hold exactly ``expected_tiles`` tiles
    (the count updates before the gallery, and stale tiles linger until the rerun ends)."""
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.innerText.includes(text)", arg=[COUNT, expected_count_text], timeout=30_000
    )
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length === n", arg=[CAPTIONS, expected_tiles], timeout=30_000
    )
    wait_for_app_idle(page)
    return page.locator(CAPTIONS).all_inner_texts()


@pytest.mark.browser
def test_a_phone_taps_matrix_cells_and_pairs_and_inspects_a_digit(app_url, browser, confusion):
    context = browser.new_context(**PHONE)
    phone = context.new_page()
    try:
        open_mistakes_page(phone, app_url)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
        phone.locator(".cm-cell").first.wait_for(timeout=30_000)  # the matrix component mounts after the page
        assert len(phone.locator(".cm-cell").all()) == 100
        assert too_small_tap_targets(phone) == []

        # Three cells with mistakes, tapped one after another: each shows exactly its own digits.
        pairs = [tuple(int(d) for d in np.unravel_index(flat, confusion.shape)) for flat in np.argsort(-confusion, axis=None)[:3]]
        for true_digit, predicted_digit in pairs:
            cell = matrix_cell(phone, true_digit, predicted_digit)
            cell.scroll_into_view_if_needed()
            cell.tap()
            n = int(confusion[true_digit, predicted_digit])
            captions = wait_for_gallery(phone, f"{n} mistakes of true digit {true_digit} predicted as {predicted_digit}", min(n, PAGE_SIZE))
            assert all(f": {true_digit} read as {predicted_digit} " in caption for caption in captions)
            assert phone.locator(".cm-cell[aria-pressed='true']").count() == 1  # the chosen cell is outlined
            assert matrix_cell(phone, true_digit, predicted_digit).get_attribute("aria-pressed") == "true"
        save_screenshot(phone, "mistakes-phone-cell")

        # Three equal tiles per row.
        tiles = [tile.bounding_box() for tile in phone.locator(".st-key-gallery [data-testid='stImage'] img").all()]
        assert len({round(tile["y"]) for tile in tiles[:3]}) == 1 and round(tiles[3]["y"]) > round(tiles[0]["y"])
        assert max(tile["width"] for tile in tiles) - min(tile["width"] for tile in tiles) < 1 and tiles[0]["width"] >= 90

        # The most confused pairs are tappable too.
        true_digit, predicted_digit = pairs[1]
        n = int(confusion[true_digit, predicted_digit])
        pill = phone.locator(".st-key-confused-pairs button").filter(has_text=f"{true_digit} → {predicted_digit}: {n}")
        pill.scroll_into_view_if_needed()
        pill.tap()
        captions = wait_for_gallery(phone, f"{n} mistakes of true digit {true_digit} predicted as {predicted_digit}", min(n, PAGE_SIZE))
        assert all(f": {true_digit} read as {predicted_digit} " in caption for caption in captions)

        clear = phone.locator(".st-key-clear-filters button")
        clear.scroll_into_view_if_needed()
        clear.tap()
        wait_for_gallery(phone, f"{confusion.sum()} mistakes", PAGE_SIZE)
        filters = phone.locator(".st-key-gallery-filters input[role='combobox']").evaluate_all("inputs => inputs.map(i => i.value)")
        assert filters[:2] == ["any", "any"]  # not an empty "Choose an option"
        assert phone.locator(".cm-cell[aria-pressed='true']").count() == 0
        assert phone.locator("[data-testid='stPagination']").count() == 1  # 75 mistakes: pages of 12

        inspect = phone.get_by_role("button", name="Inspect").nth(4)
        inspect.scroll_into_view_if_needed()
        tile_class = inspect.locator("xpath=ancestor::*[contains(@class, 'st-key-tile-')][1]").get_attribute("class")
        index = re.search(r"st-key-tile-(\d+)", tile_class).group(1)
        inspect.tap()
        dialog = phone.get_by_role("dialog")
        dialog.wait_for(timeout=30_000)
        wait_for_app_idle(phone)
        box = dialog.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["y"] >= 0 and box["y"] < 740  # where the user is
        assert f"Test digit #{index}" in dialog.inner_text()
        save_screenshot(phone, "mistakes-phone-dialog")
    finally:
        context.close()


@pytest.mark.browser
def test_clicking_a_confusion_cell_on_a_desktop_filters_the_gallery(app_url, page, confusion):
    true_digit, predicted_digit = (int(d) for d in np.unravel_index(confusion.argmax(), confusion.shape))
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_mistakes_page(page, app_url)
    wait_for_gallery(page, f"{confusion.sum()} mistakes", PAGE_SIZE)
    page.locator(".cm-cell").first.wait_for(timeout=30_000)
    tiles = [tile.bounding_box() for tile in page.locator(".st-key-gallery [data-testid='stImage'] img").all()]
    assert len({round(tile["y"]) for tile in tiles[:6]}) == 1  # six tiles per row on a desktop

    matrix_cell(page, true_digit, predicted_digit).click()
    n = int(confusion[true_digit, predicted_digit])
    captions = wait_for_gallery(page, f"{n} mistakes of true digit {true_digit} predicted as {predicted_digit}", min(n, PAGE_SIZE))
    assert all(f": {true_digit} read as {predicted_digit} " in caption for caption in captions)
    save_screenshot(page, "mistakes-desktop-filtered")
