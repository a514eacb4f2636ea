"""The pictures of docs/numbers.md: how a row of digits is cut up, and twenty mistakes of the benchmark.

    .venv/bin/python scripts/number_figures.py     # writes docs/img/numbers-cases.png, numbers-mistakes.png

Cases: numbers of pendigits writers of the held-out group, drawn as the benchmark draws them (gaps,
then touching), read by the held-out model (benchmarks/holdout_model.py, at runs/holdout-fold0.npz).
Mistakes: the first twenty of benchmarks/numbers_eval.py's default run (500 numbers with gaps, seed 0).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.pen.pendigits import parse  # noqa: E402
from app.pen.strokes import png  # noqa: E402
from app.reading.numbers import read_number  # noqa: E402
from app.reading.predictor import Predictor  # noqa: E402
from benchmarks.holdout_model import PEN_FILE, held_out_writers  # noqa: E402
from benchmarks.numbers_eval import GAPS, TOUCHING, draw, make_number, run, save_mistakes  # noqa: E402

WEIGHTS = ROOT / "runs" / "holdout-fold0.npz"
IMG = ROOT / "docs" / "img"


def cases(out: Path, count: int = 12) -> None:
    """``count`` numbers of held-out writers, half with gaps, half touching; right and wrong alike."""
    samples = parse(PEN_FILE)
    writers = sorted(held_out_writers(PEN_FILE, 0))
    predictor, rng = Predictor.from_file(WEIGHTS), np.random.default_rng(7)
    shown = []
    for k in range(count):
        pool = [s for s in samples if s.writer == writers[k % len(writers)]]
        chosen = [pool[i] for i in rng.choice(len(pool), 4, replace=False)]
        strokes, truth, width = make_number(chosen, rng, GAPS if k < count // 2 else TOUCHING)
        image = draw(strokes, width, 0.5)
        shown.append((image, truth, read_number(predictor, png(image.convert("RGBA")))))
    save_mistakes(out, shown, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    IMG.mkdir(parents=True, exist_ok=True)
    cases(IMG / "numbers-cases.png")
    args = argparse.Namespace(weights=WEIGHTS, shipped=False, pendigits=PEN_FILE, fold=0, numbers=500,
                              touching=False, scale=0.5, seed=0)
    _, mistakes = run(args)
    save_mistakes(IMG / "numbers-mistakes.png", mistakes, 20)
    print(f"wrote {IMG / 'numbers-cases.png'} and {IMG / 'numbers-mistakes.png'}")


if __name__ == "__main__":
    main()
