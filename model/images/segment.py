"""Reading a row of digits: cut one drawing's ink into digits, left to right.

The ink's connected components (model/images/components.py) are the starting pieces, or, when the client
sent its strokes, the ink of each group of strokes (model/images/stroke_groups.py). Measured against the
line height ``h`` (the median height of the tall components: a whole digit is tall, a bar or a dot
is not), four rules make digits of them; docs/numbers.md shows each at work:

1. Specks: when there are more than MAX_COMPONENTS components, only the largest are kept. A small
   piece (both sides under SMALL * h) joins the nearest other piece if it lies within NEAR * h (the
   dot of a broken stroke); too far, it stays a piece of its own unless it is a speck (under
   SPECK * h), which is dropped; so is any piece left under MIN_EXTENT of the image's height (as a
   dot on the single-digit canvas is no digit).
2. Joins: two pieces whose column ranges overlap by JOIN of the narrower one's width are one digit
   (the bar of a 7, the flag of a 5, the two strokes of a 4 all lie over their digit's body). When
   both are tall and they overlap by at least ASK of the narrower width, the network decides: joined
   if it reads the whole at least as confidently as the least confident part.
3. Splits (model/images/splits.py): a piece much wider than high holds several digits and is cut where its
   ink is thinnest; a piece that may be one wide digit or a few touching ones is cut as the network
   reads it best, by segmentation by recognition (model/images/search.py).
4. Each digit's ink (its own pixels and their anti-aliased edge, GROW pixels around them) goes
   through ``to_mnist`` on its own: its crop is its own ink's, so a thin 1 stays thin.

The work is bounded whatever the ink (docs/numbers.md, Limits). Ink higher than MAX_HEIGHT is first
shrunk by a whole factor, each pixel the darkest of its block (a thin stroke stays a stroke), so no
crop is larger than MAX_HEIGHT x the image's width; a pair of pieces the rules kept apart is not
asked about again; and every ``to_mnist`` call is counted against a ``Budget`` (MAX_READS calls,
MAX_READ_PIXELS pixels of crops), past which the reading stops with ``OverBudgetError``.

``read`` is the network: (n, 784) inputs -> (n, 10) logits. NumPy only, like the rest of model/.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.images.budget import Budget
from model.images.components import components
from model.images.pieces import (
    Digit,
    Page,
    Piece,
    Read,
    as_box,
    confidence,
    gap,
    merge,
    overlap,
    piece_of,
    shrink,
    tight,
    vector,
)
from model.images.preprocess import INK_THRESHOLD, MIN_EXTENT, MIN_INK_PIXELS
from model.images.splits import SURE, TALL, split

MAX_COMPONENTS = 64
COVERED = 0.9  # the share of the ink that the strokes' groups must hold to be used
SMALL, NEAR, SPECK = 0.3, 0.3, 0.06
JOIN, ASK = 0.75, 0.3
# the page's pad is 280 px high (sent at 140): a line of digits that high is read as it is
MAX_HEIGHT = 280
# far above what the page's four-digit numbers need (their counts: docs/numbers.md)
MAX_READS, MAX_READ_PIXELS = 256, 1 << 23


def segment(ink: np.ndarray, read: Read, budget: Budget | None = None,
            owned: Sequence[Piece] | None = None) -> list[Digit]:
    """The digits of ``ink`` (H, W) in [0, 1], left to right; [] when it is blank.

    ``owned``: the ink each group of the client's strokes drew (model/images/stroke_groups.py), boxes and
    masks in the frame of the ink shrunk by ``shrink_factor(H)``; they are the starting pieces in
    place of the connected components, unless they miss more than 1 - COVERED of the ink (strokes
    that are not this drawing's). Raises ``OverBudgetError`` past ``budget`` (default: MAX_READS
    inputs over MAX_READ_PIXELS pixels), or whatever its ``check`` raises."""
    factor = shrink_factor(ink.shape[0])
    page = Page(shrink(ink, factor), read, budget or Budget(MAX_READS, MAX_READ_PIXELS))
    limits = np.array(ink.shape[::-1] * 2)
    return [Digit(as_box(np.minimum(np.array(d.box) * factor, limits)), d.vector)
            for d in _segment(page, owned)]


def shrink_factor(height: int) -> int:
    """The smallest whole factor that brings ink ``height`` pixels high to MAX_HEIGHT or less."""
    return -(-height // MAX_HEIGHT)


def _segment(page: Page, owned: Sequence[Piece] | None) -> list[Digit]:
    ink = page.ink
    mask = ink >= INK_THRESHOLD
    if np.count_nonzero(mask) < MIN_INK_PIXELS:
        return []
    pieces = (owned_pieces(owned, mask) if owned else None) or component_pieces(mask)
    heights = np.array([p.height for p in pieces])
    line = float(np.median(heights[heights >= TALL * heights.max()]))
    pieces = [p for p in absorb_small(pieces, line) if max(p.width, p.height) >= MIN_EXTENT * ink.shape[0]]
    pieces = join_overlapping(pieces, line, page)
    digits = [part for piece in pieces for part in split(piece, line, page)]
    digits.sort(key=lambda p: p.box[0] + p.box[2])
    return [Digit(as_box(p.box), v) for p in digits if (v := vector(p, page)) is not None]


def component_pieces(mask: np.ndarray) -> list[Piece]:
    """The MAX_COMPONENTS largest connected pieces of the inked ``mask``."""
    comps = components(mask)
    keep = np.argsort(-comps.areas, kind="stable")[:MAX_COMPONENTS]
    return [piece_of(comps, [int(k)]) for k in keep]


def owned_pieces(owned: Sequence[Piece], mask: np.ndarray) -> list[Piece] | None:
    """The inked pixels of each group's own area (boxed tightly; empty ones left out), or None when
    the groups together miss more than 1 - COVERED of the inked pixels."""
    covered = np.zeros_like(mask)
    pieces = []
    for p in owned[:MAX_COMPONENTS]:
        x0, y0, x1, y1 = p.box
        own = p.mask & mask[y0:y1, x0:x1]
        covered[y0:y1, x0:x1] |= own
        if own.any():
            pieces.append(Piece(np.array(p.box), own))
    if np.count_nonzero(covered) < COVERED * np.count_nonzero(mask):
        return None
    return [tight(p) for p in pieces]


def absorb_small(pieces: list[Piece], line: float) -> list[Piece]:
    """Rule 1: small pieces join their nearest neighbour when near, specks far from all are dropped."""
    big = [p for p in pieces if max(p.width, p.height) >= SMALL * line]
    small = [p for p in pieces if max(p.width, p.height) < SMALL * line]
    for p in sorted(small, key=lambda p: -int(p.mask.sum())):
        if not big:
            big.append(p)
            continue
        distances = [gap(p, q) for q in big]
        k = int(np.argmin(distances))
        if distances[k] <= NEAR * line:
            big[k] = merge(big[k], p)
        elif max(p.width, p.height) >= SPECK * line:
            big.append(p)
    return big


def join_overlapping(pieces: list[Piece], line: float, page: Page) -> list[Piece]:
    """Rule 2: join pieces lying over one another, until no two do; tall pairs ask the network.

    The scan starts again after each join, in the same order; a pair found apart is not asked
    again (its answer cannot have changed), so each pair costs the network one question at most."""
    pieces = sorted(pieces, key=lambda p: int(p.box[0]))
    apart: set[tuple[int, int]] = set()
    every = list(pieces)  # keeps each piece alive, so that no id in ``apart`` is reused
    changed = True
    while changed:
        changed = False
        for i in range(len(pieces)):
            for j in range(i + 1, len(pieces)):
                pair = (id(pieces[i]), id(pieces[j]))
                if pair in apart:
                    continue
                if _belong_together(pieces[i], pieces[j], line, page):
                    pieces[i] = merge(pieces[i], pieces.pop(j))
                    every.append(pieces[i])
                    changed = True
                    break
                apart.add(pair)
            if changed:
                break
    return pieces


def _belong_together(a: Piece, b: Piece, line: float, page: Page) -> bool:
    share = overlap(a, b)
    both_tall = min(a.height, b.height) >= TALL * line
    if share >= JOIN and not both_tall:
        return True
    if share < (ASK if both_tall else JOIN):
        return False
    sure = confidence([merge(a, b), a, b], page)
    return sure[0] >= SURE or sure[0] >= min(sure[1], sure[2])
