"""WCAG contrast of the app's colours: the confusion grid's cells, plotly's text, the digit picked instead of drawn."""
import numpy as np
import pytest

from mnist_cnn.contrast import AA_TEXT_CONTRAST, contrast_ratio, readable_text_colour, rgb
from mnist_cnn.display import digit_as_canvas
from mnist_cnn.figures import confusion_cells, confusion_matrix_figure, label_counts_figure, probability_bar_chart


def test_contrast_ratios_match_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # WCAG's classic just-fails grey
    assert contrast_ratio("rgb(255, 255, 255)", "#ffffff") == pytest.approx(1.0)
    assert rgb("rgba(17, 24, 39, 0.5)") == (17, 24, 39)
    with pytest.raises(ValueError, match="Not a colour"):
        rgb("teal")


def test_every_confusion_cell_has_readable_text_whatever_the_counts():
    rng = np.random.default_rng(0)
    confusion = rng.integers(0, 60, (10, 10)) ** 2  # counts from none to many: every shade of red
    np.fill_diagonal(confusion, 980)
    for row in confusion_cells(confusion):
        for cell in row:
            assert contrast_ratio(cell["color"], cell["background"]) >= AA_TEXT_CONTRAST, cell


def test_readable_text_colour_is_dark_on_light_and_white_on_dark():
    assert readable_text_colour("#fee2e2") == "#000000"
    assert readable_text_colour("#67000d") == "#ffffff"


@pytest.mark.parametrize(
    "figure",
    [probability_bar_chart(np.full(10, 0.1)), label_counts_figure(np.arange(10)), confusion_matrix_figure(np.eye(10, dtype=int) * 5)],
    ids=["probabilities", "label counts", "confusion matrix"],
)
def test_plotly_text_is_set_dark_over_the_streamlit_theme(figure):
    layout = figure.layout
    colours = [layout.font.color, *(axis.tickfont.color for axis in (layout.xaxis, layout.yaxis)),
               *(axis.title.font.color for axis in (layout.xaxis, layout.yaxis))]
    colours += [annotation.font.color for annotation in layout.annotations]
    assert all(contrast_ratio(colour, "#ffffff") >= AA_TEXT_CONTRAST for colour in colours), colours


def test_a_test_digit_becomes_the_canvas_a_drawing_of_it_would_be():
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255
    canvas = digit_as_canvas(digit, 280)
    assert canvas.shape == (280, 280, 4) and canvas.dtype == np.uint8
    assert (canvas[..., 3] == 255).all() and (canvas[40:240, 120:160, :3] == 255).all() and canvas[:40, :, :3].max() == 0
