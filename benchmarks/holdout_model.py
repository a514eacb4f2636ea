"""A model for writers it never saw: the shipped recipe, trained without one group of pen writers.

The shipped model learned from MNIST and all 30 writers of the pendigits file, and the file holds no
others, so a figure on "writers the model was not trained on" needs a model of its own. This one is
made as ``benchmarks/pendigits_cv.py`` makes its models: the writers are split into three groups by
the same seeded permutation, and the network learns from MNIST plus the pen digits of the two other
groups (``app/pen/digits.py``, ``copies`` drawings each), with the ``default`` preset for
``epochs`` epochs (the shipped model had 40). The held-out group is then the test.

    .venv/bin/python benchmarks/holdout_model.py [--fold 0] [--epochs 15] [--out runs/holdout-fold0.npz]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy: a shared machine
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.pen.digits import load_pen_data  # noqa: E402
from app.pen.pendigits import parse  # noqa: E402
from app.runs.training import dataset, run_meta  # noqa: E402
from model.config import PRESETS  # noqa: E402
from model.data.mnist import load_mnist  # noqa: E402
from model.serialize import save_model  # noqa: E402
from model.train import Finished, train  # noqa: E402

PEN_FILE = ROOT.parent / "shared" / "pendigits" / "pendigits-orig-tra.txt"
FOLDS = 3


def held_out_writers(pen_file: Path, fold: int) -> set[int]:
    """The writers of group ``fold``, split exactly as benchmarks/pendigits_cv.py splits them."""
    writers = sorted({s.writer for s in parse(pen_file)})
    groups = np.array_split(np.random.default_rng(1).permutation(writers), FOLDS)
    return {int(w) for w in groups[fold]}


def train_holdout(out: Path, pen_file: Path, fold: int, epochs: int, copies: int = 3) -> Path:
    """Train the default preset on MNIST + the pen digits of every writer outside ``fold``; save it."""
    held = held_out_writers(pen_file, fold)
    everyone = {s.writer for s in parse(pen_file)}
    mnist = load_mnist(os.environ.get("DIGITNET_DATA") or ROOT.parent / "shared" / "mnist")
    pen = load_pen_data(pen_file, copies, seed=fold, writers=everyone - held)
    cfg = dataclasses.replace(PRESETS["default"], epochs=epochs)
    for event in train(cfg, dataset(mnist, pen.images, pen.labels)):
        if isinstance(event, Finished):
            print(f"trained {epochs} epochs without writers {sorted(held)}: MNIST test "
                  f"{event.test_accuracy:.4f}", file=sys.stderr)
            meta = run_meta(cfg, event, [], mnist.checksums, preset="default", pen_data=pen.meta,
                            held_out_writers=sorted(held))
            return save_model(out, event.network, meta)
    raise RuntimeError(f"training without writers {sorted(held)} did not finish")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pendigits", type=Path, default=PEN_FILE)
    parser.add_argument("--fold", type=int, default=0, choices=range(FOLDS))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "holdout-fold0.npz")
    args = parser.parse_args()
    print(train_holdout(args.out, args.pendigits, args.fold, args.epochs, args.copies))


if __name__ == "__main__":
    main()
