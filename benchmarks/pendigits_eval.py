"""How well does the whole path read real pen drawings? canvas -> PNG -> preprocessing -> network.

Every pendigits sample (7,494 digits by 30 writers, recorded on a tablet) is drawn the way the web
page's canvas draws it (``benchmarks.pendigits.render``), encoded as PNG, turned into a 28x28 input
by ``app.reading.images.preprocess`` exactly as the server does, and classified by a saved network. A
drawing that preprocessing calls blank ("no digit") counts as wrong.

By default every digit is drawn alike: its longer side spans ``--fill`` of a 280x280 canvas, centred,
with ``--line-width`` pixel strokes, white on black. ``--jitter`` varies that per digit as people do
(fill 0.4-0.85, anywhere on the canvas, strokes 10-28 px), from a fixed ``--seed``. ``--like-page``
draws as static/app.js does: ink #111 on white, quadratic curves through the points' midpoints, an
RGBA PNG. ``--save-grid`` writes a picture of some digits, the canvas next to what the network sees,
wrong answers framed in red. ``--workers 2`` renders and preprocesses in two processes.

    .venv/bin/python benchmarks/pendigits_eval.py [--jitter] [--limit N] [--json] [--save-grid PNG]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# One BLAS thread, set before NumPy loads BLAS: preprocessing multiplies tiny matrices, and on a busy
# machine idle BLAS threads spinning for them made it ~7x slower (measured 12 ms vs 1.6 ms a digit).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.pen.pendigits import Sample, parse  # noqa: E402
from app.pen.strokes import PAGE, render, render_image  # noqa: E402
from app.reading.images import preprocess  # noqa: E402  (the repository root is on sys.path from here)
from model.serialize import load_model  # noqa: E402

NO_DIGIT = -1
CELL = 84  # grid: each image is shown at 84x84 (the 28x28 input at 3x)
Job = tuple[list[Sample], list["Style"], argparse.Namespace]


@dataclass(frozen=True)
class Style:
    """How one digit is drawn on the canvas."""

    fill: float
    line_width: float
    position: tuple[float, float] = (0.5, 0.5)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_file = ROOT.parent / "shared" / "pendigits" / "pendigits-orig-tra.txt"
    parser.add_argument("--pendigits", type=Path, default=default_file, help="UNIPEN file (%(default)s)")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "digitnet.npz")
    parser.add_argument("--size", type=int, default=280, help="canvas side in pixels")
    parser.add_argument("--fill", type=float, default=0.65, help="ink's longer side / canvas side")
    parser.add_argument("--line-width", type=float, default=18.0, help="stroke width in canvas pixels")
    parser.add_argument("--jitter", action="store_true", help="vary fill, place and width per digit")
    parser.add_argument("--seed", type=int, default=0, help="for --jitter and the grid's choice")
    parser.add_argument("--like-page", action="store_true", help="draw exactly as static/app.js does")
    parser.add_argument("--supersample", type=int, default=4, help="anti-aliasing factor")
    parser.add_argument("--workers", type=int, default=1, help="processes that render and preprocess")
    parser.add_argument("--limit", type=int, help="use the first N samples only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save-grid", type=Path, metavar="PNG", help="save a picture of some digits")
    parser.add_argument("--grid-count", type=int, default=40, help="digits in the grid")
    parser.add_argument("--grid-errors", action="store_true", help="show wrong answers only")
    return parser.parse_args(argv)


def styles_for(n: int, args: argparse.Namespace) -> list[Style]:
    """The same style for all digits, or with --jitter one random style each (seeded)."""
    if not args.jitter:
        return [Style(args.fill, args.line_width)] * n
    rng = np.random.default_rng(args.seed)
    fills = rng.uniform(0.4, 0.85, n)
    widths = rng.uniform(10.0, 28.0, n) * args.size / 280  # the ranges are for a 280 px canvas
    places = rng.uniform(0.0, 1.0, (n, 2))
    return [Style(float(f), float(w), (float(u), float(v)))
            for f, w, (u, v) in zip(fills, widths, places, strict=True)]


def pen(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of ``render`` for the chosen look (the brief's default, or the page's)."""
    return dict(PAGE) if args.like_page else {}


def draw(sample: Sample, style: Style, args: argparse.Namespace) -> bytes:
    """The PNG the page would post for ``sample`` drawn in ``style``."""
    return render(sample.strokes, args.size, style.line_width, style.fill, style.position,
                  args.supersample, **pen(args))


def prepare(job: Job) -> tuple[np.ndarray, float, float]:
    """Render and preprocess: inputs (N, 784) with NaN rows for "no digit", render and preprocess seconds."""
    samples, styles, args = job
    inputs = np.full((len(samples), 784), np.nan, dtype=np.float32)
    render_s = preprocess_s = 0.0
    for i, (sample, style) in enumerate(zip(samples, styles, strict=True)):
        t0 = time.perf_counter()
        png = draw(sample, style, args)
        t1 = time.perf_counter()
        vector = preprocess(png)
        preprocess_s += time.perf_counter() - t1
        render_s += t1 - t0
        if vector is not None:
            inputs[i] = vector
    return inputs, render_s, preprocess_s


