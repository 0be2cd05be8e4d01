"""Putting a prediction into words: the digit, how sure the network is, and the runner-up."""
from dataclasses import dataclass

import numpy as np

# Below this top probability the page says "not sure" instead of claiming a digit.
CONFIDENT_PROBABILITY = 0.6


@dataclass(frozen=True)
class Reading:
    digit: int
    probability: float
    runner_up: int
    runner_up_probability: float

    @property
    def confident(self):
        return self.probability >= CONFIDENT_PROBABILITY


def read_probabilities(probabilities):
    """The most and second most likely digits of one (10,) probability vector."""
    probabilities = np.asarray(probabilities, dtype=float).reshape(-1)
    if probabilities.shape != (10,):
        raise ValueError(f"Expected 10 probabilities, got {probabilities.size}.")
    second, first = np.argsort(probabilities)[-2:]
    return Reading(int(first), float(probabilities[first]), int(second), float(probabilities[second]))
