"""2x2 max pooling: each output pixel is the largest of a 2x2 window, and its gradient goes there.

On images laid out channels last, ``x`` of shape (N, H, W, C) with H and W even, each channel apart::

    a[n, i, j, c] = max over (p, q) in {0, 1}^2 of x[n, 2i + p, 2j + q, c]       (N, H/2, W/2, C)

The four corners of every window are four strided views of x (``corners``), so the maximum is three
element-wise ``np.maximum`` and no loop over pixels. The pooling has no parameters and no
activation. Backward, max is locally the identity on the corner that holds the maximum and constant
in the other three, so the gradient is routed to that corner and the others get zero::

    dx[n, 2i + p, 2j + q, c] = da[n, i, j, c]  if (p, q) is where the maximum of the window is
                             = 0               otherwise

Where several corners tie, the first of them in the order (0, 0), (0, 1), (1, 0), (1, 1) takes it
(as an argmax would), so the gradient is never counted twice.
"""

from __future__ import annotations

import numpy as np

from model.functions import IDENTITY

Array = np.ndarray
CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))


def corners(x: Array) -> list[Array]:
    """The four corners of every 2x2 window of x (N, H, W, C), as views (N, H/2, W/2, C)."""
    n, h, w, c = x.shape
    windows = x.reshape(n, h // 2, 2, w // 2, 2, c)  # (N, H/2, p, W/2, q, C)
    return [windows[:, :, p, :, q, :] for p, q in CORNERS]


def max_pool(x: Array) -> tuple[Array, Array]:
    """(a, where): the 2x2 maxima (N, H/2, W/2, C) and which corner (0..3) of each window holds it.

    The plain form is ``a = max of the corners``, ``where = argmax of the corners`` over a (..., 4)
    copy of the windows; here the corners are compared in pairs, the first of equals winning (as
    argmax's), which makes no copy of x (``tests/model/test_pool.py`` checks the two agree).
    """
    c0, c1, c2, c3 = corners(x)
    top, bottom = np.maximum(c0, c1), np.maximum(c2, c3)  # (N, H/2, W/2, C) each
    where_top = (c1 > c0).view(np.uint8)  # 0 or 1: corner 1 only where it beats corner 0
    where_bottom = (c3 > c2).view(np.uint8) + np.uint8(2)  # 2 or 3
    where = np.where(bottom > top, where_bottom, where_top)
    return np.maximum(top, bottom, out=top), where


def route(da: Array, where: Array) -> Array:
    """dx (N, H, W, C): each da (N, H/2, W/2, C) sent to the corner ``where`` of its window.

    Corner q of dx is ``da * (where == q)``: da where the maximum was, 0 elsewhere; one product per
    corner, written straight into the strided corner of dx. The plain form, a select over the
    (N, H/2, 2, W/2, 2, C) windows, is several times slower (benchmarks/conv_pieces.py,
    docs/performance.md); ``tests/model/test_pool.py`` checks the routing against the windows'
    argmax.
    """
    n, h2, w2, c = da.shape
    dx = np.empty((n, 2 * h2, 2 * w2, c), dtype=da.dtype)
    for corner, dx_corner in enumerate(corners(dx)):
        np.multiply(da, where == corner, out=dx_corner)
    return dx


class MaxPool:
    """2x2 max pooling, stride 2; ``forward`` keeps where each maximum was for ``backward``."""

    f = IDENTITY  # no activation: dz = da

    def __init__(self) -> None:
        self.where: Array | None = None

    def step(self, x: Array) -> tuple[Array, Array]:
        """(a, a) for x (N, H, W, C): the pooled image as both z and a, keeping nothing."""
        a = max_pool(x)[0]
        return a, a

    def forward(self, x: Array) -> Array:
        """``step``, keeping the corner of every maximum. Returns a of shape (N, H/2, W/2, C)."""
        a, self.where = max_pool(x)
        return a

    def activation_backward(self, da: Array) -> Array:
        return da

    def backward(self, dz: Array, need_input_grad: bool = True) -> Array | None:
        """dx: dz routed to the maximum of each window (nothing to learn here)."""
        assert self.where is not None, "backward before forward"
        return route(dz, self.where) if need_input_grad else None

    def input_grad(self, dz: Array, x: Array | None = None) -> Array:
        """dx from dz, given the input x of the forward step (the maxima are found again in x), so
        that nothing is kept and several threads may explain at once."""
        assert x is not None, "max pooling needs its input to route the gradient"
        return route(dz, max_pool(x)[1])
