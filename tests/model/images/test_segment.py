"""The segmentation's rules on drawings made of straight strokes, with a network stub that is always
90% sure: joins and splits the network would decide go its way only where the rules say so (and a
stub that finds digit-shaped inputs more digit-like where the network chooses the cuts)."""

import numpy as np
import pytest

from model.images.budget import Budget, OverBudgetError
from model.images.segment import MAX_HEIGHT, SURE, segment, shrink

H, W, PEN = 140, 400, 9.0


def sure_stub(x: np.ndarray) -> np.ndarray:
    """Logits whose softmax is 90% for a 0 (log-probabilities: every piece looks alike, energy 0)."""
    probs = np.full((len(x), 10), (1 - SURE) / 9)
    probs[:, 0] = SURE
    return np.log(probs)


def draw(*strokes: list[tuple[float, float]], width: float = W, pen: float = PEN) -> np.ndarray:
    """Ink (H, width): each stroke a polyline of (x, y) points with a round pen."""
    ys, xs = np.mgrid[0:H, 0:width].astype(np.float32)
    distance = np.full((H, int(width)), np.inf, dtype=np.float32)
    for points in strokes:
        for (x0, y0), (x1, y1) in zip(points, points[1:] or points, strict=False):
            dx, dy = x1 - x0, y1 - y0
            t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
            distance = np.minimum(distance, np.hypot(xs - x0 - t * dx, ys - y0 - t * dy))
    return np.clip(pen / 2 + 0.5 - distance, 0, 1)


def ring(cx: float, cy: float = 70, rx: float = 28, ry: float = 45,
         gap: float = 0) -> list[tuple[float, float]]:
    angles = np.linspace(gap, 2 * np.pi - gap, 40)
    return [(cx + rx * np.sin(a), cy - ry * np.cos(a)) for a in angles]


def boxes(ink: np.ndarray) -> list[tuple[int, int, int, int]]:
    return [d.box for d in segment(ink, sure_stub)]


def test_separate_digits_left_to_right_with_boxes_around_their_ink() -> None:
    ink = draw(ring(260), [(60, 25), (60, 115)], ring(150))
    found = boxes(ink)
    assert len(found) == 3
    assert [b[0] for b in found] == sorted(b[0] for b in found)
    assert found[0] == (56, 21, 65, 120)  # the bar: its ink to the half-inked edge, pen included
    for x0, y0, x1, y1 in found:
        assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H


def test_a_seven_with_a_bar_is_one_digit() -> None:
    seven = [(100, 25), (160, 25), (115, 115)]
    bar = [(118, 70), (150, 70)]  # crosses nothing: its own component
    ink = draw(seven, bar)
    assert len(boxes(ink)) == 1


def test_a_four_of_two_strokes_is_one_digit() -> None:
    ink = draw([(100, 25), (90, 85), (160, 85)], [(140, 40), (140, 120)])
    assert len(boxes(ink)) == 1


def test_a_broken_stroke_and_a_dot_join_their_digit() -> None:
    ink = draw(ring(150, gap=0.25), [(150, 10)])  # an open top, the pen's dot just above it
    ink += draw([(183, 70), (183, 72)])  # nearly touching the right side
    found = boxes(np.clip(ink, 0, 1))
    assert len(found) == 1


def digit_shaped(x: np.ndarray) -> np.ndarray:
    """90% sure of a 0, with the energy of a digit (12) for an input whose ink is 0.45 to 1 times as
    wide as high, of a pair or a slice (4) otherwise (to_mnist keeps the ink's shape)."""
    images = x.reshape(-1, 28, 28) > 0.3
    ratio = images.any(axis=1).sum(axis=1) / np.maximum(1, images.any(axis=2).sum(axis=1))
    return sure_stub(x) + np.where((ratio >= 0.45) & (ratio <= 1.0), 12.0, 4.0)[:, None]


