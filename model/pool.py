"""2x2 max pooling: each output pixel is the largest of a 2x2 window, and its gradient goes there.

On images laid out channels last, ``x`` of shape (N, H, W, C) with H and W even, each channel apart::

    a[n, i, j, c] = max over (p, q) in {0, 1}^2 of x[n, 2i + p, 2j + q, c]       (N, H/2, W/2, C)

The pooling has no parameters and no activation. Backward, max is locally the identity on the corner
that holds the maximum and constant in the other three, so the gradient is routed to that corner and
the others get zero::

    dx[n, 2i + p, 2j + q, c] = da[n, i, j, c]  if (p, q) is where the maximum of the window is
                             = 0               otherwise

Where several corners tie, the first of them in the order (0, 0), (1, 0), (0, 1), (1, 1) (down the
left column, then the right) takes it, so the gradient is never counted twice.

The maximum is taken in two halves, rows then columns (``max_pool``): each pair of image rows is
compared whole, then each pair of columns of the result; no loop over pixels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from model.functions import IDENTITY

Array = np.ndarray


class Picks(NamedTuple):
    """Where each window's maximum is: ``down`` (N, H/2, W, C), True where the bottom pixel of a
    column of a window beats the top one; ``right`` (N, H/2, W/2, C), True where the right column's
    larger pixel beats the left column's. The winning corner is (down at the winning column, right)."""

    down: Array
    right: Array

    def corner(self) -> Array:
        """The winning corner of every window as one number, 2 q + p (0..3, the order of ties)."""
        n, h2, w, c = self.down.shape
        down = self.down.reshape(n, h2, w // 2, 2, c)
        at_winner = np.where(self.right, down[:, :, :, 1], down[:, :, :, 0])
        return 2 * self.right.astype(np.uint8) + at_winner


def max_pool(x: Array) -> tuple[Array, Picks]:
    """(a, picks): the 2x2 maxima (N, H/2, W/2, C) and where each is (``Picks``).

    The plain form is ``a = max of the four corners`` and their argmax, over a (..., 4) copy of the
    windows. Here: first the larger of each pair of rows, ``r = max(x[2i], x[2i + 1])`` (N, H/2, W, C),
    then the larger of each pair of columns of r. A pair of rows is two runs of W C numbers side by
    side, so the first half compares long runs; only the second compares runs of C (several times
    faster than the four corners, which are all runs of C: benchmarks/conv_pieces.py,
    docs/performance.md). ``tests/model/test_pool.py`` checks the two agree, ties included.
    """
    n, h, w, c = x.shape
    rows = x.reshape(n, h // 2, 2, w * c)  # (N, H/2, p, W C): each pair of rows
    top, bottom = rows[:, :, 0], rows[:, :, 1]
    r = np.maximum(top, bottom).reshape(n, h // 2, w // 2, 2, c)  # (N, H/2, W/2, q, C)
    down = np.greater(bottom, top).reshape(n, h // 2, w, c)  # the top one wins ties
    left, right = r[:, :, :, 0], r[:, :, :, 1]
    return np.maximum(left, right), Picks(down, np.greater(right, left))  # the left one wins ties


def maxima(x: Array) -> Array:
    """The 2x2 maxima (N, H/2, W/2, C) alone, as ``max_pool`` takes them (rows, then columns), without
    finding where they are: what a prediction needs (``MaxPool.step``)."""
    n, h, w, c = x.shape
    rows = x.reshape(n, h // 2, 2, w * c)  # (N, H/2, p, W C): each pair of rows
    r = np.maximum(rows[:, :, 0], rows[:, :, 1]).reshape(n, h // 2, w // 2, 2, c)  # (N, H/2, W/2, q, C)
    return np.maximum(r[:, :, :, 0], r[:, :, :, 1])


def route(da: Array, picks: Picks) -> Array:
    """dx (N, H, W, C): each da (N, H/2, W/2, C) sent to the corner of its window that ``picks`` names.

    Backward through the two halves of ``max_pool``, last first: da goes to the winning column of
    each window (dr, (N, H/2, W, C)), then dr to the winning row of that column. Each half writes
    ``g * pick`` to the winner and ``g - g * pick`` (exactly g or 0) to the loser, straight into the
    strided halves of its output. The plain form is a select over the (N, H/2, 2, W/2, 2, C) windows;
    ``tests/model/test_pool.py`` checks the two agree.
    """
    n, h2, w2, c = da.shape
    dr = np.empty((n, h2, w2, 2, c), dtype=da.dtype)  # (N, H/2, W/2, q, C)
    np.multiply(da, picks.right, out=dr[:, :, :, 1])
    np.subtract(da, dr[:, :, :, 1], out=dr[:, :, :, 0])
    dx = np.empty((n, h2, 2, 2 * w2 * c), dtype=da.dtype)  # (N, H/2, p, W C)
    dr_rows, down = dr.reshape(n, h2, 2 * w2 * c), picks.down.reshape(n, h2, 2 * w2 * c)
    np.multiply(dr_rows, down, out=dx[:, :, 1])
    np.subtract(dr_rows, dx[:, :, 1], out=dx[:, :, 0])
    return dx.reshape(n, 2 * h2, 2 * w2, c)


class MaxPool:
    """2x2 max pooling, stride 2; ``forward`` keeps where each maximum was for ``backward``."""

    f = IDENTITY  # no activation: dz = da

    def __init__(self) -> None:
        self.picks: Picks | None = None

    def step(self, x: Array) -> tuple[Array, Array]:
        """(a, a) for x (N, H, W, C): the pooled image as both z and a, keeping nothing."""
        a = maxima(x)
        return a, a

    def forward(self, x: Array) -> Array:
        """``step``, keeping the corner of every maximum. Returns a of shape (N, H/2, W/2, C)."""
        a, self.picks = max_pool(x)
        return a

    def activation_backward(self, da: Array) -> Array:
        return da

    def backward(self, dz: Array, need_input_grad: bool = True) -> Array | None:
        """dx: dz routed to the maximum of each window (nothing to learn here)."""
        assert self.picks is not None, "backward before forward"
        return route(dz, self.picks) if need_input_grad else None

    def input_grad(self, dz: Array, x: Array | None = None) -> Array:
        """dx from dz, given the input x of the forward step (the maxima are found again in x), so
        that nothing is kept and several threads may explain at once."""
        assert x is not None, "max pooling needs its input to route the gradient"
        return route(dz, max_pool(x)[1])
