"""Drawing strokes the way the page's canvas draws them, as a grayscale image or a PNG.

A stroke is a list of points (x, y) in pixels, y pointing down. ``render_image`` replays strokes
with a pen of ``line_width`` pixels, round caps and joins, anti-aliased by drawing at
``supersample`` times the size and averaging each block of pixels back to one (a box filter). The
drawing is scaled, keeping its aspect ratio, so that the ink's longer side spans ``fill`` of the
canvas, and placed at ``position``: (0.5, 0.5) centres it, 0 or 1 puts it against an edge.

``PAGE`` holds the options that copy static/pad.js exactly: ink #111 on white, an opaque RGBA PNG,
and each stroke drawn as quadratic curves through the midpoints of its points (``curves``).

A whole number is several digits on one wide canvas: ``fit_height`` scales each digit's strokes to a
height at a place, and ``render_canvas`` draws strokes already in canvas pixels on any width.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from PIL import Image, ImageDraw

CURVE_TOLERANCE = 0.25  # canvas pixels a curve may stray from the polyline that approximates it
Point = tuple[float, float]
Stroke = Sequence[Point]
PAGE = {"ink": 0x11, "paper": 0xFF, "curves": True, "rgba": True}  # as static/pad.js draws


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
        _draw_stroke(draw, stroke, k, width, radius, ink, curves)
    if k == 1:
        return big
    return big.reduce(k)  # the mean of each k x k block: exact box-filter anti-aliasing


def _draw_stroke(draw: ImageDraw.ImageDraw, stroke: Stroke, k: int, width: int, radius: float,
                 ink: int, curves: bool) -> None:
    path = midpoint_curves(stroke) if curves else stroke
    points = [(x * k, y * k) for x, y in path]
    if len(points) > 1:
        # No joint="curve": the discs below already round every join (same pixels, half the time).
        draw.line(points, fill=ink, width=width)
    for x, y in points:  # round caps and joins; a lone point becomes a dot
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=ink)


def render(strokes: Sequence[Stroke], size: int = 280, line_width: float = 18.0, fill: float = 0.65,
           position: Point = (0.5, 0.5), supersample: int = 4, *, ink: int = 255, paper: int = 0,
           curves: bool = False, rgba: bool = False) -> bytes:
    """``render_image`` encoded as PNG bytes, as the page posts them (``rgba``: as a canvas does)."""
    image = render_image(strokes, size, line_width, fill, position, supersample, ink=ink, paper=paper,
                         curves=curves)
    buf = io.BytesIO()
    (image.convert("RGBA") if rgba else image).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def fit_height(strokes: Sequence[Stroke], height: float, line_width: float,
               origin: Point = (0.0, 0.0)) -> list[list[Point]]:
    """Scale strokes so that their ink (pen included) is ``height`` pixels high, its top-left at
    ``origin``; the ink's width follows from the aspect ratio: ``ink_width(...)`` tells it."""
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    if not xs:
        raise ValueError("nothing to draw: no points")
    if not line_width < height:
        raise ValueError(f"the pen ({line_width}) must be thinner than the ink's height ({height})")
    x0, y0 = min(xs), min(ys)
    extent = max(ys) - y0
    scale = (height - line_width) / extent if extent else 0.0
    left, top = origin[0] + line_width / 2, origin[1] + line_width / 2
    return [[(left + (x - x0) * scale, top + (y - y0) * scale) for x, y in stroke] for stroke in strokes]


def ink_width(strokes: Sequence[Stroke], line_width: float) -> float:
    """How wide the ink of strokes already in canvas pixels is, pen included."""
    xs = [x for stroke in strokes for x, _ in stroke]
    return max(xs) - min(xs) + line_width


def render_canvas(strokes: Sequence[Stroke], width: int, height: int, line_width: float = 18.0,
                  supersample: int = 4, *, ink: int = 255, paper: int = 0,
                  curves: bool = False) -> Image.Image:
    """Draw strokes already in canvas pixels (``fit_height``) on a ``width`` x ``height`` canvas, as
    ``render_image`` draws: the wide canvas of a whole number holds several digits' strokes."""
    k = supersample
    big = Image.new("L", (width * k, height * k), paper)
    draw = ImageDraw.Draw(big)
    for stroke in strokes:
        _draw_stroke(draw, stroke, k, max(1, round(line_width * k)), line_width * k / 2, ink, curves)
    return big if k == 1 else big.reduce(k)


def png(image: Image.Image, rgba: bool = False) -> bytes:
    """An image as PNG bytes (``rgba``: as a canvas exports it)."""
    buf = io.BytesIO()
    (image.convert("RGBA") if rgba else image).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
