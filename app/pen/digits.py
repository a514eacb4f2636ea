"""Pen-drawn digits as extra training data, drawn the way the page's canvas draws them.

MNIST's writers rarely put a flag on a 1, a bar through a 7 or a curl on a 9; people drawing on our
page do. Real pen trajectories (UCI pendigits) replayed on a canvas-like image, then put through the
same preprocessing as ``/predict``, teach the network those styles. Each sample is drawn ``copies``
times with a different pen width, size and place on the canvas, as different people would draw it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.pen.pendigits import parse
from app.pen.strokes import Stroke, render_canvas, render_image
from model.images.preprocess import to_mnist

LINE_WIDTH = (10.0, 28.0)  # pen widths in canvas pixels (the page's pen is 18 on a 280 canvas)
FILL = (0.45, 0.85)  # share of the canvas the drawing spans
CANVAS = 280
PAGE_PEN = 18.0  # the page's pen (static/pad.js), in its 280x280 canvas' coordinates


@dataclass(frozen=True)
class PenData:
    images: np.ndarray  # (n, 784) float32 in [0, 1], MNIST form
    labels: np.ndarray  # (n,) uint8
    meta: dict[str, object]


def draw_strokes(strokes: Sequence[Stroke], rng: np.random.Generator) -> np.ndarray | None:
    """One canvas-like rendering of a drawing's strokes in MNIST form (None if it came out blank): a
    random pen width, size and place, as different people would draw it."""
    image = render_image(
        strokes, CANVAS, rng.uniform(*LINE_WIDTH), rng.uniform(*FILL),
        (rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)), supersample=2,
    )
    return to_mnist(np.asarray(image, dtype=np.float32) / 255.0)


def page_digit(strokes: Sequence[Stroke]) -> np.ndarray | None:
    """The strokes drawn where and as wide as the page drew them (its canvas' coordinates, its pen),
    in MNIST form: what the page's PNG of the same drawing gives after preprocessing, up to
    anti-aliasing and the page's curves (None if nothing is left to read)."""
    image = render_canvas(strokes, CANVAS, CANVAS, PAGE_PEN, supersample=1)
    return to_mnist(np.asarray(image, dtype=np.uint8))


def load_pen_data(path: str | Path, copies: int, seed: int, writers: set[int] | None = None) -> PenData:
    """Parse a pendigits UNIPEN file and draw every sample ``copies`` times (only ``writers``' if given)."""
    if copies < 1:
        raise ValueError(f"pen copies must be >= 1, got {copies}")
    source = Path(path)
    try:
        samples = parse(source)
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError as exc:
        raise ValueError(f"cannot read pen data {source}: {exc.strerror}") from exc
    if writers is not None:
        samples = [s for s in samples if s.writer in writers]
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for _ in range(copies):
        for sample in samples:
            vector = draw_strokes(sample.strokes, rng)
            if vector is not None:
                images.append(vector)
                labels.append(sample.label)
    meta = {"file": source.name, "sha256": digest, "samples": len(samples), "copies": copies,
            "images": len(images), "writers": sorted({s.writer for s in samples})}
    return PenData(np.stack(images).astype(np.float32), np.array(labels, dtype=np.uint8), meta)
