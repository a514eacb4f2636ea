"""Rule 3 of model/images/segment.py: a piece of ink wider than a digit holds several, and is cut.

A piece wider than SEARCH times its height holds several digits (touching ones); it is cut at the
column of least ink, of those that leave each part at least MIN_PART * h wide and TALL * h high (h
the line height), the network choosing among the CUTS best columns, and its parts are split again.
A piece TRY to SEARCH times as wide as high may be one wide digit, or two or three touching: the
network decides, by segmentation by recognition (model/images/search.py). NumPy only.
"""

from __future__ import annotations

import numpy as np

from model.images.pieces import TALL, Page, Piece, confidence, cut
from model.images.search import segment_piece

TRY, SEARCH, SURE = 0.7, 2.5, 0.9
MIN_PART, CUTS = 0.15, 3


def split(piece: Piece, line: float, page: Page, depth: int = 0) -> list[Piece]:
    """Rule 3: a piece wider than a digit, cut where the ink is thinnest, again in each part."""
    if depth > 8 or piece.width <= TRY * piece.height or piece.height < TALL * line:
        return [piece]
    if piece.width <= SEARCH * piece.height:  # one digit or a few: the network's best reading
        return segment_piece(piece, line, page)
    options = cuts(piece, line)
    if not options:
        return [piece]
    sure = confidence([half for _, pair in options for half in pair], page)
    worst = np.minimum(sure[0::2], sure[1::2])  # the least confident part of each option
    left, right = options[int(np.argmax(worst))][1]
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
