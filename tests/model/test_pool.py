"""2x2 max pooling (model/pool.py) and the reshape between images and rows (model/layers.py)."""

import numpy as np
import pytest

from model.layers import Reshape
from model.pool import MaxPool, max_pool, maxima, route
from tests.model.gradcheck import numerical_gradient, relative_error


def test_max_pool_routes_each_gradient_to_the_maximum_of_its_window() -> None:
    """One 4x4 image, four windows, da = [[10, 20], [30, 40]]:

        1 5 | 2  2      top left: 5 at (0, 1) takes 10
        3 4 | 0  1      top right: 2 and 2 tie, the first corner (0, 2) takes 20
        ----+------     bottom left: 7 and 7 tie (corners (0, 0) and (1, 1)), (2, 0) takes 30
        7 0 | -1 -3     bottom right: all negative, -1 at (2, 2) takes 40
        0 7 | -2 -4

    Every other pixel gets 0: it did not move the output.
    """
    x = np.array([[1, 5, 2, 2], [3, 4, 0, 1], [7, 0, -1, -3], [0, 7, -2, -4]], float).reshape(1, 4, 4, 1)
    pool = MaxPool()
    a = pool.forward(x)
    np.testing.assert_array_equal(a[0, :, :, 0], [[5, 2], [7, -1]])
    dx = pool.backward(np.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 2, 2, 1))
    assert dx is not None
    expected = np.zeros((4, 4))
    expected[0, 1], expected[0, 2], expected[2, 0], expected[2, 2] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx[0, :, :, 0], expected)
    np.testing.assert_array_equal(pool.input_grad(np.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 2, 2, 1),
                                                  x), dx)


def test_a_tie_goes_down_the_left_column_first() -> None:
    """Corners (0, 1) and (1, 0) tie at 9: (1, 0), the left column's, takes the gradient."""
    pool = MaxPool()
    pool.forward(np.array([[0.0, 9.0], [9.0, 0.0]]).reshape(1, 2, 2, 1))
    dx = pool.backward(np.full((1, 1, 1, 1), 5.0))
    assert dx is not None
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 0], [5, 0]])


@pytest.mark.parametrize("values", ["normal", "few"])  # "few": three values, ties everywhere
def test_max_pool_is_the_max_and_argmax_of_each_window_channel_by_channel(values: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 8, 4)) if values == "normal" else rng.integers(0, 3, (3, 6, 8, 4)) * 1.0
    a, picks = max_pool(x)
    # each window's corners in the order of ties, (0, 0), (1, 0), (0, 1), (1, 1): index 2 q + p
    windows = x.reshape(3, 3, 2, 4, 2, 4).transpose(0, 1, 3, 5, 4, 2).reshape(3, 3, 4, 4, 4)
    np.testing.assert_array_equal(a, windows.max(axis=-1))
    np.testing.assert_array_equal(maxima(x), a)  # the maxima alone, as predictions take them
    corner = windows.argmax(axis=-1)  # the first of equals
    np.testing.assert_array_equal(picks.corner(), corner)
    da = rng.normal(size=a.shape)
    plain = np.zeros(windows.shape)
    np.put_along_axis(plain, corner[..., None], da[..., None], axis=-1)
    dx = plain.reshape(3, 3, 4, 4, 2, 2).transpose(0, 1, 5, 2, 4, 3).reshape(x.shape)  # (n, i, p, j, q, c)
    np.testing.assert_array_equal(route(da, picks), dx)


def test_max_pool_gradient_matches_central_differences() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 6, 3))  # no ties: max is differentiable at x
    r = rng.normal(size=(2, 2, 3, 3))
    pool = MaxPool()
    pool.forward(x)
    dx = pool.backward(r)
    numeric = numerical_gradient(lambda x_: float((pool.step(x_)[1] * r).sum()), x.copy())
    assert dx is not None and relative_error(dx, numeric) < 1e-9
    assert np.count_nonzero(dx) == r.size  # one pixel of each window gets its gradient


def test_reshape_keeps_every_number_and_its_gradient_in_place() -> None:
    x = np.arange(2 * 12.0).reshape(2, 12)
    to_image, to_rows = Reshape((12,), (2, 3, 2)), Reshape((2, 3, 2), (12,))
    image = to_image.forward(x)
    assert image.shape == (2, 2, 3, 2) and np.shares_memory(image, x)
    np.testing.assert_array_equal(to_rows.forward(image), x)
    np.testing.assert_array_equal(to_image.backward(image), x)
    assert to_rows.backward(x, need_input_grad=False) is None
