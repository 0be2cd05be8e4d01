"""Finding, filtering, sorting and paging the test digits a model gets wrong."""
import math
from dataclasses import dataclass

import numpy as np

from mnist_cnn.data import NUM_CLASSES

SORT_ORDERS = ("most confident first", "least confident first", "test-set index")


def confusion_matrix(labels, predictions):
    """(10, 10) counts: row = true digit, column = predicted digit."""
    labels, predictions = _as_digits(labels, "labels"), _as_digits(predictions, "predictions")
    if labels.shape != predictions.shape:
        raise ValueError(f"Expected as many predictions as labels, got {len(predictions)} for {len(labels)}.")
    return np.bincount(labels * NUM_CLASSES + predictions, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def _as_digits(values, name):
    values = np.asarray(values)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"Expected {name} as a 1-D integer array, got {values.dtype} with shape {values.shape}.")
    if len(values) and (values.min() < 0 or values.max() >= NUM_CLASSES):
        raise ValueError(f"Expected {name} from 0 to 9, got values from {values.min()} to {values.max()}.")
    return values.astype(np.int64)


@dataclass(frozen=True)
class Mistakes:
    """Misclassified test digits, one entry per digit, in display order."""

    indices: np.ndarray  # positions in the test set
    true_digits: np.ndarray
    predicted_digits: np.ndarray
    confidences: np.ndarray  # probability of the (wrong) predicted digit

    def __len__(self):
        return len(self.indices)


def find_mistakes(labels, probabilities, true_digit=None, predicted_digit=None, order=SORT_ORDERS[0]):
    """The misclassified digits, optionally only those of one true and/or predicted digit, sorted."""
    labels = _as_digits(labels, "labels")
    probabilities = np.asarray(probabilities)
    if probabilities.shape != (len(labels), NUM_CLASSES):
        raise ValueError(f"Expected probabilities of shape ({len(labels)}, 10), got {probabilities.shape}.")
    if order not in SORT_ORDERS:
        raise ValueError(f"Unknown sort order {order!r}: expected one of {list(SORT_ORDERS)}.")
    predictions = probabilities.argmax(axis=1)
    wrong = predictions != labels
    if true_digit is not None:
        wrong &= labels == true_digit
    if predicted_digit is not None:
        wrong &= predictions == predicted_digit
    indices = np.flatnonzero(wrong)
    confidences = probabilities[indices, predictions[indices]]
    if order == "most confident first":
        ranking = np.argsort(-confidences, kind="stable")
    elif order == "least confident first":
        ranking = np.argsort(confidences, kind="stable")
    else:
        ranking = np.arange(len(indices))
    indices = indices[ranking]
    return Mistakes(indices, labels[indices], predictions[indices], confidences[ranking])


def page_bounds(total, page, page_size):
    """``(start, stop, page, page_count)`` for a 1-based page, clamped to the pages that exist."""
    if page_size < 1:
        raise ValueError(f"Expected a page size of at least 1, got {page_size}.")
    page_count = max(1, math.ceil(total / page_size))
    page = min(max(1, int(page)), page_count)
    start = (page - 1) * page_size
    return start, min(start + page_size, total), page, page_count


def most_confused_pairs(confusion, top=10):
    """The off-diagonal cells with the most mistakes: rows of true digit, predicted digit, count."""
    off_diagonal = np.array(confusion, copy=True)
    np.fill_diagonal(off_diagonal, 0)
    order = np.argsort(-off_diagonal, axis=None, kind="stable")[:top]
    rows = []
    for flat in order:
        true_digit, predicted_digit = divmod(int(flat), NUM_CLASSES)
        count = int(off_diagonal[true_digit, predicted_digit])
        if count == 0:
            break
        rows.append({"true digit": true_digit, "predicted as": predicted_digit, "mistakes": count})
    return rows

