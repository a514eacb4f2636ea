"""The choices inside model/conv.py and model/pool.py, each timed against its alternative.

conv-small's second convolution at batch 128 (a (128, 14, 14, 16) image, 5x5 kernels, 32 channels,
"same" padding) and its first pooling ((128, 28, 28, 16)), float32, one BLAS thread:

layout     im2col and col2im's slice additions with channels last (N, H, W, C), as the model has
           them, against channels first (N, C, H, W)
col2im     the k k slice additions from dcols = dz W^T (M, k k C_in) against from the offset-major
           product (k k, M, C_in) col2im takes
scratch    im2col and col2im's product into fresh arrays against into reused ones (``Scratch``)
bias sum   db of the first convolution ((128 28 28, 16) dz) as 1^T dz against np.add.reduce
routing    max pooling's backward step as one product per corner written into dx (``route``)
           against one select over the (N, H/2, 2, W/2, 2, C) windows

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

from model.patches import Scratch, col2im, im2col  # noqa: E402
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
    pooled, where = max_pool(a)
    corner_ids = np.arange(4, dtype=np.uint8).reshape(1, 1, 2, 1, 2, 1)
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
        "routing": {"product per corner": lambda: route(pooled, where),
                    "select over windows": lambda: np.where(
                        where[:, :, None, :, None, :] == corner_ids, pooled[:, :, None, :, None, :], 0)},
    }


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
