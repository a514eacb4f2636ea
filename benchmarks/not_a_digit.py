"""How well does the energy tell digits from non-digits? Real pen digits against scribbles, blobs, letters.

Real digits: the pendigits writers' digits, drawn as the page draws them (``pendigits_eval``'s
``--jitter --like-page``: size, place and stroke width vary per digit), preprocessed as the server
does. Non-digits, drawn the same way: random scribbles (random walks), filled blobs (ellipses shaded
with strokes), and letters and signs written here as strokes (A B C E F H K M N R W X Y x + # star,
a smiley, a heart), each with a little jitter per point.

The threshold (model/novelty.py) is the ``--refuse`` quantile of the digits' energies. It is judged
on writers it did not see: the writers are split into ``--folds`` groups, and each group's digits
are scored with the threshold taken from the other groups' (the share refused is reported per
fold), and so are MNIST's test digits, which no network here was trained on. The non-digits are
scored with the threshold from every writer. ``--write PATH`` stores that
threshold in a model file's metadata (theta unchanged), where the server reads it.

    .venv/bin/python benchmarks/not_a_digit.py [--weights PATH] [--refuse 0.003] [--write PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.pen.pendigits import Sample, parse  # noqa: E402
from benchmarks import pendigits_eval  # noqa: E402  (the repository root is on sys.path from here)
from model.data.mnist import load_mnist  # noqa: E402
from model.novelty import energy, energy_threshold, logits_and_probabilities  # noqa: E402
from model.serialize import load_model, save_model  # noqa: E402
from tests.scribbles import Strokes, scribble  # noqa: E402

SHAPES: dict[str, Strokes] = {  # in a 100 x 100 box, y down, as a person would draw them
    "A": [[(0, 100), (50, 0), (100, 100)], [(25, 50), (75, 50)]],
    "B": [[(0, 0), (0, 100)], [(0, 0), (60, 0), (80, 20), (60, 50), (0, 50)],
          [(0, 50), (70, 50), (90, 75), (70, 100), (0, 100)]],
    "C": [[(90, 10), (50, 0), (10, 20), (0, 50), (10, 80), (50, 100), (90, 90)]],
    "E": [[(90, 0), (0, 0), (0, 100), (90, 100)], [(0, 50), (70, 50)]],
    "F": [[(90, 0), (0, 0), (0, 100)], [(0, 50), (70, 50)]],
    "H": [[(0, 0), (0, 100)], [(90, 0), (90, 100)], [(0, 50), (90, 50)]],
    "K": [[(0, 0), (0, 100)], [(90, 0), (0, 55), (90, 100)]],
    "M": [[(0, 100), (0, 0), (50, 60), (100, 0), (100, 100)]],
    "N": [[(0, 100), (0, 0), (90, 100), (90, 0)]],
    "R": [[(0, 100), (0, 0), (60, 0), (85, 25), (60, 50), (0, 50), (85, 100)]],
    "W": [[(0, 0), (25, 100), (50, 40), (75, 100), (100, 0)]],
    "X": [[(0, 0), (100, 100)], [(100, 0), (0, 100)]],
    "Y": [[(0, 0), (50, 50), (100, 0)], [(50, 50), (50, 100)]],
    "x": [[(0, 0), (60, 60)], [(60, 0), (0, 60)]],
    "+": [[(50, 0), (50, 100)], [(0, 50), (100, 50)]],
    "#": [[(30, 0), (20, 100)], [(70, 0), (60, 100)], [(0, 30), (100, 30)], [(0, 70), (100, 70)]],
    "star": [[(50, 0), (80, 100), (0, 35), (100, 35), (20, 100), (50, 0)]],
    "smiley": [[(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)], [(30, 30), (31, 31)], [(70, 30), (71, 31)],
               [(25, 70), (50, 85), (75, 70)]],
    "heart": [[(50, 30), (30, 0), (0, 20), (10, 60), (50, 100), (90, 60), (100, 20), (70, 0), (50, 30)]],
}


def blob(rng: np.random.Generator) -> Strokes:
    rx, ry = rng.uniform(40, 120, 2)
    rows = np.linspace(-1, 1, max(3, int(ry / 6)))
    return [[(250 - rx * math.sqrt(1 - t * t), 250 + t * ry), (250 + rx * math.sqrt(1 - t * t), 250 + t * ry)]
            for t in rows]


def shape(name: str) -> Callable[[np.random.Generator], Strokes]:
    def draw(rng: np.random.Generator) -> Strokes:
        return [[(2 * x + rng.normal(0, 6), 2 * y + rng.normal(0, 6)) for x, y in stroke]
                for stroke in SHAPES[name]]
    return draw


def inputs_of(strokes: list[Strokes], label: int, rng: np.random.Generator,
              args: argparse.Namespace) -> np.ndarray:
    """Each drawing as the page would post it, preprocessed: (N, 784), blank ones left out."""
    samples = [Sample(label, 0, i, [[(round(x), round(y)) for x, y in s] for s in d])
               for i, d in enumerate(strokes)]
    draw_args = pendigits_eval.parse_args(["--jitter", "--like-page", "--seed", str(rng.integers(1 << 30))])
    inputs, _, _ = pendigits_eval.prepare((samples, pendigits_eval.styles_for(len(samples), draw_args),
                                           draw_args))
    return inputs[~np.isnan(inputs[:, 0])]


def non_digits(args: argparse.Namespace) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(args.seed)
    letters = [shape(name)(rng) for name in SHAPES for _ in range(args.per_shape)]
    return {"scribbles": inputs_of([scribble(rng) for _ in range(args.count)], -1, rng, args),
            "blobs": inputs_of([blob(rng) for _ in range(args.count // 2)], -1, rng, args),
            "letters and signs": inputs_of(letters, -1, rng, args)}


def digits_by_writer(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """Every pen digit drawn as the page draws it: inputs (N, 784) and each one's writer (N,)."""
    samples = parse(args.pendigits)[: args.limit]
    draw_args = pendigits_eval.parse_args(["--jitter", "--like-page", "--seed", str(args.seed)])
    inputs, _, _ = pendigits_eval.prepare((samples, pendigits_eval.styles_for(len(samples), draw_args),
                                           draw_args))
    kept = ~np.isnan(inputs[:, 0])
    return inputs[kept], np.array([s.writer for s in samples])[kept]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    network = load_model(args.weights).network
    score = lambda x: energy(logits_and_probabilities(network, x)[0])  # noqa: E731
    x, writers = digits_by_writer(args)
    energies = score(x)
    groups = np.array_split(np.unique(writers), args.folds)
    folds = []
    for held_out in groups:
        seen = ~np.isin(writers, held_out)
        threshold = energy_threshold(energies[seen], args.refuse)
        folds.append(float(np.mean(energies[~seen] < threshold)))
    threshold = energy_threshold(energies, args.refuse)
    caught = {kind: float(np.mean(score(inputs) < threshold)) for kind, inputs in non_digits(args).items()}
    mnist = load_mnist(args.mnist)  # digits no network here was trained on
    mnist_x = mnist.test_images.reshape(len(mnist.test_images), -1).astype(np.float32) / 255
    return {"weights": str(args.weights), "refuse": args.refuse, "threshold": threshold,
            "digits": len(x), "writers": len(np.unique(writers)),
            "digits_refused_per_fold": folds,
            "mnist_test_refused": float(np.mean(score(mnist_x) < threshold)), "non_digits_caught": caught}


