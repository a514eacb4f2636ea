"""Reading whole numbers: four real pen digits of one writer on one canvas, read as POST /predict/number does.

Each number is four digits of one pendigits writer, each scaled to a random height (150-230 px on a
280 px high canvas), set left to right with random gaps of 12-60 px between their inks (``--touching``:
-10 to 5 px, so that they touch or cross), on a baseline that slopes (up to 3 degrees) and wanders
(6 px), drawn with the page's pen (18 px, #111 on white, curves through the midpoints). The page sends
its pad at half size (``--scale 0.5``), so the PNG is drawn so too, then read by ``app.reading.numbers``.

By default the writers are held out: fold 0 of benchmarks/pendigits_cv.py's split, read by a model
trained without them (benchmarks/holdout_model.py; made at ``--weights`` if missing, ~8 min).
``--shipped [FILE]`` reads all 30 writers with the shipped model instead (or FILE, e.g.
weights/dense.npz), which learned from every one of them: a check of the plumbing, not of
generalisation.

``--strokes`` sends the strokes with the image, as the page's Number mode does
(app/reading/number_strokes.py).

    .venv/bin/python benchmarks/numbers_eval.py [--numbers 500] [--touching | --gaps LO HI] [--strokes]
                                                [--shipped] [--errors PNG]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy: tiny products, shared machine
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from app.pen.pendigits import Sample, parse  # noqa: E402
from app.pen.strokes import PAGE, fit_height, ink_width, png, render_canvas  # noqa: E402
from app.reading.numbers import NumberReading, read_number  # noqa: E402
from app.reading.predictor import Predictor  # noqa: E402
from benchmarks.holdout_model import PEN_FILE, held_out_writers, train_holdout  # noqa: E402

HEIGHT, PEN, MARGIN = 280, 18.0, 24  # the page's pad: 280 px high, an 18 px pen
DIGIT_HEIGHT, GAPS, TOUCHING = (150.0, 230.0), (12.0, 60.0), (-10.0, 5.0)
SLOPE, WANDER = math.radians(3), 6.0
SURE = 0.9  # a reading this confident: how often is it right?


def make_number(samples: list[Sample], rng: np.random.Generator,
                gaps: tuple[float, float]) -> tuple[list[list[tuple[float, float]]], str, float]:
    """Strokes of four digits set on one canvas 280 px high: (strokes, the digits, canvas width)."""
    placed, truth, width = make_digits(samples, rng, gaps)
    return [stroke for digit in placed for stroke in digit], truth, width


def make_digits(samples: list[Sample], rng: np.random.Generator, gaps: tuple[float, float]
                ) -> tuple[list[list[list[tuple[float, float]]]], str, float]:
    """``make_number``, each digit's strokes apart: (strokes of each digit, the digits, canvas width)."""
    slope, start = math.tan(rng.uniform(-SLOPE, SLOPE)), rng.uniform(HEIGHT - MARGIN - 30, HEIGHT - MARGIN)
    digits: list[list[list[tuple[float, float]]]] = []
    x = float(MARGIN)
    for sample in samples:
        height = rng.uniform(*DIGIT_HEIGHT)
        bottom = start + slope * (x - MARGIN) + rng.normal(0, WANDER)
        top = float(np.clip(bottom - height, 4, HEIGHT - 4 - height))
        placed = fit_height(sample.strokes, height, PEN, (x, top))
        digits.append(placed)
        x += ink_width(placed, PEN) + rng.uniform(*gaps)
    return digits, "".join(str(s.label) for s in samples), x - gaps[0] + MARGIN


def alone(digit: list[list[tuple[float, float]]], scale: float) -> bytes:
    """One digit of a number drawn alone as the digit pad takes it: the same strokes, the same height,
    centred on the 280x280 pad (moved by whole pixels of the image sent, so that its pixels are the
    very ones it had in the number), sent at ``scale`` of its size."""
    xs = [x for stroke in digit for x, _ in stroke]
    ys = [y for stroke in digit for _, y in stroke]
    dx, dy = (round((HEIGHT / 2 - (lo + hi) / 2) * scale) / scale for lo, hi in
              ((min(xs), max(xs)), (min(ys), max(ys))))
    moved = [[(x + dx, y + dy) for x, y in stroke] for stroke in digit]
    return png(draw(moved, HEIGHT, scale).convert("RGBA"))


def draw(strokes: list[list[tuple[float, float]]], width: float, scale: float) -> Image.Image:
    """The canvas as the page sends it: ``scale`` times its size, drawn as static/pad.js draws."""
    small = [[(x * scale, y * scale) for x, y in stroke] for stroke in strokes]
    return render_canvas(small, math.ceil(width * scale), round(HEIGHT * scale), PEN * scale,
                         ink=PAGE["ink"], paper=PAGE["paper"], curves=True)


def common_digits(a: str, b: str) -> int:
    """The longest common subsequence of two digit strings: the digits read right, in order."""
    row = [0] * (len(b) + 1)
    for ch in a:
        prev = 0
        for j, other in enumerate(b, start=1):
            prev, row[j] = row[j], prev + 1 if ch == other else max(row[j], row[j - 1])
    return row[-1]


