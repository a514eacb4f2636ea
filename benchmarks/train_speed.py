"""How fast does digitnet train the seed network, against what NumPy and PyTorch allow?

One epoch (60,000 MNIST digits) of the seed network 784-128-10 (ReLU, softmax + cross-entropy,
float32, batch 128, plain SGD with the seed preset's cosine learning rate) is timed three ways, in
one process, on the same data:

ours       ``model.train.train`` with the seed preset and ``epochs=1``. The time is the ``seconds``
           field of its ``EpochEnd`` event: model/train.py takes it with ``perf_counter`` around the
           epoch's shuffle and batch loop (gather, forward, backward, SGD step, finiteness check,
           accuracy count, ``BatchEnd``; also whatever the caller does between events, here
           nothing), so it excludes the uint8 -> float conversion before the epoch and the test-set
           evaluation after it.
GEMM only  the five matrix products of a batch alone, same shapes, same 469 batches (468 of 128 and
           one of 96): x W1, a1 W2 forward; a1^T dz2, dz2 W2^T, x^T dz1 backward (no input gradient,
           the trainer skips it too), into preallocated outputs. Nearly all the arithmetic of an
           epoch is in these products, so their time is a floor: ``gemm_bound_fraction`` =
           GEMM time / our time says how close to it the trainer runs (1.0 = no overhead at all).
PyTorch    the same model, loss, SGD, learning rates and batch size with torch on the CPU, when
           torch imports, each batch gathered by index from a float32 tensor. It reads no loss value
           and counts no accuracy, so it does a little less than ours. ``torch_ratio`` = our
           samples/s / PyTorch's (> 1: we are faster).

BLAS threads are pinned to ``--threads`` (default 1) through the environment, which BLAS reads once
when NumPy loads it; the script re-executes itself when the variables need changing. Each contender
runs one warm-up epoch, then ``--repeats`` epochs taken in turn (ours, GEMM, torch, ours, ...) so a
change of machine load touches all alike; the median is reported. Other jobs skew the figures
(badly with several threads), so the CPUs kept busy in the second before the run are printed too
(the load average lags by minutes), as is OPENBLAS_CORETYPE, which can pin OpenBLAS to older kernels.

``--conv PRESET`` (a name of ``model.architecture.LAYER_PRESETS`` or a layer list) times one training
step of that convolutional network instead, against its matrix products and PyTorch: conv_speed.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import cast

import numpy as np

# run as a script from anywhere: the repository root holds the ``model`` package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.config import PRESETS
from model.data.mnist import DataError, load_mnist
from model.train import Cancelled, Dataset, Diverged, EpochEnd, as_float, make_schedule, train

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
TARGETS = {"torch_ratio": 1.4, "gemm_bound_fraction": 0.8}  # defined for 1 thread
CFG = replace(PRESETS["seed"], epochs=1)
Epoch = Callable[[], float]  # runs one epoch, returns its seconds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.environ.get("DIGITNET_DATA") or str(ROOT.parent / "shared" / "mnist")
    parser.add_argument("--data", default=default_data, help="MNIST directory (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per contender")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--conv", metavar="PRESET", help="time a conv network's step instead "
                        "(conv_speed.py), e.g. conv-small or a layer list")
    parser.add_argument("--steps", type=int, default=10, help="--conv: steps per round")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be at least 1")
    return args


def pin_blas_threads(threads: int) -> None:
    """Re-execute this process with the BLAS thread variables set, unless they already are."""
    if all(os.environ.get(var) == str(threads) for var in THREAD_VARS):
        return
    os.environ.update(dict.fromkeys(THREAD_VARS, str(threads)))
    os.execv(sys.executable, sys.orig_argv)


def cpus_busy(seconds: float = 1.0) -> float | None:
    """How many CPUs were busy over the next ``seconds``, from Linux's /proc/stat (None elsewhere)."""

    def idle_and_total() -> tuple[int, int]:
        with open("/proc/stat") as f:
            ticks = [int(t) for t in f.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks[:8])  # idle + iowait; all but guest time

    try:
        idle0, total0 = idle_and_total()
        time.sleep(seconds)
        idle1, total1 = idle_and_total()
    except (OSError, ValueError, IndexError):
        return None
    return round((os.cpu_count() or 1) * (1 - (idle1 - idle0) / max(total1 - total0, 1)), 2)


