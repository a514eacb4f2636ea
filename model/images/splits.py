"""Rule 3 of model/images/segment.py: a piece of ink wider than a digit holds several, and is cut.

A piece wider than FORCE times its height holds several digits (touching ones); it is cut at the
column of least ink, of those that leave each part at least MIN_PART * h wide and TALL * h high (h
the line height), the network choosing among the CUTS best columns. A narrower piece wider than TRY
times its height is cut too if the cut crosses a single stroke, the network reads both parts better
than the whole, and the whole is not sure: read with less than SURE, or looking less like a digit
than its parts (its energy, model/novelty.py, lower than the lower part's by more than PAIR_ENERGY:
two touching digits read as one, surely, as an 8 for "36"). Parts are split again. NumPy only.
"""

from __future__ import annotations

import numpy as np

from model.images.pieces import Page, Piece, cut, scores

FORCE, TRY, SURE = 1.3, 0.7, 0.9
PAIR_ENERGY = 2.0  # chosen on the held-out model's own writers (docs/numbers.md)
MIN_PART, CUTS = 0.15, 3
TALL = 0.5  # a piece at least this share of the line height is tall (a digit's body, not a bar)


def split(piece: Piece, line: float, page: Page, depth: int = 0) -> list[Piece]:
    """Rule 3: a piece wider than a digit, cut where the ink is thinnest, again in each part."""
    if depth > 8 or piece.width <= TRY * piece.height or piece.height < TALL * line:
        return [piece]
    options = cuts(piece, line)
    if not options:
        return [piece]
    sure, energies = scores([piece] + [half for _, pair in options for half in pair], page)
    worst = np.minimum(sure[1::2], sure[2::2])  # the least confident part of each option
    k = int(np.argmax(worst))
    if piece.width <= FORCE * piece.height:  # as wide as a wide digit: the network decides
        single = int(np.count_nonzero(np.diff(piece.mask[:, options[k][0]].astype(np.int8)) == 1)) <= 1
        # two digits read as one are often read surely, but look less like a digit than their parts
        like_one = energies[0] >= min(energies[2 * k + 1], energies[2 * k + 2]) - PAIR_ENERGY
        if not single or (sure[0] >= SURE and like_one) or worst[k] <= sure[0]:
            return [piece]
    left, right = options[k][1]
    return split(left, line, page, depth + 1) + split(right, line, page, depth + 1)


def cuts(piece: Piece, line: float) -> list[tuple[int, tuple[Piece, Piece]]]:
    """Up to CUTS columns of least ink that leave two tall parts at least MIN_PART * line wide."""
    margin = max(1, int(MIN_PART * line))
    if piece.width <= 2 * margin:
        return []
    inner = np.arange(margin, piece.width - margin)
    order = inner[np.argsort(piece.mask.sum(axis=0)[inner], kind="stable")]
    options = []
    for column in order[: 4 * CUTS]:
        left, right = cut(piece, int(column))
        if min(left.height, right.height) >= TALL * line:
            options.append((int(column), (left, right)))
        if len(options) == CUTS:
            break
    return options