def run(args: argparse.Namespace) -> tuple[dict[str, object], list[tuple[Image.Image, str, NumberReading]]]:
    weights = Path(args.shipped) if args.shipped else args.weights
    if not args.shipped and not weights.exists():
        train_holdout(weights, args.pendigits, args.fold, epochs=15)
    samples = parse(args.pendigits)
    everyone, held = {s.writer for s in samples}, held_out_writers(args.pendigits, args.fold)
    writers = sorted(everyone if args.shipped else everyone - held if args.tuning else held)
    by_writer = {w: [s for s in samples if s.writer == w] for w in writers}
    predictor, rng = Predictor.from_file(weights), np.random.default_rng(args.seed)
    gaps = tuple(args.gaps) if args.gaps else TOUCHING if args.touching else GAPS
    exact = digits_right = counted = inside = inside_right = alone_right = second = sure = sure_right = 0
    mistakes = []
    start = time.perf_counter()
    for _ in range(args.numbers):
        pool = by_writer[writers[rng.integers(len(writers))]]
        chosen = [pool[i] for i in rng.choice(len(pool), 4, replace=False)]
        placed, truth, width = make_digits(chosen, rng, gaps)
        image = draw([stroke for digit in placed for stroke in digit], width, args.scale)
        sent = [stroke for digit in placed for stroke in digit] if args.strokes else None
        reading = read_number(predictor, png(image.convert("RGBA")), sent)
        exact += reading.number == truth
        counted += len(reading.number) == len(truth)
        digits_right += common_digits(reading.number, truth)
        if len(reading.number) == len(truth):  # each digit against the same digit drawn alone
            singles = predictor.predict_images([alone(digit, args.scale) for digit in placed])
            inside += len(truth)
            inside_right += sum(a == b for a, b in zip(reading.number, truth, strict=True))
            alone_right += sum(str(p.digit) == b for p, b in zip(singles, truth, strict=True))
        second += reading.runner_up == truth
        sure += reading.confidence >= SURE
        sure_right += reading.confidence >= SURE and reading.number == truth
        if reading.number != truth:
            mistakes.append((image, truth, reading))
    n = args.numbers
    result = {"numbers": n, "exact": exact / n, "digit_accuracy": digits_right / (4 * n),
              "right_count": counted / n, "digit_inside": inside_right / max(1, inside),
              "digit_alone": alone_right / max(1, inside), "digits_compared": inside,
              "runner_up_right": second / n, "sure": sure / n, "exact_when_sure": sure_right / max(1, sure),
              "gaps": list(gaps), "strokes": args.strokes, "touching": args.touching, "weights": str(weights),
              "writers": writers, "seed": args.seed, "scale": args.scale,
              "seconds_per_number": (time.perf_counter() - start) / n}
    return result, mistakes


def save_mistakes(path: Path, mistakes: list[tuple[Image.Image, str, NumberReading]], count: int) -> None:
    """The first ``count`` mistakes, two to a row, each digit found boxed with what was read."""
    shown = mistakes[:count]
    cell_w, cell_h = 480, 150
    sheet = Image.new("RGB", (2 * cell_w, max(1, -(-len(shown) // 2)) * cell_h), (255, 255, 255))
    pen = ImageDraw.Draw(sheet)
    for k, (image, truth, reading) in enumerate(shown):
        fit = min(1.0, (cell_w - 10) / image.width, (cell_h - 26) / image.height)
        x, y = (k % 2) * cell_w + 5, (k // 2) * cell_h + 20
        small = image.convert("RGB").resize((round(image.width * fit), round(image.height * fit)))
        sheet.paste(small, (x, y))
        for d in reading.digits:
            x0, y0, x1, y1 = (round(v * fit) for v in d.box)
            pen.rectangle((x + x0, y + y0, x + x1, y + y1), outline=(40, 110, 230), width=1)
            pen.text((x + x0 + 2, y + y0 + 1), str(d.prediction.digit), fill=(40, 110, 230))
        pen.text((x, y - 16), f"written {truth}, read {reading.number or '(nothing)'}", fill=(200, 30, 30))
    sheet.save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pendigits", type=Path, default=PEN_FILE)
    parser.add_argument("--weights", type=Path, default=ROOT / "runs" / "holdout-fold0.npz")
    parser.add_argument("--fold", type=int, default=0, help="the held-out writers' group (0-2)")
    parser.add_argument("--shipped", nargs="?", const=str(ROOT / "weights" / "digitnet.npz"), metavar="FILE",
                        help="a shipped model (default: weights/digitnet.npz), all 30 writers")
    parser.add_argument("--tuning", action="store_true",
                        help="the 20 writers the held-out model learned from (to choose costs on)")
    parser.add_argument("--numbers", type=int, default=500)
    parser.add_argument("--touching", action="store_true", help="gaps of -10 to 5 px")
    parser.add_argument("--strokes", action="store_true", help="send the strokes too, as the page does")
    parser.add_argument("--gaps", type=float, nargs=2, metavar=("LO", "HI"), help="gaps in px (any)")
    parser.add_argument("--scale", type=float, default=0.5, help="the PNG's size / the pad's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--errors", type=Path, metavar="PNG", help="save a picture of mistakes")
    parser.add_argument("--error-count", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result, mistakes = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['numbers']} four-digit numbers (gaps {result['gaps']} px), "
              f"weights {result['weights']}, writers {result['writers']}")
        print(f"exact {result['exact']:.2%}  digits {result['digit_accuracy']:.2%}  "
              f"right count {result['right_count']:.2%}  "
              f"digit in a number {result['digit_inside']:.2%} / alone {result['digit_alone']:.2%} "
              f"(of {result['digits_compared']})  runner-up right {result['runner_up_right']:.2%}  "
              f"confidence >= {SURE}: {result['sure']:.2%}, exact then {result['exact_when_sure']:.2%}  "
              f"({result['seconds_per_number'] * 1000:.0f} ms a number)")
    if args.errors:
        save_mistakes(args.errors, mistakes, args.error_count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
