"""The client's strokes, when it sends them with a number: which ink belongs to which digit.

The strokes come in the canvas' coordinates, as ``/feedback`` takes them; the image sent is the
canvas scaled to the image's height, which is ``canvas_height`` on the canvas (the page's pad: 280,
sent at 140). Strokes are grouped into digits by their column ranges (model/images/stroke_groups.py); each
group is then drawn again, a little bolder than the ink's own pen (PEN_MARGIN pixels each side), in
the frame ``model.images.segment`` reads the ink in (shrunk when higher than its MAX_HEIGHT), and the ink
under that drawing is the group's. The work: at most MAX_STROKES groups, each drawn over at most
its own box in that frame (at most MAX_HEIGHT x 2048 pixels), MAX_POINTS points in all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.pen.strokes import render_canvas
from model.images.pieces import Piece, shrink
from model.images.preprocess import stroke_width
from model.images.segment import MAX_HEIGHT, shrink_factor
from model.images.stroke_groups import column_ranges, group_strokes

PEN_MARGIN = 2.0  # pixels: the anti-aliased edge of the ink lies within the redrawn pen
MAX_PEN = MAX_HEIGHT / 4  # a pen estimated wider than this is a blot, not a pen: drawn this wide


def stroke_pieces(strokes: Sequence[Sequence[Sequence[float]]], canvas_height: float,
                  ink: np.ndarray) -> list[Piece]:
    """Each group of ``strokes`` as a piece: its box and the area its strokes cover, in the frame of
    ``ink`` (H, W) shrunk by ``shrink_factor(H)``; pixels of that area without ink are left to
    ``model.images.segment``, which keeps only the inked ones."""
    factor = shrink_factor(ink.shape[0])
    small = shrink(ink, factor)
    scale = ink.shape[0] / canvas_height / factor  # canvas pixels -> pixels of the shrunk ink
    points = [np.asarray(s, dtype=np.float64).reshape(-1, 2) * scale for s in strokes]
    pen = min(MAX_PEN, stroke_width(small)) + 2 * PEN_MARGIN
    ranges = column_ranges(points, pen)
    return [_drawn([points[i] for i in group], pen, small.shape) for group in group_strokes(ranges)]


def _drawn(points: list[np.ndarray], pen: float, shape: tuple[int, ...]) -> Piece:
    """The strokes drawn with a round ``pen`` in their own box (clipped to ``shape``)."""
    every = np.concatenate(points)
    lo = np.clip(np.floor(every.min(axis=0) - pen / 2), 0, [shape[1] - 1, shape[0] - 1]).astype(int)
    hi = np.clip(np.ceil(every.max(axis=0) + pen / 2) + 1, lo + 1, [shape[1], shape[0]]).astype(int)
    moved = [[(float(x), float(y)) for x, y in p - lo] for p in points]
    drawn = render_canvas(moved, int(hi[0] - lo[0]), int(hi[1] - lo[1]), pen, supersample=1)
    return Piece(np.concatenate([lo, hi]), np.asarray(drawn) > 0)
