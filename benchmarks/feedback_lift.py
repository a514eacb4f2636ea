"""Does sending misreads back help the people who sent them? A benchmark that plays the page's users.

For each seed, one group of ten pendigits writers (the team's split, as benchmarks/holdout_model.py
makes it: seed k holds out group k mod 3) plays people the model never saw. Each writer's digits are
cut at random into two halves: the ``feedback`` half is drawn on the page, the ``test`` half is what
is scored. A drawing goes the page's way: the writer's strokes are placed on the 280x280 canvas at the
writer's own size and place with the page's 18 px pen (``app.pen.strokes.place``: the page's coordinates),
drawn as static/app.js draws them (``PAGE``), encoded as PNG and put through the server's
preprocessing (``app.reading.images.preprocess``).

The base model is the project's trainer (``model.train.train`` over ``app.runs.training.dataset``) on MNIST
plus the pen digits of the twenty other writers (``load_pen_data(writers=...)``, ``--pen-copies``
drawings each, as the shipped model learned; ``--pen-copies 0``: MNIST alone, as a server run with
feedback trains). The base model's misreads in the feedback half, with their strokes in canvas
coordinates and the true label, are what people would send back (POST /feedback) and the admin would
accept. The model is then trained again, same config and seed, with ``feedback_examples(drawings,
copies)`` added, once for each ``--copies`` weighting. Both are scored on the writers' test half and on
the MNIST test set; the lift is the change on the test half.

    .venv/bin/python benchmarks/feedback_lift.py [--seeds 0,1,2] [--copies 1,5,20,50] [--json]
    .venv/bin/python benchmarks/feedback_lift.py --quick --json        # a tiny run, for the smoke test
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy: tiny products, shared machine
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.feedback.accepted import AcceptedDrawings  # noqa: E402
from app.pen.digits import load_pen_data  # noqa: E402
from app.pen.pendigits import Sample, parse  # noqa: E402
from app.pen.strokes import PAGE, place, png, render_canvas  # noqa: E402
from app.reading.images import preprocess  # noqa: E402
from app.runs.training import dataset, feedback_examples  # noqa: E402
from benchmarks.holdout_model import FOLDS, PEN_FILE  # noqa: E402
from model.config import PRESETS  # noqa: E402
from model.data.mnist import Mnist, load_mnist  # noqa: E402
from model.network import Network  # noqa: E402
from model.train import Finished, train  # noqa: E402

CANVAS, PAGE_PEN = 280, 18.0  # the page's canvas side and pen width (static/app.js)
FILL = (0.4, 0.85)  # how much of the canvas a person's digit spans (pendigits_eval.py --jitter)
# The control: the base model trained again from another seed, with no feedback. Adding even one
# example reshuffles every epoch, so a lift smaller than what this changes is not a lift.
RESEED = 1000


def writer_group(samples: list[Sample], fold: int) -> set[int]:
    """Group ``fold`` of the writers, as ``holdout_model.held_out_writers`` splits them (a test pins
    the two together), from samples already parsed: parsing the file again costs seconds."""
    writers = sorted({s.writer for s in samples})
    return {int(w) for w in np.array_split(np.random.default_rng(1).permutation(writers), FOLDS)[fold]}


def page_input(sample: Sample, rng: np.random.Generator) -> tuple[np.ndarray | None, list[list[list[float]]]]:
    """What the page sends for one digit drawn at a random size and place: the 784 inputs the server
    makes of its PNG (None: blank) and its strokes in the canvas' coordinates."""
    strokes = place(sample.strokes, CANVAS, rng.uniform(*FILL), PAGE_PEN, (rng.uniform(), rng.uniform()))
    look = {k: v for k, v in PAGE.items() if k != "rgba"}
    image = render_canvas(strokes, CANVAS, CANVAS, PAGE_PEN, **look)
    return preprocess(png(image, rgba=True)), [[[x, y] for x, y in stroke] for stroke in strokes]


