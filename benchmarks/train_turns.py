"""Old against new trainer, in turns in one process: is a change to model/ faster, on a busy machine?

``train_speed.py`` times whole epochs; on a shared machine other jobs move those by a quarter from
run to run, more than most changes. This script loads two copies of ``model`` into one process, the
one in ``--old-root`` (e.g. ``git archive HEAD model | tar -x -C /tmp/old``) and this checkout's,
and runs one epoch of the seed network (as ``train_speed.py``) with each and one of the five matrix
products of every batch alone (GEMM), in turns, rotating which goes first. It times every batch
(``BatchEnd`` to ``BatchEnd``) and reports per-batch medians, which a preempted batch does not move,
and ``gemm_bound_fraction`` as the GEMM median over a trainer's median. Run it under
``flock /tmp/digitnet-bench.lock`` with ``OPENBLAS_NUM_THREADS=1`` (or 2).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.train_speed import batch_products  # noqa: E402
from benchmarks.trees import import_from  # noqa: E402


def trainer_epoch(train_module: ModuleType, data: object) -> Callable[[], list[float]]:
    """One epoch of the seed preset with this ``model``: the seconds of each batch but the last."""
    from model.config import PRESETS  # the same preset in both trees is what is compared

    cfg = replace(PRESETS["seed"], epochs=1)
    T = train_module

    def epoch() -> list[float]:
        seconds, last = [], None
        for event in T.train(cfg, T.Dataset(*data)):
            if isinstance(event, T.BatchEnd):
                now = time.perf_counter()
                if last is not None and event.batch < event.n_batches:
                    seconds.append(now - last)
                last = now
        return seconds

    return epoch


def gemm_epoch(batches: int = 468, batch: int = 128, hidden: int = 128) -> Callable[[], list[float]]:
    """The five matrix products of a batch of the seed network (``train_speed.batch_products``),
    timed one batch at a time."""
    products = batch_products(batch, 784, hidden, 10)

    def epoch() -> list[float]:
        seconds = []
        for _ in range(batches):
            start = time.perf_counter()
            products(batch)
            seconds.append(time.perf_counter() - start)
        return seconds

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-root", type=Path, required=True, help="a tree holding the old model/")
    parser.add_argument("--rounds", type=int, default=10, help="epochs of each contender")
    default_data = os.environ.get("DIGITNET_DATA") or str(ROOT.parent / "shared" / "mnist")
    parser.add_argument("--data", default=default_data, help="MNIST directory (default: %(default)s)")
    args = parser.parse_args()
    old = import_from(args.old_root, "model.train")
    new = import_from(ROOT, "model.train")
    from model.data.mnist import load_mnist

    d = load_mnist(args.data)
    data = (d.train_images, d.train_labels, d.test_images, d.test_labels)
    contenders = {"old": trainer_epoch(old, data), "new": trainer_epoch(new, data), "gemm": gemm_epoch()}
    for epoch in contenders.values():
        epoch()  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(args.rounds):
        for name in names[r % 3 :] + names[: r % 3]:
            seconds[name] += contenders[name]()
    median = {name: statistics.median(s) * 1e6 for name, s in seconds.items()}
    print(f"threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}; "
          f"load average {os.getloadavg()[0]:.2f}; {args.rounds} epochs each, in turns")
    for name in names:
        extra = "" if name == "gemm" else (
            f"  beyond GEMM {median[name] - median['gemm']:6.1f} us"
            f"  gemm_bound_fraction {median['gemm'] / median[name]:.3f}"
        )
        print(f"{name:>5}: median {median[name]:7.1f} us a batch{extra}")


if __name__ == "__main__":
    main()
