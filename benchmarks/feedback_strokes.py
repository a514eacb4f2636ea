"""How closely does a drawing's PNG agree with its strokes? The tolerance of ``POST /feedback``.

A run trains on a drawing's strokes; the admin reviews the PNG's 28x28. The server keeps a drawing
only when the two are the same drawing: the strokes drawn where the page drew them
(``app.pen.digits.page_digit``) and the PNG, both preprocessed, must overlap in their ink by
``app.feedback.intake.MIN_INK_OVERLAP`` (intersection over union of the pixels inked >= 0.3).

Each pen digit (UCI pendigits, real tablet strokes) is put on the page's 280x280 canvas at a random
size and place, drawn as static/pad.js draws it (ink #111 on white, curves through the midpoints,
pen 18), exported at 140x140 as static/app.js does, and preprocessed as the server does. The script
prints the overlap of each PNG with its own strokes, with another digit's strokes, and with a 7's
strokes for a 1's picture (the walk-around the check refuses).

    .venv/bin/python benchmarks/feedback_strokes.py [--limit 4000] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.feedback.intake import MIN_INK_OVERLAP, ink_overlap  # noqa: E402
from app.pen.digits import CANVAS, PAGE_PEN, page_digit  # noqa: E402
from app.pen.pendigits import parse  # noqa: E402
from app.pen.strokes import Stroke, place, render_canvas  # noqa: E402
from app.reading.images import preprocess  # noqa: E402

EXPORT_SIZE = 140  # static/app.js sends the canvas at this size


def page_png(strokes: list[list[tuple[float, float]]]) -> bytes:
    """The PNG the page sends for strokes already in its canvas' coordinates."""
    canvas = render_canvas(strokes, CANVAS, CANVAS, PAGE_PEN, supersample=4, ink=0x11, paper=0xFF,
                           curves=True)
    small = canvas.convert("RGBA").resize((EXPORT_SIZE, EXPORT_SIZE), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    small.save(buf, format="PNG")
    return buf.getvalue()


def on_canvas(strokes: list[Stroke], rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """A pen digit as a person puts it on the page: some size, some place."""
    return place(strokes, CANVAS, rng.uniform(0.45, 0.85), PAGE_PEN,
                 (rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)))


def overlaps(pendigits: Path, limit: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Per digit: its PNG's overlap with its own strokes, with the next other-label digit's, and
    (1s only) with the next 7's strokes."""
    samples = parse(pendigits)[:limit]
    rng = np.random.default_rng(seed)
    drawn = [on_canvas(list(s.strokes), rng) for s in samples]
    pictures = [preprocess(page_png(d)) for d in drawn]
    strokes = [page_digit(d) for d in drawn]
    labels = np.array([s.label for s in samples])
    own, other, one_seven = [], [], []
    for k, (picture, label) in enumerate(zip(pictures, labels, strict=True)):
        if picture is None or strokes[k] is None:
            continue
        own.append(ink_overlap(picture, strokes[k]))
        j = next(j for j in range(k + 1, k + len(labels)) if labels[j % len(labels)] != label) % len(labels)
        other.append(ink_overlap(picture, strokes[j]))
        if label == 1:
            seven = next(j for j in range(k + 1, k + len(labels)) if labels[j % len(labels)] == 7)
            one_seven.append(ink_overlap(picture, strokes[seven % len(labels)]))
    return {"own": np.array(own), "other label": np.array(other),
            "1's picture, 7's strokes": np.array(one_seven)}


def summary(values: np.ndarray) -> dict[str, float]:
    return {"n": len(values), "min": round(float(values.min()), 3),
            "p1": round(float(np.percentile(values, 1)), 3),
            "median": round(float(np.median(values)), 3), "p99": round(float(np.percentile(values, 99)), 3),
            "max": round(float(values.max()), 3),
            "refused": int(np.count_nonzero(values < MIN_INK_OVERLAP))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pendigits", default=str(ROOT.parent / "shared/pendigits/pendigits-orig-tra.txt"))
    parser.add_argument("--limit", type=int, default=4000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {name: summary(v) for name, v in overlaps(Path(args.pendigits), args.limit).items()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"ink overlap (intersection over union), refused below {MIN_INK_OVERLAP}")
    for name, figures in result.items():
        print(f"{name:>26}: " + "  ".join(f"{k} {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
