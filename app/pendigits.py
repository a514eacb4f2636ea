"""Real pen trajectories (UCI pendigits, UNIPEN text) and a renderer that draws them like the canvas.

The file lists samples one after another::

    .SEGMENT DIGIT    0 ? "8"      a new sample; its label is the quoted digit
    .COMMENT 8 12  224             label, writer id, sample index
    .PEN_DOWN                      a stroke begins
     267  333                      one point per line: x y, in a 500x500 box with y pointing UP
    .PEN_UP                        the stroke ends

``parse`` returns the samples in screen coordinates (y pointing down: ``y' = 500 - y``).

``render`` replays a sample the way the web page's canvas shows it: by default white ink on black,
strokes of ``line_width`` pixels with round caps and joins, anti-aliased by drawing at
``supersample`` times the size and averaging each block of pixels back to one (a box filter). The
drawing is scaled, keeping its aspect ratio, so that the ink's longer side spans ``fill`` of the
canvas, and placed at ``position``: (0.5, 0.5) centres it, 0 or 1 puts it against an edge.

``PAGE`` holds the options that copy static/app.js exactly: ink #111 on white, an opaque RGBA PNG,
and each stroke drawn as quadratic curves through the midpoints of its points (``curves``).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

BOX_SIDE = 500  # the writing box of the file, in its units
CURVE_TOLERANCE = 0.25  # canvas pixels a curve may stray from the polyline that approximates it
Point = tuple[float, float]
Stroke = Sequence[Point]
PAGE = {"ink": 0x11, "paper": 0xFF, "curves": True, "rgba": True}  # as static/app.js draws


@dataclass(frozen=True)
class Sample:
    """One handwritten digit: its label, who wrote it, and its strokes in screen coordinates."""

    label: int
    writer: int
    index: int
    strokes: list[list[tuple[int, int]]]


class FormatError(ValueError):
    """The text is not the UNIPEN layout described above; the message names the line."""


def parse(path: str | os.PathLike[str]) -> list[Sample]:
    """Read a pendigits ``.tra``/``.tes`` UNIPEN file into samples, in file order."""
    with open(path, encoding="ascii") as f:
        return parse_lines(f)


def parse_lines(lines: Iterable[str]) -> list[Sample]:
    """Parse UNIPEN text given as lines; see the module docstring for the layout."""
    samples: list[Sample] = []
    label: int | None = None
    comment: tuple[int, int] | None = None  # (writer, index)
    strokes: list[list[tuple[int, int]]] = []
    stroke: list[tuple[int, int]] | None = None
    lineno = 0

    def finish(lineno: int) -> None:
        if label is None:
            return
        if comment is None or not strokes:
            raise FormatError(f"line {lineno}: the sample before it has no .COMMENT or no strokes")
        samples.append(Sample(label, comment[0], comment[1], strokes))

    for lineno, line in enumerate(lines, start=1):
        words = line.split()
        if not words:
            continue
        head = words[0]
        if head == ".SEGMENT":
            if stroke is not None:
                raise FormatError(f"line {lineno}: .SEGMENT inside a stroke (missing .PEN_UP)")
            finish(lineno)
            label, comment, strokes = _segment_label(line, lineno), None, []
        elif head == ".COMMENT" and label is not None:
            comment = _comment(words, label, lineno)
        elif head == ".PEN_DOWN":
            stroke = []
        elif head == ".PEN_UP":
            if not stroke:
                raise FormatError(f"line {lineno}: .PEN_UP without a .PEN_DOWN and points before it")
            strokes.append(stroke)
            stroke = None
        elif head.startswith("."):
            continue  # .DT, .INCLUDE, .LEXICON, .HIERARCHY: nothing to draw
        elif stroke is None or len(words) != 2:
            raise FormatError(f"line {lineno}: expected a point 'x y' inside a stroke, got {line!r}")
        else:
            stroke.append((int(words[0]), BOX_SIDE - int(words[1])))
    if stroke is not None:
        raise FormatError(f"line {lineno}: the file ends inside a stroke (missing .PEN_UP)")
    finish(lineno)
    return samples


def _segment_label(line: str, lineno: int) -> int:
    parts = line.split('"')
    if len(parts) != 3 or not parts[1].isdigit():
        raise FormatError(f'line {lineno}: .SEGMENT without a quoted digit label like "8"')
    return int(parts[1])


def _comment(words: list[str], label: int, lineno: int) -> tuple[int, int]:
    if len(words) != 4 or not all(w.isdigit() for w in words[1:]):
        raise FormatError(f"line {lineno}: expected '.COMMENT label writer index'")
    if int(words[1]) != label:
        raise FormatError(f"line {lineno}: .COMMENT label {words[1]} differs from .SEGMENT's {label}")
    return int(words[2]), int(words[3])


def place(
    strokes: Sequence[Stroke], size: int, fill: float, line_width: float, position: Point = (0.5, 0.5)
) -> list[list[Point]]:
    """Map strokes to canvas pixels: ink's longer side = ``fill * size``, aspect kept, at ``position``.

    The ink reaches ``line_width / 2`` beyond the pen's path, so the path itself is scaled to
    ``fill * size - line_width``; the free space left around the ink is split by ``position``.
    """
    if not 0 < fill <= 1:
        raise ValueError(f"fill must be in (0, 1], got {fill}")
    if not 0 < line_width <= fill * size:
        raise ValueError(f"line_width must be in (0, fill * size], got {line_width}")
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    if not xs:
        raise ValueError("nothing to draw: no points")
    x0, y0 = min(xs), min(ys)
    extent = max(max(xs) - x0, max(ys) - y0)
    scale = (fill * size - line_width) / extent if extent else 0.0
    ink_w = (max(xs) - x0) * scale + line_width
    ink_h = (max(ys) - y0) * scale + line_width
    left = position[0] * (size - ink_w) + line_width / 2
    top = position[1] * (size - ink_h) + line_width / 2
    return [[(left + (x - x0) * scale, top + (y - y0) * scale) for x, y in stroke] for stroke in strokes]


def midpoint_curves(stroke: Sequence[Point]) -> list[Point]:
    """The polyline the page draws for a stroke: quadratic Beziers through the midpoints.

    From the first point, each inner point p[i] is the control point of a curve ending at the
    midpoint of p[i] and p[i+1]; a straight line joins the last midpoint to the last point. Each
    curve B(t) = (1-t)^2 a + 2 t (1-t) c + t^2 b is cut into n chords: a chord strays at most
    |a - 2c + b| / (4 n^2) from the curve, so n = sqrt(|a - 2c + b| / (4 CURVE_TOLERANCE)).
    """
    if len(stroke) < 3:
        return list(stroke)
    path = [stroke[0]]
    for c, nxt in zip(stroke[1:-1], stroke[2:], strict=False):
        a, b = path[-1], ((c[0] + nxt[0]) / 2, (c[1] + nxt[1]) / 2)
        bend = math.hypot(a[0] - 2 * c[0] + b[0], a[1] - 2 * c[1] + b[1])
        n = max(1, math.ceil(math.sqrt(bend / (4 * CURVE_TOLERANCE))))
        for t in (i / n for i in range(1, n + 1)):
            u = 1 - t
            path.append((u * u * a[0] + 2 * t * u * c[0] + t * t * b[0],
                         u * u * a[1] + 2 * t * u * c[1] + t * t * b[1]))
    path.append(stroke[-1])
    return path


def render_image(strokes: Sequence[Stroke], size: int = 280, line_width: float = 18.0,
                 fill: float = 0.65, position: Point = (0.5, 0.5), supersample: int = 4, *,
                 ink: int = 255, paper: int = 0, curves: bool = False) -> Image.Image:
    """Draw strokes as the canvas would: a grayscale ``size`` x ``size`` image (ink on paper)."""
    k = supersample
    big = Image.new("L", (size * k, size * k), paper)
    draw = ImageDraw.Draw(big)
    width = max(1, round(line_width * k))
    radius = line_width * k / 2
    for stroke in place(strokes, size, fill, line_width, position):
        path = midpoint_curves(stroke) if curves else stroke
        points = [(x * k, y * k) for x, y in path]
        if len(points) > 1:
            # No joint="curve": the discs below already round every join (same pixels, half the time).
            draw.line(points, fill=ink, width=width)
        for x, y in points:  # round caps and joins; a lone point becomes a dot
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=ink)
    if k == 1:
        return big
    return big.reduce(k)  # the mean of each k x k block: exact box-filter anti-aliasing


def render(strokes: Sequence[Stroke], size: int = 280, line_width: float = 18.0, fill: float = 0.65,
           position: Point = (0.5, 0.5), supersample: int = 4, *, ink: int = 255, paper: int = 0,
           curves: bool = False, rgba: bool = False) -> bytes:
    """``render_image`` encoded as PNG bytes, as the page posts them (``rgba``: as a canvas does)."""
    image = render_image(strokes, size, line_width, fill, position, supersample, ink=ink, paper=paper,
                         curves=curves)
    buf = io.BytesIO()
    (image.convert("RGBA") if rgba else image).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
