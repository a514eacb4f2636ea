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

The whole piece is always a candidate, so that a single digit stays whole.

Handwriting leans, and two leaning digits that touch often share every column around their meeting:
no vertical cut parts them. So the columns are also taken along each slant s of SLANTS, x' = x - s
(y - middle) (``sheared_columns``): the same valleys, spans and path in the sheared frame, each
candidate the piece's ink between two slanted lines. The cheapest reading of all slants wins, a
slanted one only if it costs SLANT_PRICE less than the upright one (each slant's readings are
counted on the budget). The constants were chosen on the held-out models' own writers
(docs/numbers.md). NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from model.images.pieces import TALL, Page, Piece, scores, tight

SPACING, EDGE, SMOOTH = 0.15, 0.15, 0.1  # shares of the line height
MAX_CUTS, SPAN = 4, 3  # at most 13 inputs a piece and slant: the spans of 5 atoms of up to 3, the whole
ENERGY_FLOOR, ENERGY_PRICE = 11.0, 1.0
SLANTS, SLANT_PRICE = (0.0, 0.3, -0.3), 2.0  # the shears whose columns are cut along, upright first

Cost = Callable[[list[tuple[int, int]]], np.ndarray]  # spans (i, j) of atoms -> (n,) costs


def spans(count: int, span: int = SPAN) -> list[tuple[int, int]]:
    """The spans (i, j) of at most ``span`` of ``count`` atoms, and the whole (0, count), by i."""
    runs = {(i, j) for j in range(1, count + 1) for i in range(max(0, j - span), j)}
    return sorted(runs | {(0, count)})


def best_path(count: int, cost: Cost, span: int = SPAN) -> list[int]:
    """The points 0 = k_0 < k_1 < ... = ``count`` that minimise the sum of ``cost`` over their spans.

    ``cost`` is called once, with every span of ``spans(count, span)``; an infinite cost rules a span
    out (when all paths are ruled out, the whole is taken). Returns the points, the ends included."""
    return cheapest_path(count, cost, span)[0]


def cheapest_path(count: int, cost: Cost, span: int = SPAN) -> tuple[list[int], float]:
    """``best_path``'s points and their total cost (infinite when every path was ruled out)."""
    candidates = spans(count, span)
    costs = cost(candidates)
    best, back = np.full(count + 1, np.inf), np.zeros(count + 1, dtype=int)
    best[0] = 0.0
    for (i, j), c in zip(candidates, costs, strict=True):  # by i: best(i) is final when reached
        if best[i] + c < best[j]:
            best[j], back[j] = best[i] + c, i
    if not np.isfinite(best[count]):
        return [0, count], float("inf")
    points = [count]
    while points[-1] > 0:
        points.append(int(back[points[-1]]))
    return points[::-1], float(best[count])


def sheared_columns(piece: Piece, slant: float) -> np.ndarray:
    """(H, W) int: the column of each of the piece's pixels once sheared, x' = x - slant (y - middle),
    counted from 0. A column of the sheared piece is a slanted line of the piece: ink that leans as
    the writing does is cut along its lean. Slant 0: each pixel's own column."""
    h, w = piece.mask.shape
    shift = np.rint(-slant * (np.arange(h) - (h - 1) / 2)).astype(int)
    columns = np.arange(w)[None, :] + shift[:, None]
    return columns - columns.min()


def candidate_columns(piece: Piece, line: float, columns: np.ndarray | None = None) -> list[int]:
    """Up to MAX_CUTS columns inside ``piece`` where two digits may meet, left to right; ``columns``
    (``sheared_columns``) counts the ink along slanted columns instead."""
    columns = np.broadcast_to(np.arange(piece.width), piece.mask.shape) if columns is None else columns
    width = int(columns.max()) + 1
    spacing, edge = max(1, int(SPACING * line)), max(1, int(EDGE * line))
    window = 2 * int(SMOOTH * line / 2) + 1
    profile = np.convolve(np.bincount(columns[piece.mask], minlength=width), np.ones(window) / window,
                          mode="same")
    inner = np.arange(edge, width - edge)
    if len(inner) == 0:
        return []
    left, right = profile[inner - 1], profile[np.minimum(inner + 1, width - 1)]
    valleys = inner[(profile[inner] <= left) & (profile[inner] <= right)]
    chosen: list[int] = []
    for column in valleys[np.argsort(profile[valleys], kind="stable")]:
        if all(abs(column - c) >= spacing for c in chosen):
            chosen.append(int(column))
        if len(chosen) == MAX_CUTS:
            break
    return sorted(chosen)


def cut_sheared(piece: Piece, columns: np.ndarray, lo: int, hi: int) -> Piece | None:
    """The piece's ink whose sheared column is in [lo, hi), boxed tightly; None when there is none."""
    mask = piece.mask & (columns >= lo) & (columns < hi)
    return tight(Piece(piece.box, mask)) if mask.any() else None


def segment_piece(piece: Piece, line: float, page: Page) -> list[Piece]:
    """The digits of one doubtful ``piece``, left to right: the least costly path through its cuts,
    the cuts along each slant of SLANTS (the cheapest reading of all wins, the first on a tie, so
    the upright one when every path of every slant was ruled out)."""
    readings: list[tuple[float, list[Piece]]] = []
    for slant in SLANTS:
        columns = sheared_columns(piece, slant)
        points = [0, *candidate_columns(piece, line, columns), int(columns.max()) + 1]

        def cost(runs: list[tuple[int, int]], columns: np.ndarray = columns,
                 points: list[int] = points) -> np.ndarray:
            parts = [cut_sheared(piece, columns, points[i], points[j]) for i, j in runs]
            tall = {k: p for k, p in enumerate(parts) if p is not None and p.height >= TALL * line}
            sure, energies = scores(list(tall.values()), page)
            costs = np.full(len(runs), np.inf)
            costs[list(tall)] = piece_cost(sure, energies)
            return costs

        path, total = cheapest_path(len(points) - 1, cost)
        found = [cut_sheared(piece, columns, points[i], points[j])
                 for i, j in zip(path, path[1:], strict=False)]
        price = total + (SLANT_PRICE if slant else 0.0)  # a slanted reading must be clearly cheaper
        readings.append((price, [p for p in found if p is not None]))
    return min(readings, key=lambda reading: reading[0])[1]


def piece_cost(sure: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """(n,) -log p_max, plus ENERGY_PRICE for each unit of energy below ENERGY_FLOOR (a digit's)."""
    with np.errstate(divide="ignore"):  # p_max 0: a piece with no digit-like ink, ruled out
        return -np.log(sure) + ENERGY_PRICE * np.maximum(0.0, ENERGY_FLOOR - energies)