def write(path: Path, result: dict[str, Any]) -> None:
    """The threshold into the model file's metadata; theta and the rest of it as they were."""
    saved = load_model(path)
    meta = {k: v for k, v in saved.meta.items() if k not in ("format", "architecture")}
    meta["not_a_digit"] = {"energy_below": result["threshold"], "refused_share": result["refuse"],
                           "calibrated_on": f"{result['digits']} pen digits of {result['writers']} writers, "
                                            "drawn as the page draws them"}
    save_model(path, saved.network, meta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "digitnet.npz")
    parser.add_argument("--pendigits", type=Path,
                        default=ROOT.parent / "shared" / "pendigits" / "pendigits-orig-tra.txt")
    parser.add_argument("--mnist", help="MNIST directory (default: $DIGITNET_DATA, else the user cache)")
    parser.add_argument("--refuse", type=float, default=0.003, help="share of the digits below the threshold")
    parser.add_argument("--folds", type=int, default=5, help="groups of writers held out in turn")
    parser.add_argument("--count", type=int, default=200, help="scribbles (and half as many blobs)")
    parser.add_argument("--per-shape", type=int, default=12, help="drawings of each letter or sign")
    parser.add_argument("--limit", type=int, help="the first N pen digits only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=Path, metavar="PATH", help="store the threshold in this model file")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args)
    if args.write:
        write(args.write, result)
    if args.json:
        print(json.dumps(result))
        return
    folds = ", ".join(f"{share:.2%}" for share in result["digits_refused_per_fold"])
    print(f"threshold {result['threshold']:.3f} "
          f"(the {args.refuse:.1%} quantile of {result['digits']} digits)")
    print(f"digits refused, each group of writers against the others' threshold: {folds}")
    print(f"MNIST test digits refused: {result['mnist_test_refused']:.2%}")
    for kind, share in result["non_digits_caught"].items():
        print(f"{kind}: {share:.0%} caught")


if __name__ == "__main__":
    main()
