"""Strokes grouped into digits by their column ranges."""

import numpy as np

from model.images.stroke_groups import column_ranges, group_strokes, shared


def stroke(*points: tuple[float, float]) -> np.ndarray:
    return np.array(points, dtype=float)


def test_shared_is_the_share_of_the_narrower_range() -> None:
    assert shared(np.array([0, 10]), np.array([5, 100])) == 0.5
    assert shared(np.array([0, 10]), np.array([20, 30])) == 0.0


def test_a_seven_with_its_bar_and_a_four_of_two_strokes_beside_a_one() -> None:
    strokes = [
        stroke((200, 20), (160, 120)),  # the 4's slanted stroke and its bar...
        stroke((10, 20), (60, 20), (20, 120)), stroke((25, 70), (55, 70)),  # a 7 and its bar
        stroke((110, 20), (110, 120)),  # a 1 between them, apart from both
        stroke((150, 20), (140, 90), (215, 90)),  # ...and its other stroke
    ]
    ranges = column_ranges(strokes, pen=10)
    assert ranges[3].tolist() == [105, 115]
    assert group_strokes(ranges) == [[1, 2], [3], [0, 4]]


def test_groups_join_until_no_two_overlap() -> None:
    """The third stroke bridges the first two: all three become one group."""
    ranges = np.array([[0, 10], [12, 22], [4, 18]], dtype=float)
    assert group_strokes(ranges) == [[0, 1, 2]]
    assert group_strokes(np.empty((0, 2))) == []


def test_a_zero_of_two_arcs_is_one_group() -> None:
    """Two arcs overlapping by 42% of the narrower's columns (pen included): one digit (before, with
    half the width asked, two: read as '10' or '60' in the benchmark's mistakes)."""
    left, right = stroke((50, 0), (0, 50), (50, 100)), stroke((35, 0), (100, 50), (35, 100))
    ranges = column_ranges([left, right], pen=10)
    assert 0.4 < shared(ranges[0], ranges[1]) < 0.45
    assert group_strokes(ranges) == [[0, 1]]
