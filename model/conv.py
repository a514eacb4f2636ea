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
15). ``step`` and ``input_grad`` (predictions and explanations) take these forms as written: the
patches of the whole batch (im2col's matrix, copied as ``patch_matrix`` does) and patches.py's col2im.
A training step (``forward`` and ``backward``) goes through the batch
a few examples at a time, so that each run's patches are still in the CPU's cache when they are
multiplied, and takes dx and dW from the patches of dz: the same sums, in another order.
"""

from __future__ import annotations

import numpy as np

from model.functions import ACTIVATIONS
from model.patches import Scratch, col2im, pad_image, padding_of, patches

Array = np.ndarray
PADDINGS = ("same", "valid")
# How many patch numbers one run of a training step copies at a time (4 MB in float32): small enough to
# stay in the CPU's cache between the copy and the product (``Conv2D.forward``)
CHUNK_NUMBERS = 2**20


class Conv2D:
    """One convolution ``a = f(conv(x, W) + b)``, stride 1; ``forward`` keeps its padded input for backward.

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
        self.chunk_numbers = CHUNK_NUMBERS
        self.x: Array | None = None
        self.xp: Array | None = None
        self.z: Array | None = None
        self.a: Array | None = None

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        """(H', W') of the output for an input of H x W."""
        return h + 2 * self.pad - self.k + 1, w + 2 * self.pad - self.k + 1

    def step(self, x: Array) -> tuple[Array, Array]:
        """z and a = f(z) for x (N, H, W, C_in), keeping nothing: several threads may call it.

        z = cols W + b: the patches of the whole batch (im2col), then one product."""
        n, h, w, c_in = x.shape
        h_out, w_out = self.out_size(h, w)
        buffer = np.empty(patch_buffer(n * h_out * w_out, self.k, c_in), x.dtype)  # this call's own
        cols = patch_matrix(patches(pad_image(x, self.pad), self.k), buffer)  # im2col's matrix
        z = cols @ self.W.reshape(-1, self.c_out)  # (N H' W', k k C_in) @ (k k C_in, C_out) -> (M, C_out)
        z += self.b
        z = z.reshape(n, h_out, w_out, self.c_out)  # (M, C_out) -> (N, H', W', C_out), a view
        return z, self.f.forward(z)

    def patch_numbers(self, h: int, w: int) -> int:
        """How many numbers a training step copies into patches for one example of H x W: the larger
        of its own patches (H' W' k k C_in) and, in ``backward``, its dz's (H W k k C_out)."""
        h_out, w_out = self.out_size(h, w)
        c_in = self.W.shape[2]
        return max(h_out * w_out * self.k * self.k * c_in, h * w * self.k * self.k * self.c_out)

    def chunks(self, n: int, h: int, w: int) -> list[slice]:
        """The batch's n examples of H x W in runs whose patches hold at most ``chunk_numbers``
        numbers (at least one example a run), all as long as the first but the last."""
        size = max(1, self.chunk_numbers // self.patch_numbers(h, w))
        return [slice(start, min(start + size, n)) for start in range(0, n, size)]

    def forward(self, x: Array) -> Array:
        """``step``, keeping the padded input, z and a for the backward steps. Returns a (N, H', W', C_out).

        The plain form is ``step``'s: the patches of the whole batch, then one product. Here the batch
        goes in runs of a few examples (``chunks``): each run's patches are copied into a small
        matrix and multiplied while they are still in the CPU's cache, instead of one matrix of tens
        of megabytes written out to memory and read back (conv-small's second layer's forward step is
        markedly faster so: benchmarks/conv_pieces.py, docs/performance.md). The patches are not
        kept: ``backward`` copies them again, run by run, which is faster than reading them back.
        ``tests/model/test_conv.py`` checks both steps against the plain forms.
        The padded input and the patches go into arrays the layer reuses at every step
        (``Scratch``): training is one step at a time; ``step`` and ``input_grad`` use arrays of
        their own.
        """
        n, h, w, _ = x.shape
        h_out, w_out = self.out_size(h, w)
        self.x, self.xp = x, pad_image(x, self.pad, self.scratch)
        view = patches(self.xp, self.k)
        z = np.empty((n * h_out * w_out, self.c_out), dtype=x.dtype)
        rows = h_out * w_out  # patch rows an example
        runs = self.chunks(n, h, w)
        for run in runs:
            cols = self._run_patches(view, run, runs[0])
            np.matmul(cols, self.W.reshape(-1, self.c_out), out=z[run.start * rows : run.stop * rows])
        z += self.b
        self.z = z.reshape(n, h_out, w_out, self.c_out)
        self.a = self.f.forward(self.z)
        return self.a

    def _run_patches(self, view: Array, run: slice, longest: slice, name: str = "cols") -> Array:
        """The patches of the examples ``run`` of a patches view (N, H', W', k, k, C_in) as the matrix
        (n_run H' W', k k C_in) (``patch_matrix``), copied into the layer's array ``name``, which
        holds those of the ``longest`` run."""
        h_out, w_out = view.shape[1:3]
        longest_rows = (longest.stop - longest.start) * h_out * w_out
        full = self.scratch.get(name, patch_buffer(longest_rows, self.k, view.shape[5]), view.dtype)
        return patch_matrix(view[run], full)

    def activation_backward(self, da: Array) -> Array:
        """dz = dC/dz from da = dC/da, through this layer's activation (da * f'(z) element-wise)."""
        assert self.z is not None and self.a is not None, "backward before forward"
        return self.f.backward(self.z, self.a, da)

    def backward(self, dz: Array, need_input_grad: bool = True) -> Array | None:
        """Given dz (N, H', W', C_out), write dW and db = sum(dz); return dx (None if not needed).

        The plain forms take the whole batch: ``dW = cols^T dz`` and dx by ``col2im``. Here, run by
        run as in ``forward``. A layer that needs no dx (the first) copies each run's patches of x
        again and adds up each run's ``cols^T dz``. Otherwise the patches of dz, padded by k - 1 - pad
        zeros, serve both gradients (``_full_convolution``)::

            dx = patches(dz padded) W_flipped   (n_run H W, k k C_out) @ (k k C_out, C_in)
            G  = x^T patches(dz padded)         (C_in, n_run H W) @ (n_run H W, k k C_out)
            dW[p, q, c, o] = G[c, (k - 1 - p, k - 1 - q, o)]

        dx is the full convolution of dz with the kernel flipped in p and q (docs/math.md, section 15),
        which writes each input pixel's gradient once where col2im adds k k blocks into it; G is
        dW = cols^T dz with its sum taken over the same products in the other order, so x's patches
        are not copied again (both faster for conv-small: benchmarks/conv_pieces.py,
        docs/performance.md). ``tests/model/test_conv.py`` checks them against the plain forms.
        """
        assert self.x is not None, "backward before forward"
        h, w = self.x.shape[1:3]
        runs = self.chunks(len(dz), h, w)
        dx = None
        if need_input_grad:
            dx = self._full_convolution(dz, runs)
        else:
            self._kernel_gradient(dz, runs)
        dz2 = dz.reshape(-1, self.c_out)  # (N, H', W', C_out) -> (N H' W', C_out)
        # db = sum of dz over its rows, written as 1^T dz: a matrix-vector product is much faster than a
        # sum down a tall dz (benchmarks/conv_pieces.py, docs/performance.md); test_conv.py checks they agree
        ones = self.scratch.get("ones", (len(dz2),), dz2.dtype, fill=1.0)
        np.matmul(ones, dz2, out=self.db)  # (M,) @ (M, C_out) -> (C_out,)
        return dx

    def _kernel_gradient(self, dz: Array, runs: list[slice]) -> None:
        """dW = cols^T dz, added up run by run from x's patches copied again (``backward``)."""
        assert self.xp is not None
        dz2 = dz.reshape(-1, self.c_out)  # (N, H', W', C_out) -> (N H' W', C_out)
        dW = self.dW.reshape(-1, self.c_out)
        view, rows = patches(self.xp, self.k), dz.shape[1] * dz.shape[2]
        for i, run in enumerate(runs):
            cols = self._run_patches(view, run, runs[0])
            dz_run = dz2[run.start * rows : run.stop * rows]
            if i == 0:
                np.matmul(cols.T, dz_run, out=dW)  # (kkC_in, M_run) @ (M_run, C_out)
            else:
                part = self.scratch.get("dW part", dW.shape, dW.dtype)
                dW += np.matmul(cols.T, dz_run, out=part)

    def _full_convolution(self, dz: Array, runs: list[slice]) -> Array:
        """dx, and dW from the same patches of dz, run by run (``backward``)."""
        assert self.x is not None
        n, h, w, c_in = self.x.shape
        dz_view = patches(pad_image(dz, self.k - 1 - self.pad, self.scratch, "dz padded"), self.k)
        flipped = self.W[::-1, ::-1].transpose(0, 1, 3, 2).reshape(-1, c_in)  # (k k C_out, C_in)
        dx = np.empty((n, h, w, c_in), dz.dtype)
        x2, dx2 = self.x.reshape(-1, c_in), dx.reshape(-1, c_in)  # (N H W, C_in)
        g = self.scratch.get("dW flipped", (c_in, flipped.shape[0]), dz.dtype)
        part = self.scratch.get("dW flipped part", g.shape, dz.dtype)
        for i, run in enumerate(runs):
            dz_cols = self._run_patches(dz_view, run, runs[0], "dz cols")  # (n_run H W, k k C_out)
            rows = slice(run.start * h * w, run.stop * h * w)
            np.matmul(dz_cols, flipped, out=dx2[rows])  # (M_run, kkC_out) @ (kkC_out, C_in)
            np.matmul(x2[rows].T, dz_cols, out=g if i == 0 else part)  # (C_in, M_run) @ (M_run, kkC_out)
            if i:
                g += part
        # g[c, (p', q', o)] = dW[k-1-p', k-1-q', c, o]
        self.dW[...] = g.reshape(c_in, self.k, self.k, self.c_out).transpose(1, 2, 0, 3)[::-1, ::-1]
        return dx

    def input_grad(self, dz: Array, x: Array | None = None) -> Array:
        """dx = col2im(dz, W): reads W, writes nothing, so it is safe beside other threads.

        ``x`` (the input of the forward step) is not needed: dx's shape follows from dz's.
        """
        return col2im(dz, self.W, self.pad)


def patch_buffer(rows: int, k: int, c_in: int) -> tuple[int, int]:
    """The shape of an array that ``patch_matrix`` can copy ``rows`` patches of k x k x C_in into."""
    return (k * k, rows) if c_in == 1 else (rows, k * k * c_in)


def patch_matrix(view: Array, full: Array) -> Array:
    """The patches of a view (n, H', W', k, k, C_in) copied as the matrix (n H' W', k k C_in), into the
    start of ``full`` (shaped by ``patch_buffer`` for at least n H' W' rows); returns the matrix.

    With one input channel (a first layer, reading pixels) a patch row-major is only k numbers
    side by side in the image, so the copy would move runs of k numbers. The patches are copied
    patch-major instead, into the transpose (k k, n H' W'), whose every row is the (n, H', W') block
    of the image shifted by (p, q): runs of W' numbers, several times faster
    (benchmarks/conv_pieces.py, docs/performance.md). The matrix returned is then its transpose, a
    view; the products read it so as it is (BLAS takes either layout).
    """
    n, h_out, w_out, k, _, c_in = view.shape
    rows = n * h_out * w_out
    if c_in == 1:
        shifted = view[..., 0].transpose(3, 4, 0, 1, 2)  # (k, k, n, H', W')
        np.copyto(full[:, :rows].reshape(shifted.shape), shifted)
        return full[:, :rows].T
    cols = full[:rows]
    np.copyto(cols.reshape(view.shape), view)
    return cols