def blas_info() -> str:
    """The BLAS libraries in use and their thread counts, from threadpoolctl when installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas['version']} (threadpoolctl not installed, threads unverified)"
    pools = [
        " ".join(str(p[k]) for k in ("internal_api", "version", "architecture") if p.get(k))
        + f" threads={p['num_threads']}"
        for p in threadpool_info()
    ]
    return "; ".join(pools) + " (threadpoolctl)"


def ours(data: Dataset) -> Epoch:
    """One epoch of ``model.train.train``: a fresh run with the seed preset and ``epochs=1``."""

    def epoch() -> float:
        seconds = None
        for event in train(CFG, data):
            if isinstance(event, EpochEnd):
                seconds = event.seconds
            elif isinstance(event, Diverged | Cancelled):
                raise RuntimeError(f"training did not finish: {event}")
        assert seconds is not None
        return seconds

    return epoch


def batch_products(batch: int, n_in: int, n_hidden: int, n_out: int) -> Callable[[int], None]:
    """The five matrix products of a batch of the one-hidden-layer network, NumPy float32, outputs
    preallocated: ``products(m)`` runs them for a batch of m <= ``batch`` rows."""
    rng = np.random.default_rng(0)

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32)

    x, W1, W2 = rand(batch, n_in), rand(n_in, n_hidden), rand(n_hidden, n_out)
    a1, dz1, dz2 = rand(batch, n_hidden), rand(batch, n_hidden), rand(batch, n_out)
    z1, z2, da1 = np.empty_like(a1), np.empty_like(dz2), np.empty_like(a1)
    dW1, dW2 = np.empty_like(W1), np.empty_like(W2)

    def products(m: int) -> None:
        np.matmul(x[:m], W1, out=z1[:m])  # (m, 784) @ (784, 128) -> (m, 128)
        np.matmul(a1[:m], W2, out=z2[:m])  # (m, 128) @ (128, 10) -> (m, 10)
        np.matmul(a1[:m].T, dz2[:m], out=dW2)  # (128, m) @ (m, 10) -> (128, 10)
        np.matmul(dz2[:m], W2.T, out=da1[:m])  # (m, 10) @ (10, 128) -> (m, 128)
        np.matmul(x[:m].T, dz1[:m], out=dW1)  # (784, m) @ (m, 128) -> (784, 128)

    return products


def gemm_only(n: int, batch: int, n_in: int, n_hidden: int, n_out: int) -> Epoch:
    """The five matrix products of every batch of an epoch (``batch_products``)."""
    products = batch_products(batch, n_in, n_hidden, n_out)
    sizes = [batch] * (n // batch) + ([n % batch] if n % batch else [])

    def epoch() -> float:
        start = time.perf_counter()
        for m in sizes:
            products(m)
        return time.perf_counter() - start

    return epoch


def pytorch(data: Dataset, threads: int) -> tuple[Epoch, str] | None:
    """The same model and SGD in PyTorch on the CPU; None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(CFG.seed)
    x = torch.from_numpy(as_float(data.train_x, np.dtype(np.float32)))
    y = torch.from_numpy(data.train_y.astype(np.int64))
    n_hidden = CFG.hidden[0]
    model = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], n_hidden), torch.nn.ReLU(), torch.nn.Linear(n_hidden, 10)
    )
    loss_fn, opt = torch.nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=CFG.lr)
    lr_at, n, B = make_schedule(CFG), len(y), CFG.batch_size
    n_batches = -(-n // B)

    def epoch() -> float:
        start = time.perf_counter()
        order = torch.randperm(n)
        for b, first in enumerate(range(0, n, B)):
            idx = order[first : first + B]
            opt.param_groups[0]["lr"] = lr_at(b / n_batches)  # the seed's cosine, as ours
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        return time.perf_counter() - start

    return epoch, f"{torch.__version__} threads={torch.get_num_threads()}"


def measure(contenders: dict[str, Epoch], repeats: int) -> dict[str, list[float]]:
    """A warm-up epoch each, then ``repeats`` rounds of one epoch per contender, in turn."""
    for epoch in contenders.values():
        epoch()
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, epoch in contenders.items():
            seconds[name].append(epoch())
    return seconds


def summarize(
    seconds: dict[str, list[float]], n: int, args: argparse.Namespace, torch: str | None, busy: float | None
) -> dict[str, object]:
    """The figures of the run as one JSON-ready dict: medians, ratios, raw seconds, environment."""
    median = {name: statistics.median(s) for name, s in seconds.items()}
    torch_s = median.get("pytorch")
    return {
        "samples_per_s": n / median["ours"],
        "gemm_bound_fraction": median["gemm"] / median["ours"],
        "torch_ratio": torch_s / median["ours"] if torch_s else None,
        "threads": args.threads,
        "repeats": args.repeats,
        "median_seconds": median,
        "best_seconds": {name: min(s) for name, s in seconds.items()},
        "seconds": seconds,
        "numpy": np.__version__,
        "blas": blas_info(),
        "torch": torch,
        "cpus": os.cpu_count(),
        "cpus_busy_before": busy,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def report(result: dict[str, object], n: int) -> None:
    """A table of seconds per epoch, samples/s and time relative to ours, then the targets."""
    median = cast(dict[str, float], result["median_seconds"])
    best = cast(dict[str, float], result["best_seconds"])
    busy = result["cpus_busy_before"]
    quiet = isinstance(busy, float) and busy <= 0.3
    print(f"numpy {result['numpy']}; BLAS: {result['blas']}; torch {result['torch'] or 'not installed'}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; threads={result['threads']}")
    print(f"CPUs busy just before the run: {busy} of {result['cpus']}" + ("" if quiet else " - BUSY, noisy"))
    print("ours = EpochEnd.seconds: shuffle + batch loop only (no float conversion, no test pass)\n")
    title = f"median of {result['repeats']}"
    print(f"{title:<24}{'s/epoch':>9}{'samples/s':>11}{'time/ours':>11}{'best s':>8}")
    labels = {"ours": "ours (model.train)", "gemm": "GEMM only (NumPy)", "pytorch": "PyTorch CPU"}
    for name, s in median.items():
        print(f"{labels[name]:<24}{s:>9.3f}{n / s:>11,.0f}{s / median['ours']:>11.2f}{best[name]:>8.3f}")
    for key, target in TARGETS.items():
        value = cast(float | None, result[key])
        verdict = "n/a" if value is None else ("met" if value >= target else "NOT met")
        shown = "n/a" if value is None else f"{value:.2f}"
        print(f"{key} = {shown} (target >= {target} at 1 thread): {verdict}")


def main() -> None:
    args = parse_args()
    pin_blas_threads(args.threads)
    busy = cpus_busy()
    try:
        mnist = load_mnist(args.data)
    except DataError as exc:
        sys.exit(str(exc))
    if args.conv:
        from benchmarks import conv_speed

        x = as_float(mnist.train_images[: conv_speed.BATCH], np.dtype(np.float32))
        conv = conv_speed.run(args.conv, x, mnist.train_labels[: conv_speed.BATCH].astype(np.int64),
                              args.steps, args.repeats, args.threads)
        if args.json:
            environment = {"threads": args.threads, "blas": blas_info(), "cpus_busy_before": busy}
            print(json.dumps({**dataclasses.asdict(conv), **environment}))
        else:
            print(f"BLAS: {blas_info()}; CPUs busy just before the run: {busy}")
            conv_speed.report(conv)
        return
    data = Dataset(mnist.train_images, mnist.train_labels, mnist.test_images, mnist.test_labels)
    n = len(data.train_y)
    contenders = {"ours": ours(data), "gemm": gemm_only(n, CFG.batch_size, 784, CFG.hidden[0], 10)}
    torch_epoch = pytorch(data, args.threads)
    if torch_epoch is not None:
        contenders["pytorch"] = torch_epoch[0]
    torch_version = torch_epoch[1] if torch_epoch else None
    result = summarize(measure(contenders, args.repeats), n, args, torch_version, busy)
    if args.json:
        print(json.dumps(result))
    else:
        report(result, n)


if __name__ == "__main__":
    main()