def run(samples: list[Sample], styles: list[Style], weights: Path,
        args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Render, preprocess (in ``args.workers`` processes) and classify every sample.

    Returns inputs (N, 784) float32 with zero rows for "no digit"; predicted (N,) ints, NO_DIGIT for
    "no digit"; seconds per stage, summed over the workers.
    """
    network = load_model(weights).network
    bounds = np.linspace(0, len(samples), max(1, args.workers) + 1).astype(int)
    jobs: list[Job] = [(samples[a:b], styles[a:b], args) for a, b in zip(bounds, bounds[1:], strict=False)]
    if len(jobs) == 1:
        parts = [prepare(jobs[0])]
    else:
        with ProcessPoolExecutor(len(jobs)) as pool:
            parts = list(pool.map(prepare, jobs))
    inputs = np.concatenate([part[0] for part in parts])
    blank = np.isnan(inputs[:, 0])
    inputs[blank] = 0.0
    t0 = time.perf_counter()
    probs = network.predict_proba(inputs)  # (N, 784) -> (N, 10), one batch
    predicted = np.where(blank, NO_DIGIT, probs.argmax(axis=1))
    seconds = {"render": sum(part[1] for part in parts), "preprocess": sum(part[2] for part in parts),
               "network": time.perf_counter() - t0}
    return inputs, predicted, seconds


def summarize(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Accuracy overall and per digit, the 10x10 confusion (rows: true digit) and "no digit" counts."""
    answered = predicted != NO_DIGIT
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (labels[answered], predicted[answered]), 1)
    correct = labels == predicted
    return {
        "accuracy": float(correct.mean()),
        "n": int(len(labels)),
        "per_digit": {str(d): float(correct[labels == d].mean()) for d in range(10) if (labels == d).any()},
        "confusion": confusion.tolist(),
        "no_digit": int((~answered).sum()),
        "no_digit_per_digit": [int((~answered & (labels == d)).sum()) for d in range(10)],
    }


def report(result: dict[str, Any]) -> None:
    print(f"accuracy {result['accuracy']:.4f} on {result['n']} pen-drawn digits "
          f"({result['no_digit']} read as 'no digit')")
    print("settings " + ", ".join(f"{k}={v}" for k, v in result["settings"].items()))
    print("per digit  " + "  ".join(f"{d}: {acc:.3f}" for d, acc in result["per_digit"].items()))
    print("confusion (rows: true digit, columns: predicted; last column: no digit)")
    print("      " + "".join(f"{d:>6}" for d in range(10)) + "  none")
    for d, (row, none) in enumerate(zip(result["confusion"], result["no_digit_per_digit"], strict=True)):
        print(f"{d:>6}" + "".join(f"{c:>6}" for c in row) + f"{none:>6}")
    s, n = result["seconds"], result["n"]
    print(f"time {s['total']:.1f} s ({n / s['total']:,.0f} digits/s): parse {s['parse']:.2f} s, "
          f"render {s['render']:.1f} s, preprocess {s['preprocess']:.1f} s (summed over "
          f"{result['settings']['workers']} workers), network {s['network']:.3f} s")


def save_grid(path: Path, samples: list[Sample], styles: list[Style], inputs: np.ndarray,
              predicted: np.ndarray, args: argparse.Namespace) -> int:
    """Save canvas (downscaled) beside network input (upscaled) for some digits; returns how many."""
    wrong = predicted != np.array([s.label for s in samples])
    pool = np.flatnonzero(wrong) if args.grid_errors else np.arange(len(samples))
    rng = np.random.default_rng(args.seed + 1)
    chosen = np.sort(rng.choice(pool, size=min(args.grid_count, len(pool)), replace=False))
    columns, cell_w, cell_h = 8, 2 * CELL + 12, CELL + 22
    grid = Image.new("RGB", (columns * cell_w, max(1, -(-len(chosen) // columns)) * cell_h), (40, 40, 40))
    marker = ImageDraw.Draw(grid)
    look = {k: v for k, v in pen(args).items() if k != "rgba"}
    for k, i in enumerate(chosen):
        sample, style = samples[i], styles[i]
        canvas = render_image(sample.strokes, args.size, style.line_width, style.fill, style.position,
                              args.supersample, **look).resize((CELL, CELL), Image.Resampling.BOX)
        seen = Image.fromarray((inputs[i].reshape(28, 28) * 255).astype(np.uint8))
        x, y = (k % columns) * cell_w + 4, (k // columns) * cell_h + 4
        grid.paste(canvas.convert("RGB"), (x, y))
        grid.paste(seen.resize((CELL, CELL), Image.Resampling.NEAREST).convert("RGB"), (x + CELL + 4, y))
        frame = (230, 30, 30) if wrong[i] else (90, 90, 90)
        marker.rectangle((x - 2, y - 2, x + 2 * CELL + 5, y + CELL + 1), outline=frame, width=2)
        answer = "none" if predicted[i] == NO_DIGIT else str(predicted[i])
        marker.text((x, y + CELL + 4), f"#{i} true {sample.label} -> {answer}  w{sample.writer}",
                    fill=(255, 120, 120) if wrong[i] else (200, 200, 200))
    grid.save(path)
    return len(chosen)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    samples = parse(args.pendigits)[: args.limit]
    parse_s = time.perf_counter() - start
    styles = styles_for(len(samples), args)
    inputs, predicted, seconds = run(samples, styles, args.weights, args)
    result = summarize(np.array([s.label for s in samples]), predicted)
    names = ("size", "supersample", "like_page", "jitter", "limit", "workers")
    settings = {k: getattr(args, k) for k in names}
    settings |= {"seed": args.seed} if args.jitter else {"fill": args.fill, "line_width": args.line_width}
    result["settings"] = {**settings, "pendigits": str(args.pendigits), "weights": str(args.weights)}
    result["seconds"] = {"parse": parse_s, **seconds, "total": time.perf_counter() - start}
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    if args.save_grid:
        shown = save_grid(args.save_grid, samples, styles, inputs, predicted, args)
        print(f"saved a grid of {shown} digits to {args.save_grid}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
