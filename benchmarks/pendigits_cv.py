"""Does training on some writers' pen digits help on other writers? A writer-disjoint cross-validation.

The 30 writers of the pendigits file are split into ``--folds`` groups. For each group, two networks
are trained with the same preset and seed: one on MNIST alone, one on MNIST plus the pen digits of
the *other* writers (drawn like the canvas, ``--copies`` times each; app/pen/digits.py). Both are then
scored on the held-out group's digits, drawn the page's default way and put through the server's
preprocessing. The gap between the two is what pen data buys on writers the network never saw.

    python benchmarks/pendigits_cv.py [--epochs 15] [--copies 2] [--folds 3] [--json]
    python benchmarks/pendigits_cv.py --preset conv --fold 1 --pen-only   # one fold, with pen data only
    python benchmarks/pendigits_cv.py --preset conv --layers conv-large --thickness 0 --fold 1 --pen-only

``--fold K`` runs one group (folds run side by side as processes, each with its BLAS threads);
``--pen-only`` trains the network with pen data alone (the comparison between two presets).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy: tiny products, shared machine
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.pen.digits import load_pen_data  # noqa: E402
from app.pen.pendigits import parse  # noqa: E402
from app.pen.strokes import render_image  # noqa: E402
from app.runs.training import run_meta  # noqa: E402
from model.architecture import layer_list  # noqa: E402
from model.config import PRESETS, layer_fields  # noqa: E402
from model.data.mnist import load_mnist  # noqa: E402
from model.images.preprocess import to_mnist  # noqa: E402
from model.serialize import save_model  # noqa: E402
from model.train import Dataset, Finished, train  # noqa: E402

PEN_FILE = ROOT.parent / "shared" / "pendigits" / "pendigits-orig-tra.txt"


def held_out_set(path: Path, writers: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """The held-out writers' digits drawn the page's default way (pen 18, 65% of the canvas)."""
    samples = [s for s in parse(path) if s.writer in writers]
    vectors = [to_mnist(np.asarray(render_image(s.strokes), dtype=np.float32) / 255) for s in samples]
    keep = [i for i, v in enumerate(vectors) if v is not None]
    return np.stack([vectors[i] for i in keep]), np.array([samples[i].label for i in keep])


def score(
    args: argparse.Namespace, mnist, extra, test_x, test_y, save: dict | None = None
) -> dict[str, float]:
    """Train on MNIST (plus ``extra``), read the held-out digits; with ``save`` ({"out": path, "meta":
    {...}}) the network is written there, a model file as ``digitnet train`` writes."""
    cfg = dataclasses.replace(PRESETS[args.preset], epochs=args.epochs, limit=args.limit)
    if args.layers:
        cfg = dataclasses.replace(cfg, **layer_fields(layer_list(args.layers)))
    if args.thickness is not None and cfg.augment is not None:
        cfg = dataclasses.replace(cfg, augment=dataclasses.replace(cfg.augment, thickness=args.thickness))
    x = mnist.train_images / np.float32(255)
    y = mnist.train_labels
    if extra is not None:
        x, y = np.concatenate([x, extra.images]), np.concatenate([y, extra.labels])
    last = list(train(cfg, Dataset(x.astype(np.float32), y, mnist.test_images, mnist.test_labels)))[-1]
    assert isinstance(last, Finished), last
    if save is not None:
        meta = run_meta(cfg, last, [], mnist.checksums, preset=args.preset, **save["meta"])
        save_model(save["out"], last.network, meta)
    predicted = last.network.predict_proba(test_x).argmax(axis=1)
    return {"pen_accuracy": float((predicted == test_y).mean()), "mnist_accuracy": last.test_accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pendigits", type=Path, default=PEN_FILE)
    parser.add_argument("--data", help="MNIST directory")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--layers", help="the preset's network replaced by this one, e.g. conv-large")
    parser.add_argument("--thickness", type=float, help="the preset's stroke-thickness distortion replaced")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--fold", type=int, help="run this group alone (0 to folds - 1)")
    parser.add_argument("--pen-only", action="store_true", help="train with the pen data only")
    parser.add_argument("--limit", type=int, default=0, help="the first N training digits only (a smoke run)")
    parser.add_argument("--save", type=Path, help="with --fold: write the network trained with pen data "
                        "here (a held-out model for numbers_eval.py, as holdout_model.py writes)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.save is not None and args.fold is None:
        parser.error("--save needs --fold")
    mnist = load_mnist(args.data or os.environ.get("DIGITNET_DATA") or ROOT.parent / "shared" / "mnist")
    writers = sorted({s.writer for s in parse(args.pendigits)})
    groups = np.array_split(np.random.default_rng(1).permutation(writers), args.folds)
    rows = []
    for k, group in enumerate(groups):
        if args.fold is not None and k != args.fold:
            continue
        held = {int(w) for w in group}
        test_x, test_y = held_out_set(args.pendigits, held)
        pen = load_pen_data(args.pendigits, args.copies, seed=k, writers=set(writers) - held)
        row = {"fold": k, "preset": args.preset, "held_out_writers": sorted(held), "n": len(test_y),
               "with_pen_data": score(args, mnist, pen, test_x, test_y, save=None if args.save is None else
                                      {"out": args.save, "meta": {"pen_data": pen.meta,
                                                                  "held_out_writers": sorted(held)}})}
        if not args.pen_only:
            row["mnist_only"] = score(args, mnist, None, test_x, test_y)
        rows.append(row)
        if not args.json:
            b = row["with_pen_data"]
            before = "" if args.pen_only else f"{row['mnist_only']['pen_accuracy']:.4f} (MNIST only) -> "
            print(f"fold {k} ({len(test_y)} digits of writers {row['held_out_writers']}): held-out pen "
                  f"accuracy {before}{b['pen_accuracy']:.4f}; MNIST test {b['mnist_accuracy']:.4f}",
                  flush=True)
    if args.json:
        print(json.dumps({"epochs": args.epochs, "copies": args.copies, "folds": rows}))


if __name__ == "__main__":
    main()
