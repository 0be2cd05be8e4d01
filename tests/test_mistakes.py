import numpy as np
import pytest

from mnist_cnn.figures import CORRECT_BACKGROUND, confusion_cells, confusion_matrix_figure, probability_bar_chart
from mnist_cnn.mistakes import confusion_matrix, find_mistakes, most_confused_pairs, page_bounds


def one_hot_probabilities(predictions, confidences):
    """Probabilities whose argmax is ``predictions`` with the given top probability."""
    probabilities = np.zeros((len(predictions), 10))
    for row, (digit, confidence) in enumerate(zip(predictions, confidences, strict=False)):
        probabilities[row] = (1 - confidence) / 9
        probabilities[row, digit] = confidence
    return probabilities


LABELS = np.array([3, 5, 5, 7, 1, 3, 8])
PREDICTIONS = np.array([3, 3, 6, 7, 7, 8, 8])
CONFIDENCES = np.array([0.9, 0.6, 0.95, 0.8, 0.3, 0.99, 0.7])
PROBABILITIES = one_hot_probabilities(PREDICTIONS, CONFIDENCES)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    confusion = confusion_matrix(LABELS, PREDICTIONS)
    assert confusion.sum() == 7 and np.trace(confusion) == 3
    assert confusion[5, 3] == 1 and confusion[5, 6] == 1 and confusion[1, 7] == 1 and confusion[3, 8] == 1
    assert confusion[3, 3] == 1 and confusion[7, 7] == 1 and confusion[8, 8] == 1


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="from 0 to 9"):
        confusion_matrix(np.array([1, 12]), np.array([1, 2]))
    with pytest.raises(ValueError, match="as many predictions as labels"):
        confusion_matrix(np.array([1, 2]), np.array([1]))
    with pytest.raises(ValueError, match="1-D integer array"):
        confusion_matrix(np.array([1.5]), np.array([1]))


def test_mistakes_sorted_by_confidence_both_ways_and_by_index():
    most = find_mistakes(LABELS, PROBABILITIES, order="most confident first")
    assert most.indices.tolist() == [5, 2, 1, 4]
    np.testing.assert_allclose(most.confidences, [0.99, 0.95, 0.6, 0.3])
    assert most.true_digits.tolist() == [3, 5, 5, 1] and most.predicted_digits.tolist() == [8, 6, 3, 7]
    assert find_mistakes(LABELS, PROBABILITIES, order="least confident first").indices.tolist() == [4, 1, 2, 5]
    assert find_mistakes(LABELS, PROBABILITIES, order="test-set index").indices.tolist() == [1, 2, 4, 5]


def test_mistakes_filtered_by_true_and_predicted_digit():
    assert find_mistakes(LABELS, PROBABILITIES, true_digit=5).indices.tolist() == [2, 1]
    assert find_mistakes(LABELS, PROBABILITIES, predicted_digit=7).indices.tolist() == [4]
    assert find_mistakes(LABELS, PROBABILITIES, true_digit=5, predicted_digit=3).indices.tolist() == [1]
    assert len(find_mistakes(LABELS, PROBABILITIES, true_digit=7)) == 0  # its only 7 is right


def test_find_mistakes_rejects_bad_order_and_shapes():
    with pytest.raises(ValueError, match="Unknown sort order 'random'"):
        find_mistakes(LABELS, PROBABILITIES, order="random")
    with pytest.raises(ValueError, match=r"Expected probabilities of shape \(7, 10\), got \(6, 10\)"):
        find_mistakes(LABELS, PROBABILITIES[:6])


@pytest.mark.parametrize(
    "total, page, size, expected",
    [
        (50, 1, 24, (0, 24, 1, 3)),
        (50, 3, 24, (48, 50, 3, 3)),
        (50, 9, 24, (48, 50, 3, 3)),  # past the end: the last page
        (50, 0, 24, (0, 24, 1, 3)),
        (0, 1, 24, (0, 0, 1, 1)),
        (24, 2, 24, (0, 24, 1, 1)),
    ],
)
def test_page_bounds_are_clamped(total, page, size, expected):
    assert page_bounds(total, page, size) == expected


def test_page_size_must_be_positive():
    with pytest.raises(ValueError, match="page size of at least 1, got 0"):
        page_bounds(10, 1, 0)


def test_most_confused_pairs_skip_the_diagonal_and_empty_cells():
    confusion = np.eye(10, dtype=int) * 100
    confusion[4, 9], confusion[7, 2], confusion[3, 5] = 6, 4, 6
    assert most_confused_pairs(confusion, top=5) == [
        {"true digit": 3, "predicted as": 5, "mistakes": 6},
        {"true digit": 4, "predicted as": 9, "mistakes": 6},
        {"true digit": 7, "predicted as": 2, "mistakes": 4},
    ]


def test_confusion_figure_mutes_the_diagonal_and_offers_every_cell_for_clicks():
    confusion = np.eye(10, dtype=int) * 100
    confusion[4, 9] = 6
    figure = confusion_matrix_figure(confusion)
    heatmap, markers = figure.data
    assert np.isnan(heatmap.z[4][4]) and heatmap.z[4][9] == 6 and np.isnan(heatmap.z[0][1])
    assert len(markers.x) == 100
    assert {(a.x, a.y, a.text) for a in figure.layout.annotations} >= {(4, 4, "100")}



def test_confusion_cells_shade_mistakes_by_count_and_keep_the_diagonal_grey():
    confusion = np.eye(10, dtype=int) * 100
    confusion[4, 9], confusion[3, 5] = 6, 1
    cells = confusion_cells(confusion)
    assert len(cells) == 10 and all(len(row) == 10 for row in cells)
    assert cells[4][9]["count"] == 6 and cells[3][5]["count"] == 1 and cells[4][4]["count"] == 100
    assert cells[4][4]["background"] == CORRECT_BACKGROUND
    assert cells[0][1]["background"] == "#ffffff"  # no mistakes: white
    darkest, lightest = cells[4][9]["background"], cells[3][5]["background"]
    assert len({darkest, lightest, "#ffffff", CORRECT_BACKGROUND}) == 4
    assert cells[4][9]["color"] == "#ffffff" and cells[3][5]["color"] != "#ffffff"  # text readable on dark red


def test_confusion_cells_reject_a_matrix_of_the_wrong_shape():
    with pytest.raises(ValueError, match="10 x 10"):
        confusion_cells(np.zeros((9, 10), int))


def test_probability_chart_highlights_the_most_likely_digit():
    figure = probability_bar_chart(PROBABILITIES[2])
    colours = figure.data[0].marker.color
    assert colours[6] != colours[0] and len(set(colours)) == 2
    with pytest.raises(ValueError, match="Expected 10 probabilities, got 3"):
        probability_bar_chart([0.2, 0.3, 0.5])


def test_probability_chart_without_probabilities_has_empty_axes_and_no_highlight():
    figure = probability_bar_chart(None)
    assert list(figure.data[0].y) == [0.0] * 10
    assert len(set(figure.data[0].marker.color)) == 1
    assert figure.layout.yaxis.range == (0, 1.15)  # the same axes as with probabilities