def test_touching_digits_are_cut_apart() -> None:
    ink = draw(ring(120), ring(180))  # two rings that touch: one wide component
    assert len(boxes(ink)) == 1  # as likely to be one digit as two, whatever their shape: fewer wins
    found = [d.box for d in segment(ink, digit_shaped)]
    assert len(found) == 2
    assert found[0][2] <= found[1][2] and found[0][0] < found[1][0]


def test_a_thin_one_stays_thin() -> None:
    ink = draw([(200, 20), (196, 120)], ring(300))
    one = segment(ink, sure_stub)[0].vector.reshape(28, 28)
    columns = np.flatnonzero(one.max(axis=0) > 0.3)
    assert columns[-1] - columns[0] + 1 <= 7  # a bar 20 high and a few wide, not a blob


def test_blank_and_specks_are_no_digits() -> None:
    assert boxes(np.zeros((H, W), dtype=np.float32)) == []
    speck = np.zeros((H, W), dtype=np.float32)
    speck[50:52, 50:52] = 1.0
    assert boxes(speck) == []


def test_ink_higher_than_max_height_is_read_shrunk_with_boxes_in_its_own_pixels() -> None:
    ink = draw(ring(260), [(60, 25), (60, 115)], ring(150))
    factor = 4  # 560 high: read at half size
    assert H * factor > MAX_HEIGHT
    large = np.kron(ink, np.ones((factor, factor), dtype=ink.dtype))
    small, big = boxes(ink), boxes(large)
    assert len(big) == len(small) == 3
    for s, b in zip(small, big, strict=True):  # the same boxes, to the shrunk image's pixel
        assert all(abs(factor * u - v) <= 2 * factor for u, v in zip(s, b, strict=True))
        assert 0 <= b[0] < b[2] <= large.shape[1] and 0 <= b[1] < b[3] <= large.shape[0]


def test_shrinking_keeps_a_one_pixel_line() -> None:
    ink = np.zeros((600, 90), dtype=np.float32)
    ink[:, 41] = 1.0  # a hairline: averaging 3x3 blocks would leave a third of its ink
    small = shrink(ink, 3)
    assert small.shape == (200, 30) and (small.max(axis=1) == 1.0).all()


def less_sure_of_more_ink(x: np.ndarray) -> np.ndarray:
    """A network stub that never joins strokes: a piece with more ink is read less surely."""
    probs = np.zeros((len(x), 10))
    probs[:, 0] = 1 / (1 + x.sum(axis=1) / 50)
    probs[:, 1] = 1 - probs[:, 0]
    return np.log(np.maximum(probs, 1e-12))  # as logits


def many_tall_strokes(count: int = 25) -> np.ndarray:
    """Tall slanted strokes, each its own piece, every pair lying over one another."""
    return draw(*[[(10 + 10 * k, 10), (110 + 10 * k, 130)] for k in range(count)], width=400, pen=2)


def test_the_reading_stops_at_its_budget() -> None:
    unbounded = Budget(max_steps=10**6, max_pixels=10**12)
    segment(many_tall_strokes(), less_sure_of_more_ink, unbounded)
    assert unbounded.steps > 40  # the pairs that overlap are asked about, 3 inputs a pair
    budget = Budget(max_steps=20, max_pixels=10**9)
    with pytest.raises(OverBudgetError, match="more than 20 network inputs"):
        segment(many_tall_strokes(), less_sure_of_more_ink, budget)
    assert budget.steps == 20
    budget = Budget(max_steps=10**6, max_pixels=50_000)
    with pytest.raises(OverBudgetError, match="50,000 pixels"):
        segment(many_tall_strokes(), less_sure_of_more_ink, budget)
    assert 0 < budget.pixels <= 50_000


def test_the_reading_stops_when_its_check_says_so() -> None:
    class LateError(Exception):
        pass

    checks = []

    def deadline() -> None:
        checks.append(1)
        if len(checks) > 3:
            raise LateError

    with pytest.raises(LateError):
        segment(many_tall_strokes(), less_sure_of_more_ink, Budget(10**6, 10**9, check=deadline))
    assert len(checks) == 4  # before each network input: none made after it said stop
