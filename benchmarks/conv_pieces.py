"""The choices inside model/conv.py and model/pool.py, each timed against its alternative.

conv-small's second convolution at batch 128 (a (128, 14, 14, 16) image, 5x5 kernels, 32 channels,
"same" padding) and its first pooling ((128, 28, 28, 16)), float32, one BLAS thread:

layout     im2col and col2im's slice additions with channels last (N, H, W, C), as the model has
           them, against channels first (N, C, H, W)
col2im     the k k slice additions from dcols = dz W^T (M, k k C_in) against from the offset-major
           product (k k, M, C_in) col2im takes
scratch    im2col and col2im's product into fresh arrays against into reused ones (``Scratch``)
bias sum   db of the first convolution ((128 28 28, 16) dz) as 1^T dz against np.add.reduce
runs       ``Conv2D.forward`` a few examples at a time (``chunk_numbers``) against the whole batch's
           patches at once
backward   ``Conv2D.backward`` with dx: dx and dW from the patches of dz, run by run, against the
           whole batch's cols^T dz and col2im
one channel the first layer's patches ((128, 28, 28, 1), 5x5) copied patch-major (k k, M), as
           ``Conv2D`` copies them, against row-major (M, k k) as im2col does
pooling    ``max_pool`` (rows, then columns) against the four corners of every window compared
routing    ``route`` through the two halves against one product per corner written into dx

Each pair runs in turns, ``--repeats`` times; the best and the median are printed, in ms.

    python benchmarks/conv_pieces.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.conv import Conv2D  # noqa: E402
from model.patches import Scratch, col2im, im2col, patches  # noqa: E402
from model.pool import max_pool, route  # noqa: E402

N, H, C_IN, C_OUT, K = 128, 14, 16, 32, 5
M = N * H * H


def pieces() -> dict[str, dict[str, Callable[[], object]]]:
    rng = np.random.default_rng(0)
    x = rng.random((N, H, H, C_IN), dtype=np.float32)
    x_first = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, C, H, W)
    W = rng.random((K, K, C_IN, C_OUT), dtype=np.float32)
    dz = rng.random((N, H, H, C_OUT), dtype=np.float32)
    dcols = dz.reshape(M, C_OUT) @ W.reshape(-1, C_OUT).T  # (M, k k C_in)

    def im2col_first() -> np.ndarray:
        xp = np.pad(x_first, ((0, 0), (0, 0), (2, 2), (2, 2)))
        view = sliding_window_view(xp, (K, K), axis=(2, 3))  # (N, C, H, W, k, k)
        return view.transpose(0, 2, 3, 1, 4, 5).reshape(M, C_IN * K * K)

    def additions(blocks: np.ndarray, channels_first: bool) -> np.ndarray:
        if channels_first:  # dcols as (N, H, W, C, k, k), added into (N, C, H + 4, W + 4)
            dxp = np.zeros((N, C_IN, H + 4, H + 4), np.float32)
            d6 = blocks.reshape(N, H, H, C_IN, K, K)
            for p in range(K):
                for q in range(K):
                    dxp[:, :, p : p + H, q : q + H] += d6[..., p, q].transpose(0, 3, 1, 2)
            return dxp
        dxp = np.zeros((N, H + 4, H + 4, C_IN), np.float32)
        d6 = blocks.reshape(N, H, H, K, K, C_IN)
        for p in range(K):
            for q in range(K):
                dxp[:, p : p + H, q : q + H] += d6[:, :, :, p, q]
        return dxp

    scratch = Scratch()
    dz_first = rng.random((N * 28 * 28, C_IN), dtype=np.float32)
    ones = np.ones(len(dz_first), np.float32)
    a = np.maximum(rng.standard_normal((N, 28, 28, C_IN), dtype=np.float32), 0)
    pooled, picks = max_pool(a)
    corner = picks.corner()
    conv, whole = _conv(W, rng), _conv(W, rng)
    whole.chunk_numbers = 2**40  # the whole batch in one run
    conv.forward(x)
    x1 = rng.random((N, 28, 28, 1), dtype=np.float32)
    view1 = patches(np.pad(x1, ((0, 0), (2, 2), (2, 2), (0, 0))), K)  # (N, 28, 28, k, k, 1)
    patch_major = np.empty((K * K, N * 28 * 28), np.float32)
    return {
        "layout: im2col": {"channels last": lambda: im2col(x, K, 2), "channels first": im2col_first},
        "layout: slice additions": {"channels last": lambda: additions(dcols, False),
                                    "channels first": lambda: additions(dcols, True)},
        "col2im": {"offset-major product": lambda: col2im(dz, W, 2),
                   "dz W^T, then additions": lambda: additions(dz.reshape(M, C_OUT) @ W.reshape(-1, C_OUT).T,
                                                               False)},
        "scratch: im2col": {"reused": lambda: im2col(x, K, 2, scratch), "fresh": lambda: im2col(x, K, 2)},
        "scratch: col2im": {"reused": lambda: col2im(dz, W, 2, scratch), "fresh": lambda: col2im(dz, W, 2)},
        "bias sum": {"1^T dz": lambda: ones @ dz_first,
                     "np.add.reduce": lambda: np.add.reduce(dz_first, axis=0)},
        "runs: forward": {"a few examples a run": lambda: conv.forward(x),
                          "the whole batch": lambda: whole.forward(x)},
        "backward with dx": {"dz's patches, by runs": lambda: conv.backward(dz),
                             "cols^T dz, col2im": lambda: (im2col(x, K, 2, scratch).T @ dz.reshape(M, C_OUT),
                                                           col2im(dz, W, 2, scratch))},
        "one channel: patches": {"patch-major": lambda: np.copyto(patch_major.reshape(K, K, N, 28, 28),
                                                                  view1[..., 0].transpose(3, 4, 0, 1, 2)),
                                 "row-major (im2col)": lambda: im2col(x1, K, 2, scratch)},
        "pooling": {"rows, then columns": lambda: max_pool(a), "four corners": lambda: _corners_pool(a)},
        "routing": {"two halves": lambda: route(pooled, picks),
                    "product per corner": lambda: _corners_route(pooled, corner)},
    }


def _conv(W: np.ndarray, rng: np.random.Generator) -> Conv2D:
    b = rng.random(C_OUT, dtype=np.float32)
    return Conv2D(W, b, np.empty_like(W), np.empty_like(b), "relu")


def _corners(x: np.ndarray) -> list[np.ndarray]:
    """The four corners of every 2x2 window, (0, 0), (1, 0), (0, 1), (1, 1), as strided views."""
    n, h, w, c = x.shape
    windows = x.reshape(n, h // 2, 2, w // 2, 2, c)
    return [windows[:, :, p, :, q, :] for q in (0, 1) for p in (0, 1)]


def _corners_pool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The maxima and their corner (0..3) from the four corners compared in pairs (the old form)."""
    c0, c1, c2, c3 = _corners(x)
    first, second = np.maximum(c0, c1), np.maximum(c2, c3)
    where_first = (c1 > c0).view(np.uint8)
    where_second = (c3 > c2).view(np.uint8) + np.uint8(2)
    return np.maximum(first, second), np.where(second > first, where_second, where_first)


def _corners_route(da: np.ndarray, corner: np.ndarray) -> np.ndarray:
    """dx with da written into each corner where it won, one product per corner (the old form)."""
    n, h2, w2, c = da.shape
    dx = np.empty((n, 2 * h2, 2 * w2, c), dtype=da.dtype)
    for number, dx_corner in enumerate(_corners(dx)):
        np.multiply(da, corner == number, out=dx_corner)
    return dx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"{'piece':<26}{'choice':<26}{'best ms':>9}{'median ms':>11}")
    for piece, choices in pieces().items():
        seconds: dict[str, list[float]] = {name: [] for name in choices}
        for _ in range(args.repeats + 1):
            for name, run in choices.items():
                start = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - start)
        for name, s in seconds.items():
            s = s[1:]  # the first round warms up
            print(f"{piece:<26}{name:<26}{1e3 * min(s):>9.2f}{1e3 * statistics.median(s):>11.2f}")


if __name__ == "__main__":
    main()
