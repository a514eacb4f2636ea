"""A scribble: a random walk in the pendigits' 500x500 box, no digit, though softmax still names one.

The tests of "not a digit" draw one (tests/app/reading/test_predictor.py, tests/app/test_page.py), and
benchmarks/not_a_digit.py scores hundreds against the network's energy threshold.
"""

from __future__ import annotations

import numpy as np

Strokes = list[list[tuple[float, float]]]


def scribble(rng: np.random.Generator) -> Strokes:
    """One stroke of 15-59 steps, each normal with a spread of 40, centred on (250, 250)."""
    steps = np.cumsum(rng.normal(0, 40, (int(rng.integers(15, 60)), 2)), axis=0)
    return [[(float(x), float(y)) for x, y in steps - steps.mean(axis=0) + 250]]
