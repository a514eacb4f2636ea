"""What reading a number costs: the budget used by the page's numbers, and by images made to cost.

Each reading gets model/images/segment.py's default budget (MAX_READS network inputs over MAX_READ_PIXELS
pixels of crops); the table gives the inputs made, their pixels and the seconds of one core, for
numbers_eval's numbers (four pen digits, as the page sends them and at twice that size) and for
images of thin parallel slanted lines, every pair of which may lie over one another (the audit's
request: 64 lines on 2048x2048), and the most strokes a request may send with an image (grouped and
drawn again before the reading: app/reading/number_strokes.py). docs/numbers.md, Limits, holds a run.

    .venv/bin/python benchmarks/numbers_budget.py [--numbers 100]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as `digitnet serve` sets it
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from app.pen.pendigits import parse  # noqa: E402
from app.reading.images import to_ink  # noqa: E402
from app.reading.number_strokes import stroke_pieces  # noqa: E402
from app.reading.predictor import Predictor  # noqa: E402
from app.web.schemas.feedback import MAX_POINTS, MAX_STROKES  # noqa: E402
from benchmarks.holdout_model import PEN_FILE  # noqa: E402
from benchmarks.numbers_eval import GAPS, TOUCHING, draw, make_number  # noqa: E402
from model.images.budget import Budget, OverBudgetError  # noqa: E402
from model.images.segment import MAX_READ_PIXELS, MAX_READS, segment  # noqa: E402
from model.novelty import logits  # noqa: E402

LINES = [(2048, 2048, 64, 24, 600), (2048, 2048, 64, 16, 1000), (2048, 280, 64, 16, 1000),
         (2048, 280, 64, 30, 200), (1024, 280, 64, 8, 500)]  # width, height, lines, spacing, slant


def lines(width: int, height: int, count: int, spacing: int, slant: int) -> Image.Image:
    image = Image.new("L", (width, height), 255)
    pen = ImageDraw.Draw(image)
    for k in range(count):
        pen.line([(spacing * k, 0), (spacing * k + slant, height - 1)], fill=0, width=1)
    return image


def line_strokes(width: int, height: int, count: int, spacing: int, slant: int) -> list[list[list[float]]]:
    """The strokes of ``lines``' lines, MAX_POINTS / MAX_STROKES points each (canvas = image)."""
    per = MAX_POINTS // MAX_STROKES
    return [[[spacing * k + slant * t, (height - 1) * t] for t in np.linspace(0, 1, per)]
            for k in range(min(count, MAX_STROKES))]


def zigzags(width: int, height: int) -> list[list[list[float]]]:
    """MAX_STROKES strokes of MAX_POINTS / MAX_STROKES points, each zigzagging across the whole image."""
    per = MAX_POINTS // MAX_STROKES
    return [[[width * t, height * (i % 2)] for i, t in enumerate(np.linspace(0, 1, per))]
            for _ in range(MAX_STROKES)]


def blot(width: int, height: int) -> Image.Image:
    """An image inked all over but for a margin: the widest pen the strokes can be drawn with."""
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).rectangle((8, 8, width - 9, height - 9), fill=0)
    return image


def cost(predictor: Predictor, image: Image.Image,
         strokes: list[list[list[float]]] | None = None) -> tuple[int, int, float, str]:
    """(inputs made, their pixels, seconds, how it ended) for one reading with the default budget;
    ``strokes`` (in the image's pixels) are grouped and drawn again first, as the route does."""
    budget = Budget(MAX_READS, MAX_READ_PIXELS)
    start = time.perf_counter()
    try:
        ink = to_ink(image)
        owned = stroke_pieces(strokes, image.height, ink) if strokes else None
        read = functools.partial(logits, predictor.network)
        ended = f"read, {len(segment(ink, read, budget, owned))} digits"
    except OverBudgetError:
        ended = "refused (422)"
    return budget.steps, budget.pixels, time.perf_counter() - start, ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100)
    args = parser.parse_args()
    predictor = Predictor.from_file(ROOT / "weights" / "digitnet.npz")
    samples = parse(PEN_FILE)
    writers = sorted({s.writer for s in samples})
    print("| image | inputs (most) | pixels (most) | seconds (most) | ended |")
    print("| --- | --- | --- | --- | --- |")
    for scale, gaps, name in [(0.5, GAPS, "as the page sends it"), (0.5, TOUCHING, "touching, as sent"),
                              (1.0, GAPS, "at the pad's full size")]:
        rng, costs = np.random.default_rng(0), []
        for _ in range(args.numbers):
            pool = [s for s in samples if s.writer == writers[rng.integers(len(writers))]]
            strokes, _, width = make_number([pool[i] for i in rng.choice(len(pool), 4, replace=False)],
                                            rng, gaps)
            costs.append(cost(predictor, draw(strokes, width, scale)))
        most = [max(c[k] for c in costs) for k in range(3)]
        print(f"| {args.numbers} numbers of 4 pen digits, {name} | {most[0]} | {most[1]:,} | {most[2]:.2f} | "
              "read |")
    for shape in LINES:
        steps, pixels, seconds, ended = cost(predictor, lines(*shape))
        w, h, n, spacing, slant = shape
        print(f"| {n} lines {w}x{h}, {spacing} px apart, slanting {slant} px | {steps} | {pixels:,} | "
              f"{seconds:.2f} | {ended} |")
    per = MAX_POINTS // MAX_STROKES
    for name, image, strokes in [
        (f"{LINES[3][2]} lines 2048x280 with their strokes, {per} points each", lines(*LINES[3]),
         line_strokes(*LINES[3])),
        (f"2048x280 inked but for its edge, {MAX_STROKES} strokes of {per} points across it", blot(2048, 280),
         zigzags(2048, 280))]:
        steps, pixels, seconds, ended = cost(predictor, image, strokes)
        print(f"| {name} | {steps} | {pixels:,} | {seconds:.2f} | {ended} |")


if __name__ == "__main__":
    main()
