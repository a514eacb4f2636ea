"""Strokes into digits: when the client sends the strokes it drew, they say which ink goes together.

A digit is written with one to three strokes, and two strokes of one digit lie over one another
(the bar of a 7 across its stem, the flag of a 5 over its body, the two strokes of a 4); two digits
side by side overlap by little, even when their inks touch. So strokes are grouped by their column
ranges, pen included: two groups whose ranges overlap by at least STROKE_JOIN of the narrower one's
width are one, until no two do. Each group's ink (the pixels its strokes drew, which the caller
finds) is then one starting piece of ``model.images.segment``, in place of the ink's connected components:
touching digits start apart, and the rules (specks, joins, splits) go on from there.

The work is a few comparisons per pair of strokes: at most MAX_STROKES^2 per pass, and at most
MAX_STROKES passes (each pass but the last joins two groups). NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# chosen on the held-out model's own writers (docs/numbers.md): 0.5 split the 0s and 4s drawn in two strokes
STROKE_JOIN = 0.3


def column_ranges(strokes: Sequence[np.ndarray], pen: float) -> np.ndarray:
    """(S, 2): each stroke's [x0, x1] of ink, its points (n, 2) of (x, y) widened by half the pen."""
    return np.array([[s[:, 0].min() - pen / 2, s[:, 0].max() + pen / 2] for s in strokes]).reshape(-1, 2)


def shared(a: np.ndarray, b: np.ndarray) -> float:
    """How much of the narrower of two column ranges [x0, x1] the other covers, 0 to 1."""
    width = min(a[1] - a[0], b[1] - b[0])
    return max(0.0, float(min(a[1], b[1]) - max(a[0], b[0]))) / max(width, 1e-9)


def group_strokes(ranges: np.ndarray) -> list[list[int]]:
    """The strokes' indices in groups, left to right, from their column ranges (S, 2)."""
    groups = [[int(i)] for i in np.argsort(ranges[:, 0], kind="stable")]
    spans = [ranges[g[0]].copy() for g in groups]
    joined = True
    while joined:
        joined = False
        pairs = ((i, j) for i in range(len(groups)) for j in range(i + 1, len(groups)))
        found = next(((i, j) for i, j in pairs if shared(spans[i], spans[j]) >= STROKE_JOIN), None)
        if found is not None:
            i, j = found
            groups[i] += groups.pop(j)
            other = spans.pop(j)
            spans[i] = np.array([min(spans[i][0], other[0]), max(spans[i][1], other[1])])
            joined = True
    order = np.argsort([s[0] + s[1] for s in spans], kind="stable")
    return [sorted(groups[k]) for k in order]