def users(samples: list[Sample], seed: int) -> dict[str, Any]:
    """Each writer's digits cut at random into a feedback half and a test half, drawn on the page.

    Returns inputs (n, 784) float32 (zeros for a blank), labels, strokes, ``feedback`` (n,) bool and
    ``blank`` (n,) bool.
    """
    rng = np.random.default_rng(seed)
    half = np.zeros(len(samples), bool)
    for writer in sorted({s.writer for s in samples}):
        mine = np.flatnonzero([s.writer == writer for s in samples])
        half[rng.permutation(mine)[: len(mine) // 2]] = True
    drawn = [page_input(s, rng) for s in samples]
    blank = np.array([v is None for v, _ in drawn])
    x = np.stack([np.zeros(784, np.float32) if v is None else v for v, _ in drawn])
    return {"x": x, "y": np.array([s.label for s in samples]), "strokes": [s for _, s in drawn],
            "feedback": half, "blank": blank}


def page_accuracy(network: Network, x: np.ndarray, y: np.ndarray, blank: np.ndarray) -> float:
    """The share read right; a drawing the preprocessing calls blank is wrong, as on the page."""
    predicted = network.predict_proba(x).argmax(axis=1)  # (n, 784) -> (n, 10) -> (n,)
    return float(((predicted == y) & ~blank).mean())


def fit(cfg: Any, mnist: Mnist, extra_x: np.ndarray, extra_y: np.ndarray) -> Finished:
    """The project's trainer over MNIST with the extra digits joined; its final event."""
    data = dataset(mnist, extra_x, extra_y) if len(extra_y) else dataset(mnist)
    for event in train(cfg, data):
        if isinstance(event, Finished):
            return event
    raise RuntimeError(f"training with seed {cfg.seed} did not finish")


def one_seed(args: argparse.Namespace, mnist: Mnist, samples: list[Sample], seed: int
             ) -> list[dict[str, Any]]:
    """Base model, the feedback its misreads make, and a model trained with them per weighting."""
    cfg = dataclasses.replace(PRESETS[args.preset], epochs=args.epochs or PRESETS[args.preset].epochs,
                              seed=seed)
    held = writer_group(samples, seed % FOLDS)
    playing = sorted(held)[: args.writers or None]
    page = users([s for s in samples if s.writer in playing], seed)
    if args.pen_copies:
        pen = load_pen_data(args.pendigits, args.pen_copies, seed, writers={s.writer for s in samples} - held)
        pen_x, pen_y = pen.images, pen.labels
    else:
        pen_x, pen_y = np.empty((0, 784), np.float32), np.empty(0, np.uint8)
    base = fit(cfg, mnist, pen_x, pen_y)
    test = ~page["feedback"]
    before = page_accuracy(base.network, page["x"][test], page["y"][test], page["blank"][test])
    reseeded = fit(dataclasses.replace(cfg, seed=seed + RESEED), mnist, pen_x, pen_y).network
    noise = page_accuracy(reseeded, page["x"][test], page["y"][test], page["blank"][test]) - before
    read = base.network.predict_proba(page["x"]).argmax(axis=1)
    sent = np.flatnonzero(page["feedback"] & ~page["blank"] & (read != page["y"]))  # blanks: a 422
    strokes = [page["strokes"][i] for i in sent]
    drawings = AcceptedDrawings(ids=[str(i) for i in sent], labels=page["y"][sent].astype(np.uint8),
                                digits=np.rint(page["x"][sent] * 255).astype(np.uint8), strokes=strokes,
                                held_out=np.zeros(len(sent), bool))
    rows = []
    for copies in args.copies:
        fb_x, fb_y = feedback_examples(drawings, copies, np.random.default_rng(seed))
        after = fit(cfg, mnist, np.concatenate([pen_x, fb_x]), np.concatenate([pen_y, fb_y]))
        rows.append({
            "seed": seed, "writers": playing, "copies": copies, "feedback_half": int(page["feedback"].sum()),
            "feedback": len(sent), "test": int(test.sum()), "writers_before": before,
            "writers_after": page_accuracy(after.network, page["x"][test], page["y"][test],
                                           page["blank"][test]),
            "mnist_before": base.test_accuracy, "mnist_after": after.test_accuracy, "reseed_change": noise})
        rows[-1]["lift"] = rows[-1]["writers_after"] - before
        if not args.json:
            print_row(rows[-1])
    return rows


def spread(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation (n - 1; 0 for one value), min and max."""
    v = np.array(values)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max())}


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per weighting (and for the reseeded control, ``"0"``): how many seeds, the change on the
    writers' test half and on the MNIST test set, each as ``spread`` over the seeds."""
    first = {r["seed"]: r for r in rows}.values()
    result = {"0": {"seeds": len(first), "lift": spread([r["reseed_change"] for r in first])}}
    for copies in sorted({r["copies"] for r in rows}):
        mine = [r for r in rows if r["copies"] == copies]
        result[str(copies)] = {"seeds": len(mine), "lift": spread([r["lift"] for r in mine]),
                               "mnist_change": spread([r["mnist_after"] - r["mnist_before"] for r in mine])}
    return result


def print_row(r: dict[str, Any]) -> None:
    print(f"{r['seed']:>4} {r['copies']:>6} {r['feedback']:>4}/{r['feedback_half']:<5} {r['test']:>5} "
          f"{r['writers_before']:>8.2%} {r['writers_after']:>8.2%} {100 * r['lift']:>+7.2f} "
          f"{r['mnist_before']:>8.2%} {r['mnist_after']:>8.2%} {100 * r['reseed_change']:>+8.2f}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ints = lambda text: [int(v) for v in text.split(",")]  # noqa: E731
    parser.add_argument("--pendigits", type=Path, default=PEN_FILE)
    parser.add_argument("--data", help="MNIST directory")
    parser.add_argument("--seeds", type=ints, default=[0, 1, 2], help="comma-separated (default 0,1,2)")
    parser.add_argument("--copies", type=ints, default=[1, 5, 20, 50], help="weightings to try")
    parser.add_argument("--preset", default="seed", choices=sorted(PRESETS))
    parser.add_argument("--epochs", type=int, default=0, help="0: the preset's")
    parser.add_argument("--pen-copies", type=int, default=2, help="other writers' drawings each; 0: none")
    parser.add_argument("--writers", type=int, default=0, help="play only this many of the group (0: all)")
    parser.add_argument("--mnist-limit", type=int, default=0, help="train on the first N MNIST digits")
    parser.add_argument("--quick", action="store_true", help="a tiny run: one seed, writer, epoch")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.copies, args.epochs, args.pen_copies = [0], [1, 3], 1, 0
        args.writers, args.mnist_limit = 1, 3000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mnist = load_mnist(args.data or os.environ.get("DIGITNET_DATA") or ROOT.parent / "shared" / "mnist")
    if args.mnist_limit:
        n = args.mnist_limit
        mnist = dataclasses.replace(mnist, train_images=mnist.train_images[:n],
                                    train_labels=mnist.train_labels[:n])
    samples = parse(args.pendigits)
    if not args.json:
        print("seed copies sent/half  test  writers before   after    lift  MNIST before   after  reseeded")
    rows = [row for seed in args.seeds for row in one_seed(args, mnist, samples, seed)]
    settings = {k: getattr(args, k) for k in ("seeds", "copies", "preset", "pen_copies", "writers",
                                              "mnist_limit")}
    settings |= {"epochs": args.epochs or PRESETS[args.preset].epochs, "pendigits": args.pendigits.name}
    result = {"settings": settings, "rows": rows, "summary": summary(rows)}
    if args.json:
        print(json.dumps(result))
        return 0
    print("copies seeds  lift mean   std   (min .. max)  MNIST change mean (min .. max)   (0: reseeded)")
    for copies, s in result["summary"].items():
        lift, mnist = s["lift"], s.get("mnist_change")
        line = (f"{copies:>6} {s['seeds']:>5} {100 * lift['mean']:>+9.2f} {100 * lift['std']:>5.2f}   "
                f"({100 * lift['min']:+.2f} .. {100 * lift['max']:+.2f})")
        if mnist:
            line += f"  {100 * mnist['mean']:+.2f} ({100 * mnist['min']:+.2f} .. {100 * mnist['max']:+.2f})"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
