"""Connected pieces of ink: which inked pixels touch, in NumPy alone (no SciPy).

Two inked pixels belong to one component when a chain of inked pixels joins them, each touching the
next by a side or a corner (8-connectivity). The work is done on runs, not pixels: a run is a
horizontal stretch of inked pixels in one row, and a handwritten row crosses a stroke only a few
times, so a canvas of 100,000 pixels holds a few thousand runs. A run in row r touches a run in row
r + 1 when their column ranges, widened by one for the corners, overlap; the components are then the
connected parts of this graph of runs, found by "hook and compress": every run points to the
smallest run it is joined to, and pointers are followed until nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Components:
    """The components of a mask: ``labels`` (H, W) int32, 0 = background, k = component k - 1;
    ``boxes`` (n, 4) as [x0, y0, x1, y1) (end exclusive); ``areas`` (n,) inked pixels each."""

    labels: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray

    @property
    def count(self) -> int:
        return len(self.areas)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs of a (H, W) bool mask, in row-major order: rows, starts and ends (exclusive)."""
    h, w = mask.shape
    edges = np.zeros((h, w + 2), dtype=np.int8)
    edges[:, 1:-1] = mask
    step = np.diff(edges, axis=1)  # (H, W + 1): +1 where a run starts, -1 just past where it ends
    rows, starts = np.nonzero(step == 1)
    _, ends = np.nonzero(step == -1)  # the same rows, in the same order: runs alternate start/end
    return rows, starts, ends


def touching_runs(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """(E, 2) pairs of runs in neighbouring rows that touch, by side or corner.

    Run j in row r + 1 covering [s, e) touches run i in row r when s_i <= e_j and e_i >= s_j. As the
    runs of a row are sorted and disjoint, those i are one contiguous range, found by binary search
    on keys row * (width + 2) + column, which keep rows apart.
    """
    stride = width + 2
    start_keys, end_keys = rows * stride + starts, rows * stride + ends
    above = (rows - 1) * stride
    first = np.searchsorted(end_keys, above + starts, side="left")  # first i of row r with e_i >= s_j
    last = np.searchsorted(start_keys, above + ends, side="right") - 1  # last i with s_i <= e_j
    count = np.maximum(last - first + 1, 0)
    j = np.repeat(np.arange(len(rows)), count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return np.stack([np.repeat(first, count) + offsets, j], axis=1)


def join(n: int, pairs: np.ndarray) -> np.ndarray:
    """(n,) component id of each of n nodes joined by ``pairs``: ids 0.. in order of first node."""
    parent = np.arange(n)
    a, b = pairs[:, 0], pairs[:, 1]
    while True:
        low = np.minimum(parent[a], parent[b])
        before = parent.copy()
        np.minimum.at(parent, parent[a], low)  # hook: each root points to the smallest root it meets
        np.minimum.at(parent, parent[b], low)
        while not np.array_equal(parent, parent[parent]):  # compress: point straight at the root
            parent = parent[parent]
        if np.array_equal(parent, before):
            break
    return np.unique(parent, return_inverse=True)[1]


def components(mask: np.ndarray) -> Components:
    """The 8-connected components of a (H, W) bool mask, numbered left to right by first run."""
    h, w = mask.shape
    rows, starts, ends = runs(mask)
    ids = join(len(rows), touching_runs(rows, starts, ends, w))
    lengths = ends - starts
    labels = np.zeros(h * w, dtype=np.int32)
    flat = np.repeat(rows * w + starts, lengths) + (np.arange(lengths.sum())
                                                  - np.repeat(np.cumsum(lengths) - lengths, lengths))
    labels[flat] = np.repeat(ids + 1, lengths)
    n = int(ids.max()) + 1 if len(ids) else 0
    boxes = np.zeros((n, 4), dtype=np.int64)
    boxes[:, :2] = [w, h]
    np.minimum.at(boxes[:, 0], ids, starts)
    np.minimum.at(boxes[:, 1], ids, rows)
    np.maximum.at(boxes[:, 2], ids, ends)
    np.maximum.at(boxes[:, 3], ids, rows + 1)
    areas = np.bincount(ids, weights=lengths, minlength=n).astype(np.int64)
    return Components(labels.reshape(h, w), boxes, areas)
