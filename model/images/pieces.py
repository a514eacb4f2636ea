"""Pieces of ink that may be digits, and what the segmentation does with them.

A ``Piece`` is a box in the ink being read and a mask of its own pixels inside it. Pieces are
merged (two pieces' ink as one), cut at a column, and turned into the network's input: the piece's
own pixels and their anti-aliased edge (GROW pixels around them) go through ``to_mnist`` alone, as a
digit drawn alone does (model/images/preprocess.py: size, stroke width and centring), each call counted on
the page's ``Budget``. NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.functions import softmax
from model.images.budget import Budget
from model.images.components import Components
from model.images.preprocess import to_mnist
from model.novelty import energy

Read = Callable[[np.ndarray], np.ndarray]  # the network: (n, 784) inputs -> (n, 10) logits z
GROW = 2
TALL = 0.5  # a piece at least this share of the line height is tall (a digit's body, not a bar)


@dataclass(frozen=True)
class Page:
    """The ink being read, the network, and the budget every input made from the ink is counted on."""

    ink: np.ndarray  # (H, W) in [0, 1]
    read: Read
    budget: Budget


@dataclass(frozen=True)
class Digit:
    """One digit found: ``box`` [x0, y0, x1, y1) of its ink in the image, and the network's input."""

    box: tuple[int, int, int, int]
    vector: np.ndarray


@dataclass
class Piece:
    """Ink that may be a digit: a box and a mask of its own pixels inside that box."""

    box: np.ndarray  # [x0, y0, x1, y1), int
    mask: np.ndarray  # (y1 - y0, x1 - x0) bool

    @property
    def width(self) -> int:
        return int(self.box[2] - self.box[0])

    @property
    def height(self) -> int:
        return int(self.box[3] - self.box[1])


def shrink(ink: np.ndarray, factor: int) -> np.ndarray:
    """``ink`` (H, W) -> (ceil(H / factor), ceil(W / factor)), each pixel the largest of its block."""
    if factor == 1:
        return ink
    h, w = -(-ink.shape[0] // factor) * factor, -(-ink.shape[1] // factor) * factor
    padded = np.zeros((h, w), dtype=ink.dtype)
    padded[: ink.shape[0], : ink.shape[1]] = ink
    return padded.reshape(h // factor, factor, w // factor, factor).max(axis=(1, 3))


def as_box(box: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(v) for v in box)
    return x0, y0, x1, y1


def piece_of(comps: Components, ids: list[int]) -> Piece:
    boxes = comps.boxes[ids]
    box = np.array([boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()])
    window = comps.labels[box[1] : box[3], box[0] : box[2]]
    return Piece(box, np.isin(window, np.array(ids) + 1))


def merge(a: Piece, b: Piece) -> Piece:
    """One piece holding the ink of both."""
    box = np.concatenate([np.minimum(a.box[:2], b.box[:2]), np.maximum(a.box[2:], b.box[2:])])
    mask = np.zeros((box[3] - box[1], box[2] - box[0]), dtype=bool)
    for p in (a, b):
        x, y = p.box[:2] - box[:2]
        mask[y : y + p.height, x : x + p.width] |= p.mask
    return Piece(box, mask)


def gap(a: Piece, b: Piece) -> float:
    """The distance between two boxes (0 when they overlap)."""
    dx = max(0, max(a.box[0], b.box[0]) - min(a.box[2], b.box[2]))
    dy = max(0, max(a.box[1], b.box[1]) - min(a.box[3], b.box[3]))
    return float(np.hypot(dx, dy))


def overlap(a: Piece, b: Piece) -> float:
    """How much of the narrower piece's column range the other covers, 0 to 1."""
    shared = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return max(0.0, shared / max(1, min(a.width, b.width)))


def confidence(pieces: list[Piece], page: Page) -> np.ndarray:
    """The network's top probability for each piece (0 for a piece with no digit-like ink)."""
    return scores(pieces, page)[0]


def scores(pieces: list[Piece], page: Page) -> tuple[np.ndarray, np.ndarray]:
    """For each piece, the network's top probability and its energy, the log-sum-exp of its logits
    (model/novelty.py: high for what looks like a digit); (0, -inf) for a piece with no digit-like ink."""
    vectors = [vector(p, page) for p in pieces]
    inked = [v for v in vectors if v is not None]
    z = page.read(np.stack(inked)) if inked else np.empty((0, 10))  # (n, 784) -> (n, 10) logits
    top, e = softmax(z).max(axis=1), energy(z)
    sure, energies, k = np.zeros(len(pieces)), np.full(len(pieces), -np.inf), 0
    for i, v in enumerate(vectors):
        if v is not None:
            sure[i], energies[i], k = top[k], e[k], k + 1
    return sure, energies


def tight(piece: Piece) -> Piece:
    """The piece boxed tightly around its mask's pixels (the mask holds at least one)."""
    rows, cols = np.flatnonzero(piece.mask.any(axis=1)), np.flatnonzero(piece.mask.any(axis=0))
    x0, y0 = piece.box[:2]
    box = np.array([x0 + cols[0], y0 + rows[0], x0 + cols[-1] + 1, y0 + rows[-1] + 1])
    return Piece(box, piece.mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def cut(piece: Piece, column: int) -> tuple[Piece, Piece]:
    """The piece's ink left of ``column`` (in the piece's box) and from it on, each boxed tightly
    (the column leaves ink on both sides)."""
    left, right = cut_columns(piece, 0, column), cut_columns(piece, column, piece.width)
    assert left is not None and right is not None
    return left, right


def cut_columns(piece: Piece, lo: int, hi: int) -> Piece | None:
    """The piece's ink in its columns [lo, hi), boxed tightly; None when they hold none."""
    mask = piece.mask[:, lo:hi]
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    x0, y0 = piece.box[0] + lo + cols[0], piece.box[1] + rows[0]
    box = np.array([x0, y0, piece.box[0] + lo + cols[-1] + 1, piece.box[1] + rows[-1] + 1])
    return Piece(box, mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def vector(piece: Piece, page: Page) -> np.ndarray | None:
    """The piece's ink with its anti-aliased edge (GROW pixels around its own), in MNIST form."""
    ink = page.ink
    h, w = ink.shape
    x0, y0 = max(0, piece.box[0] - GROW), max(0, piece.box[1] - GROW)
    x1, y1 = min(w, piece.box[2] + GROW), min(h, piece.box[3] + GROW)
    page.budget.spend(int((y1 - y0) * (x1 - x0)))
    own = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    own[piece.box[1] - y0 : piece.box[3] - y0, piece.box[0] - x0 : piece.box[2] - x0] = piece.mask
    own = grow(own, GROW)
    return to_mnist(np.where(own, ink[y0:y1, x0:x1], 0.0).astype(np.float32))


def grow(mask: np.ndarray, steps: int) -> np.ndarray:
    """``mask`` grown by ``steps`` pixels across sides (a diamond): it takes in the ink's soft edge."""
    for _ in range(steps):
        out = mask.copy()
        out[1:] |= mask[:-1]
        out[:-1] |= mask[1:]
        out[:, 1:] |= mask[:, :-1]
        out[:, :-1] |= mask[:, 1:]
        mask = out
    return mask
