"""A 2-D convolution layer ``a = f(conv(x, W) + b)``: a dense layer applied to every patch of an image.

Images are laid out channels last, ``x`` of shape (N, H, W, C_in); the kernels ``W`` have shape
(k, k, C_in, C_out) and the biases ``b`` (C_out,). Each output pixel is a cross-correlation (the
kernel is not flipped, as in every deep-learning library)::

    z[n, i, j, o] = b[o] + sum over (p, q, c) of xp[n, i + p, j + q, c] W[p, q, c, o]

where ``xp`` is x with ``pad`` zeros around it: (k - 1) / 2 on each side for "same" padding (H' = H,
k odd), none for "valid" (H' = H - k + 1). Stride 1 throughout. As matrices (im2col)::

    cols = patches(xp)      (N H' W', k k C_in): row (n, i, j) is the k x k x C_in patch at (i, j)
    z    = cols W + b       (N H' W', k k C_in) @ (k k C_in, C_out) -> (N H' W', C_out)
    a    = f(z)             reshaped to (N, H', W', C_out)

so the forward step is one copy (the patches, read through a strided view of xp) and one matrix
product. Backward, from ``dz = dC/dz`` of shape (N, H', W', C_out)::

    dW = cols^T dz          (k k C_in, N H' W') @ (N H' W', C_out) -> (k k C_in, C_out)
    db = sum of dz over n, i, j                                      (C_out,)
    dxp[n, i + p, j + q, c] += sum over o of dz[n, i, j, o] W[p, q, c, o]     (col2im)
    dx = dxp without its padding                                     (N, H, W, C_in)

The last line is the full convolution of dz with the kernel flipped in p and q (docs/math.md, section
15). Channels last, because then a patch's rows are runs of k C_in contiguous numbers and im2col and
col2im copy whole runs (both faster than with (N, C, H, W): benchmarks/conv_pieces.py, whose figures
are in docs/performance.md, "Training a convolutional network").
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from model.functions import ACTIVATIONS

Array = np.ndarray
PADDINGS = ("same", "valid")


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


def im2col(x: Array, k: int, pad: int, scratch: Scratch | None = None) -> Array:
    """The k x k patches of every output pixel as rows: (N, H, W, C) -> (N H' W', k k C), a copy.

    H' = H + 2 pad - k + 1. The patches are read through a strided view of the padded image (no
    Python loop over pixels); the one copy is into the matrix (``scratch``'s, if given).
    """
    n, h, w, c = x.shape
    xp = x
    if pad:
        xp = _new(scratch, "padded", (n, h + 2 * pad, w + 2 * pad, c), x.dtype)
        xp[:, pad : pad + h, pad : pad + w, :] = x  # the border stays zero
    view = sliding_window_view(xp, (k, k), axis=(1, 2))  # (N, H', W', C, k, k), no copy
    view = view.transpose(0, 1, 2, 4, 5, 3)  # (N, H', W', k, k, C): a patch row-major as W is
    h_out, w_out = view.shape[1], view.shape[2]
    cols = _new(scratch, "cols", (n * h_out * w_out, k * k * c), x.dtype)
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


class Conv2D:
    """One convolution ``a = f(conv(x, W) + b)``, stride 1; ``forward`` keeps the patches for backward.

    W, b, dW and db are views into the network's theta and grad vectors, never copies.

    Parameters
    ----------
    W : (k, k, C_in, C_out) kernels. b : (C_out,) biases. dW, db : shaped as W and b.
    activation : the name of f in ``functions.ACTIVATIONS``. padding : "same" or "valid".
    """

    def __init__(
        self, W: Array, b: Array, dW: Array, db: Array, activation: str, padding: str = "same"
    ) -> None:
        self.W, self.b, self.dW, self.db = W, b, dW, db
        self.activation = activation
        self.f = ACTIVATIONS[activation]
        self.k, self.c_out = W.shape[0], W.shape[3]
        if padding not in PADDINGS or (padding == "same" and self.k % 2 == 0):
            raise ValueError(f"padding must be one of {PADDINGS} (same: k odd), "
                             f"got {padding!r} for k = {self.k}")
        self.pad = padding_of(self.k, padding)
        self.scratch = Scratch()
        self.cols: Array | None = None
        self.z: Array | None = None
        self.a: Array | None = None

    def weighted_sum(self, cols: Array, n: int, h_out: int, w_out: int) -> Array:
        """z = cols W + b from the patches, shaped (N, H', W', C_out)."""
        z = cols @ self.W.reshape(-1, self.c_out)  # (N H' W', k k C_in) @ (k k C_in, C_out) -> (M, C_out)
        z += self.b
        return z.reshape(n, h_out, w_out, self.c_out)  # (M, C_out) -> (N, H', W', C_out), a view

    def _z(self, x: Array, scratch: Scratch | None = None) -> tuple[Array, Array]:
        n, h, w, _ = x.shape
        h_out, w_out = h + 2 * self.pad - self.k + 1, w + 2 * self.pad - self.k + 1
        cols = im2col(x, self.k, self.pad, scratch)
        return cols, self.weighted_sum(cols, n, h_out, w_out)

    def step(self, x: Array) -> tuple[Array, Array]:
        """z and a = f(z) for x (N, H, W, C_in), keeping nothing: several threads may call it."""
        z = self._z(x)[1]
        return z, self.f.forward(z)

    def forward(self, x: Array) -> Array:
        """``step``, keeping the patches, z and a for the backward steps. Returns a (N, H', W', C_out).

        The patches and col2im's products go into arrays the layer reuses at every step (``Scratch``):
        training is one step at a time; ``step`` and ``input_grad`` use arrays of their own.
        """
        self.cols, self.z = self._z(x, self.scratch)
        self.a = self.f.forward(self.z)
        return self.a

    def activation_backward(self, da: Array) -> Array:
        """dz = dC/dz from da = dC/da, through this layer's activation (da * f'(z) element-wise)."""
        assert self.z is not None and self.a is not None, "backward before forward"
        return self.f.backward(self.z, self.a, da)

    def backward(self, dz: Array, need_input_grad: bool = True) -> Array | None:
        """Given dz (N, H', W', C_out), write dW = cols^T dz and db = sum(dz); return dx (col2im)."""
        assert self.cols is not None, "backward before forward"
        dz2 = dz.reshape(-1, self.c_out)  # (N, H', W', C_out) -> (N H' W', C_out)
        np.matmul(self.cols.T, dz2, out=self.dW.reshape(-1, self.c_out))  # (kkC_in, M) @ (M, C_out)
        # db = sum of dz over its rows, written as 1^T dz: a matrix-vector product is much faster than a
        # sum down a tall dz (benchmarks/conv_pieces.py, docs/performance.md); test_conv.py checks they agree
        ones = self.scratch.get("ones", (len(dz2),), dz2.dtype, fill=1.0)
        np.matmul(ones, dz2, out=self.db)  # (M,) @ (M, C_out) -> (C_out,)
        if not need_input_grad:
            return None
        return col2im(dz, self.W, self.pad, self.scratch)

    def input_grad(self, dz: Array, x: Array | None = None) -> Array:
        """dx = col2im(dz, W): reads W, writes nothing, so it is safe beside other threads.

        ``x`` (the input of the forward step) is not needed: dx's shape follows from dz's.
        """
        return col2im(dz, self.W, self.pad)
