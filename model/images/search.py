"""Segmentation by recognition: the best way to cut one doubtful piece of ink into digits.

A piece that may hold one digit or several (two touching digits, a wide digit) is cut at candidate
columns c_0 = 0 < c_1 < ... < c_m < c_{m+1} = w: the valleys of its column profile (inked pixels
per column, smoothed over SMOOTH * h columns, h the line height), the thinnest first, at most
MAX_CUTS of them, SPACING * h apart and EDGE * h from the sides. Every run of at most SPAN
neighbouring atoms, the ink of columns [c_i, c_j), is a candidate digit, read once by the network
(all in one batch, each input counted on the page's budget). A candidate costs

    cost(i, j) = -log p_max + ENERGY_PRICE * max(0, ENERGY_FLOOR - E)

with E its energy, the log-sum-exp of its logits (model/novelty.py). The network reads two touching
digits as one with confidence, so p_max alone keeps pairs whole; but a pair, or a slice of a digit,
looks less like a digit than a digit does (docs/numbers.md: a median energy of 5.8 for a pair, 12.5
for one digit). A candidate lower than TALL * h (a slice of a joining stroke) is no digit. The
reading is the path 0 -> m + 1 of least total cost, by dynamic programming over the cut points:

    best(0) = 0,    best(j) = min over i of best(i) + cost(i, j)

The whole piece is always a candidate, so that a single digit stays whole. The constants were
chosen on the held-out model's own writers (docs/numbers.md). NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from model.images.pieces import TALL, Page, Piece, cut_columns, scores

SPACING, EDGE, SMOOTH = 0.15, 0.15, 0.1  # shares of the line height
MAX_CUTS, SPAN = 4, 3  # at most 13 inputs a piece: the spans of 5 atoms of up to 3, and the whole
ENERGY_FLOOR, ENERGY_PRICE = 11.0, 1.0

Cost = Callable[[list[tuple[int, int]]], np.ndarray]  # spans (i, j) of atoms -> (n,) costs


def spans(count: int, span: int = SPAN) -> list[tuple[int, int]]:
    """The spans (i, j) of at most ``span`` of ``count`` atoms, and the whole (0, count), by i."""
    runs = {(i, j) for j in range(1, count + 1) for i in range(max(0, j - span), j)}
    return sorted(runs | {(0, count)})


def best_path(count: int, cost: Cost, span: int = SPAN) -> list[int]:
    """The points 0 = k_0 < k_1 < ... = ``count`` that minimise the sum of ``cost`` over their spans.

    ``cost`` is called once, with every span of ``spans(count, span)``; an infinite cost rules a span
    out (when all paths are ruled out, the whole is taken). Returns the points, the ends included."""
    candidates = spans(count, span)
    costs = cost(candidates)
    best, back = np.full(count + 1, np.inf), np.zeros(count + 1, dtype=int)
    best[0] = 0.0
    for (i, j), c in zip(candidates, costs, strict=True):  # by i: best(i) is final when reached
        if best[i] + c < best[j]:
            best[j], back[j] = best[i] + c, i
    if not np.isfinite(best[count]):
        return [0, count]
    points = [count]
    while points[-1] > 0:
        points.append(int(back[points[-1]]))
    return points[::-1]


def candidate_columns(piece: Piece, line: float) -> list[int]:
    """Up to MAX_CUTS columns inside ``piece`` where two digits may meet, left to right."""
    spacing, edge = max(1, int(SPACING * line)), max(1, int(EDGE * line))
    window = 2 * int(SMOOTH * line / 2) + 1
    profile = np.convolve(piece.mask.sum(axis=0), np.ones(window) / window, mode="same")
    inner = np.arange(edge, piece.width - edge)
    if len(inner) == 0:
        return []
    left, right = profile[inner - 1], profile[np.minimum(inner + 1, piece.width - 1)]
    valleys = inner[(profile[inner] <= left) & (profile[inner] <= right)]
    chosen: list[int] = []
    for column in valleys[np.argsort(profile[valleys], kind="stable")]:
        if all(abs(column - c) >= spacing for c in chosen):
            chosen.append(int(column))
        if len(chosen) == MAX_CUTS:
            break
    return sorted(chosen)


def segment_piece(piece: Piece, line: float, page: Page) -> list[Piece]:
    """The digits of one doubtful ``piece``, left to right: the least costly path through its cuts."""
    points = [0, *candidate_columns(piece, line), piece.width]

    def cost(runs: list[tuple[int, int]]) -> np.ndarray:
        parts = [cut_columns(piece, points[i], points[j]) for i, j in runs]
        tall = {k: p for k, p in enumerate(parts) if p is not None and p.height >= TALL * line}
        sure, energies = scores(list(tall.values()), page)
        costs = np.full(len(runs), np.inf)
        costs[list(tall)] = piece_cost(sure, energies)
        return costs

    path = best_path(len(points) - 1, cost)
    found = [cut_columns(piece, points[i], points[j]) for i, j in zip(path, path[1:], strict=False)]
    return [p for p in found if p is not None]


def piece_cost(sure: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """(n,) -log p_max, plus ENERGY_PRICE for each unit of energy below ENERGY_FLOOR (a digit's)."""
    with np.errstate(divide="ignore"):  # p_max 0: a piece with no digit-like ink, ruled out
        return -np.log(sure) + ENERGY_PRICE * np.maximum(0.0, ENERGY_FLOOR - energies)
