"""The pendigits reader and the canvas-like renderer used by benchmarks/pendigits_eval.py."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.pen.pendigits import FormatError, Sample, parse, parse_lines
from app.pen.strokes import PAGE, midpoint_curves, render


@pytest.fixture(scope="module")
def samples(pendigits_file: Path) -> list[Sample]:
    return parse(pendigits_file)


def _ink(png: bytes, size: int) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (size, size)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the pixels with at least half ink."""
    rows, cols = np.flatnonzero((ink >= 0.5).any(axis=1)), np.flatnonzero((ink >= 0.5).any(axis=0))
    return rows[0], cols[0], rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_first_sample_is_an_8_by_writer_12_in_screen_coordinates(samples: list[Sample]) -> None:
    first = samples[0]
    assert (first.label, first.writer, first.index) == (8, 12, 224)
    assert len(first.strokes) == 1 and len(first.strokes[0]) > 10
    assert first.strokes[0][0] == (267, 500 - 333)  # y flipped: the file's y axis points up


def test_whole_file_has_7494_samples_of_all_ten_digits(samples: list[Sample]) -> None:
    assert len(samples) == 7494
    assert {s.label for s in samples} == set(range(10))
    assert all(s.strokes and all(s.strokes) for s in samples)
    assert len({s.writer for s in samples}) == 30


def test_parse_lines_reads_strokes_and_rejects_a_point_outside_one() -> None:
    text = ['.SEGMENT DIGIT 0 ? "7"', ".COMMENT 7 3 9", ".PEN_DOWN", " 1 2", " 3 4", ".PEN_UP", ".DT 100",
            ".PEN_DOWN", " 5 6", ".PEN_UP"]
    (sample,) = parse_lines(text)
    assert sample == Sample(7, 3, 9, [[(1, 498), (3, 496)], [(5, 494)]])
    with pytest.raises(FormatError, match="line 3"):
        parse_lines(text[:2] + [" 1 2"])


def test_render_is_a_png_of_the_requested_size_with_white_ink_on_black() -> None:
    four = [[(120, 100), (80, 260), (220, 260)], [(180, 180), (180, 400)]]
    ink = _ink(render(four, size=140, line_width=9), 140)
    assert ink.max() == 1.0 and ink[0].max() == 0.0 and ink[:, 0].max() == 0.0
    assert 0.03 < ink.mean() < 0.3
    assert ((ink > 0) & (ink < 1)).sum() > 0  # anti-aliased edges


def test_a_single_point_stroke_renders_as_a_round_dot() -> None:
    ink = _ink(render([[(250, 250)]], size=280, line_width=20, fill=0.5), 280)
    top, left, height, width = _ink_box(ink)
    assert (height, width) == (20, 20) and (top, left) == (130, 130)
    assert ink.sum() == pytest.approx(np.pi * 10**2, rel=0.05)  # a disc, not a square


@pytest.mark.parametrize("fill", [0.4, 0.65, 0.85])
def test_the_ink_spans_fill_of_the_canvas_centred_with_aspect_kept(fill: float) -> None:
    tall_l = [[(100, 100), (100, 400), (250, 400)]]  # 150 wide, 300 tall
    ink = _ink(render(tall_l, size=280, line_width=18, fill=fill), 280)
    top, left, height, width = _ink_box(ink)
    assert height == pytest.approx(fill * 280, abs=1.5)
    assert width - 18 == pytest.approx((height - 18) / 2, abs=1.5)
    assert top + height / 2 == pytest.approx(140, abs=1) and left + width / 2 == pytest.approx(140, abs=1)


def test_position_puts_the_ink_against_the_edges() -> None:
    ink = _ink(render([[(0, 0), (100, 100)]], size=280, line_width=10, fill=0.5, position=(1.0, 0.0)), 280)
    top, left, height, width = _ink_box(ink)
    assert top == 0 and left + width == 280


def test_midpoint_curves_run_from_first_to_last_point_through_the_midpoints() -> None:
    stroke = [(0.0, 0.0), (30.0, 0.0), (30.0, 30.0), (60.0, 30.0)]
    path = midpoint_curves(stroke)
    assert path[0] == stroke[0] and path[-1] == stroke[-1] and len(path) > 10
    for mid in [(30.0, 15.0), (45.0, 30.0)]:
        assert min(np.hypot(x - mid[0], y - mid[1]) for x, y in path) < 1e-9
    assert (30.0, 0.0) not in path  # the corner is cut, as the page's quadratic curves do


def test_page_look_is_dark_ink_on_white_in_an_opaque_rgba_png() -> None:
    image = Image.open(io.BytesIO(render([[(100, 100), (100, 400)]], size=100, line_width=8, **PAGE)))
    assert image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255)
    assert image.convert("L").getextrema() == (0x11, 0xFF)


def test_pen_data_draws_each_sample_copies_times_in_mnist_form(pendigits_file) -> None:
    from app.pen.digits import load_pen_data
    from model.images.preprocess import CENTRE

    pen = load_pen_data(pendigits_file, copies=2, seed=0, writers={12})
    n = pen.meta["samples"]
    assert 200 < n < 300 and pen.meta["writers"] == [12] and len(pen.meta["sha256"]) == 64
    assert pen.images.shape == (2 * n, 784) and pen.images.dtype == np.float32
    assert pen.labels.shape == (2 * n,) and set(pen.labels.tolist()) == set(range(10))
    assert 0.0 <= pen.images.min() and pen.images.max() <= 1.0
    ys = np.arange(28)[:, None]
    mass = pen.images.reshape(-1, 28, 28)
    centre_rows = (mass * ys).sum(axis=(1, 2)) / mass.sum(axis=(1, 2))
    assert np.abs(centre_rows - CENTRE).max() < 0.5
    # the two copies of a sample are drawn differently (pen width, size, place)
    assert not np.allclose(pen.images[0], pen.images[n])
    again = load_pen_data(pendigits_file, copies=2, seed=0, writers={12})
    assert np.array_equal(again.images, pen.images)  # same seed, same drawings


def test_pen_data_refuses_a_missing_file_and_zero_copies(tmp_path) -> None:
    from app.pen.digits import load_pen_data

    with pytest.raises(ValueError, match="cannot read pen data"):
        load_pen_data(tmp_path / "none.txt", copies=1, seed=0)
    with pytest.raises(ValueError, match="copies"):
        load_pen_data(tmp_path / "none.txt", copies=0, seed=0)
