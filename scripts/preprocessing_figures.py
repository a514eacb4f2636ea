"""Draw docs/img/preprocessing.png: each preprocessing step, for a thin, a thick and a small drawing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from model.images.preprocess import BOX, INK_THRESHOLD, centre_by_mass, normalise_stroke, resize_matrix

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "preprocessing.png"
CELL = 140
TWO = [(70, 90), (110, 55), (170, 60), (185, 110), (90, 220), (215, 215)]


def canvas(points, width: float, scale: float = 1.0, offset=(0, 0)) -> np.ndarray:
    img = Image.new("L", (280, 280), 255)
    pts = [(x * scale + offset[0], y * scale + offset[1]) for x, y in points]
    ImageDraw.Draw(img).line(pts, fill=0, width=round(width), joint="curve")
    return 1.0 - np.asarray(img, dtype=np.float32) / 255.0


def steps(ink: np.ndarray) -> list[np.ndarray]:
    mask = ink >= INK_THRESHOLD
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    extent = max(crop.shape)
    even = normalise_stroke(crop, BOX / extent)
    h, w = even.shape
    s = BOX / max(h, w)
    small = resize_matrix(h, max(1, round(h * s))) @ even @ resize_matrix(w, max(1, round(w * s))).T
    return [ink, crop, even, small, centre_by_mass(small.astype(np.float32))]


def tile(a: np.ndarray, invert: bool) -> Image.Image:
    a = 1.0 - a if invert else a
    img = Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8))
    tiny = max(a.shape) <= 28
    img.thumbnail((CELL - 8, CELL - 8), Image.Resampling.NEAREST if tiny else Image.Resampling.BOX)
    if tiny:
        k = (CELL - 8) // max(a.shape)
        img = img.resize((a.shape[1] * k, a.shape[0] * k), Image.Resampling.NEAREST)
    cell = Image.new("L", (CELL, CELL), 200)
    cell.paste(img, ((CELL - img.width) // 2, (CELL - img.height) // 2))
    return cell


def main() -> None:
    drawings = [canvas(TWO, 6), canvas(TWO, 40), canvas(TWO, 14, 0.35, (150, 20))]
    titles = ["1. the canvas", "2. crop to ink", "3. even stroke", "4. fit 20x20", "5. centre in 28x28"]
    sheet = Image.new("L", (CELL * 5, 24 + CELL * len(drawings)), 255)
    draw = ImageDraw.Draw(sheet)
    for j, t in enumerate(titles):
        draw.text((j * CELL + 8, 6), t, fill=0)
    for i, ink in enumerate(drawings):
        for j, stage in enumerate(steps(ink)):
            sheet.paste(tile(stage, invert=j < 3), (j * CELL, 24 + i * CELL))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
