"""The patches of an image as the rows of a matrix (im2col), and the way back (col2im).

A convolution (conv.py) is a matrix product once every output pixel's k x k x C patch of the padded
image is a row. On images laid out channels last, (N, H, W, C), a patch row-major is k runs of k C
numbers that lie side by side in the image, so the copy moves whole runs (faster than with
(N, C, H, W): benchmarks/conv_pieces.py, whose figures are in docs/performance.md, "Training a
convolutional network")::

    cols[(n, i, j), (p, q, c)] = xp[n, i + p, j + q, c]        (N H' W', k k C)

``patches`` is that matrix as a strided view of xp (no copy); ``im2col`` copies it. col2im is its
transpose: each row's gradient added back to the k x k pixels it was read from.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Array = np.ndarray


def padding_of(k: int, padding: str) -> int:
    """Zeros added on each side of the image: (k - 1) / 2 for "same" (k odd), 0 for "valid"."""
    return (k - 1) // 2 if padding == "same" else 0


class Scratch:
    """Arrays a layer reuses from one training step to the next, by name.

    A fresh array of tens of megabytes costs its page faults at every step (conv-small's patches take
    im2col well over twice as long fresh as reused: benchmarks/conv_pieces.py, docs/performance.md).
    A new array starts filled with ``fill``, so a padded image's border, never written, stays zero.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, Array] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype, fill: float = 0.0) -> Array:
        array = self.arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self.arrays[name] = np.full(shape, fill, dtype)
        return array


def _new(scratch: Scratch | None, name: str, shape: tuple[int, ...], dtype: np.dtype) -> Array:
    """A reused array from ``scratch``, or zeros of this call's own without one (thread-safe)."""
    return scratch.get(name, shape, dtype) if scratch is not None else np.zeros(shape, dtype)


def patches(xp: Array, k: int) -> Array:
    """The k x k patches of a padded image xp (N, Hp, Wp, C), as a view (N, H', W', k, k, C): no copy.

    H' = Hp - k + 1. Element [n, i, j, p, q, c] is xp[n, i + p, j + q, c]: a patch row-major as W is.
    """
    view = sliding_window_view(xp, (k, k), axis=(1, 2))  # (N, H', W', C, k, k), no copy
    return view.transpose(0, 1, 2, 4, 5, 3)  # (N, H', W', k, k, C)


def pad_image(x: Array, pad: int, scratch: Scratch | None = None, name: str = "padded") -> Array:
    """x (N, H, W, C) with ``pad`` zeros on each side of H and W (x itself when pad is 0); kept in
    ``scratch`` under ``name``, if given."""
    if not pad:
        return x
    n, h, w, c = x.shape
    xp = _new(scratch, name, (n, h + 2 * pad, w + 2 * pad, c), x.dtype)
    xp[:, pad : pad + h, pad : pad + w, :] = x  # the border stays zero
    return xp


def im2col(x: Array, k: int, pad: int, scratch: Scratch | None = None) -> Array:
    """The k x k patches of every output pixel as rows: (N, H, W, C) -> (N H' W', k k C), a copy.

    H' = H + 2 pad - k + 1. The patches are read through a strided view of the padded image (no
    Python loop over pixels); the one copy is into the matrix (``scratch``'s, if given).
    """
    view = patches(pad_image(x, pad, scratch), k)
    n, h_out, w_out = view.shape[:3]
    cols = _new(scratch, "cols", (n * h_out * w_out, k * k * x.shape[3]), x.dtype)
    np.copyto(cols.reshape(view.shape), view)  # (N, H', W', k, k, C) -> (N H' W', k k C): the copy
    return cols


def col2im(dz: Array, W: Array, pad: int, scratch: Scratch | None = None) -> Array:
    """dx = dC/dx of a convolution from dz = dC/dz: every output pixel's gradient sent back to the
    k x k input pixels it read, through the kernel (the transpose of ``im2col``, then of ``cols W``).

    Parameters
    ----------
    dz : (N, H', W', C_out). W : (k, k, C_in, C_out). pad : the forward step's padding.
    scratch : where to keep the products from one step to the next (None: arrays of this call's own).

    Returns
    -------
    dx : (N, H, W, C_in), H = H' + k - 1 - 2 pad, an array of its own.

    The plain form is ``dcols = dz W^T`` (N H' W', k k C_in), then for every offset (p, q) of the
    kernel ``dxp[:, p:p+H', q:q+W'] += dcols[..., p, q, :]``. Here the product is taken
    offset-major instead, ``blocks[p, q] = dz W[p, q]^T``, one batched product of the same cost,
    so that each of the k k additions reads one contiguous block (conv-small's second layer's col2im
    is markedly faster so: benchmarks/conv_pieces.py, docs/performance.md). ``tests/model/test_conv.py``
    checks the two agree.
    """
    n, h_out, w_out, c_out = dz.shape
    k, _, c_in, _ = W.shape
    kernels = W.reshape(k * k, c_in, c_out).transpose(0, 2, 1)  # (k k, C_out, C_in), a view
    blocks = _new(scratch, "blocks", (k * k, n * h_out * w_out, c_in), dz.dtype)
    np.matmul(dz.reshape(1, -1, c_out), kernels, out=blocks)  # (1, M, C_out) @ (kk, C_out, C_in)
    blocks6 = blocks.reshape(k, k, n, h_out, w_out, c_in)  # (k k, M, C_in) -> (k, k, N, H', W', C_in)
    dxp = np.zeros((n, h_out + k - 1, w_out + k - 1, c_in), dtype=dz.dtype)
    for p in range(k):  # k k slice additions: a loop over the kernel, not over pixels
        for q in range(k):
            dxp[:, p : p + h_out, q : q + w_out, :] += blocks6[p, q]
    return dxp[:, pad : pad + h_out + k - 1 - 2 * pad, pad : pad + w_out + k - 1 - 2 * pad, :]
