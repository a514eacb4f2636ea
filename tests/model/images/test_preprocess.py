import numpy as np
import pytest

from model.images.preprocess import CENTRE, TARGET_WIDTH, resize_matrix, stroke_width, to_mnist


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    img = img.reshape(28, 28)
    ys, xs = np.mgrid[0:28, 0:28]
    return float((img * ys).sum() / img.sum()), float((img * xs).sum() / img.sum())


def ring(size: int, radius: float, width: float, centre: tuple[float, float]) -> np.ndarray:
    """A "0": the pixels within width/2 of a circle."""
    ys, xs = np.mgrid[0:size, 0:size]
    dist = np.hypot(ys - centre[0], xs - centre[1])
    return (np.abs(dist - radius) <= width / 2).astype(np.float32)


def test_resize_matrix_keeps_total_intensity_when_shrinking() -> None:
    R = resize_matrix(280, 20)
    np.testing.assert_allclose(R.sum(axis=1), 1.0, rtol=1e-6)
    v = np.random.default_rng(0).uniform(size=280)
    assert (R @ v).mean() == pytest.approx(v.mean(), rel=1e-6)
    assert resize_matrix(280, 20) is R and not R.flags.writeable  # built once, shared read-only


def test_resize_matrix_interpolates_when_growing() -> None:
    R = resize_matrix(2, 4)
    np.testing.assert_allclose(R @ np.array([0.0, 1.0]), [0.0, 0.25, 0.75, 1.0])


def test_stroke_width_estimate() -> None:
    bar = np.zeros((100, 100), dtype=np.float32)
    bar[10:90, 40:46] = 1.0  # 6 wide, 80 long: 2 * 480 / 172 = 5.6
    assert stroke_width(bar) == pytest.approx(6.0, rel=0.1)


def test_blank_and_a_lone_dot_are_no_digit() -> None:
    assert to_mnist(np.zeros((280, 280), dtype=np.float32)) is None
    dot = np.zeros((280, 280), dtype=np.float32)
    dot[140:150, 140:150] = 1.0
    assert to_mnist(dot) is None


def test_small_off_centre_digit_is_centred_and_scaled_to_20px() -> None:
    ink = ring(280, 12, 4, (40, 230))  # a small "0" in the top right corner
    out = to_mnist(ink)
    assert out is not None and out.shape == (784,) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    cy, cx = centre_of_mass(out)
    assert abs(cy - CENTRE) < 0.5 and abs(cx - CENTRE) < 0.5
    rows = np.flatnonzero((out.reshape(28, 28) > 0.3).any(axis=1))
    assert 18 <= rows[-1] - rows[0] + 1 <= 22


@pytest.mark.parametrize("pen", [3, 12, 40])
def test_thin_and_thick_pens_give_the_same_stroke_width(pen: int) -> None:
    out = to_mnist(ring(280, 100, pen, (140, 140)))
    assert out is not None
    assert stroke_width(out.reshape(28, 28)) == pytest.approx(TARGET_WIDTH, abs=0.8)
    cy, cx = centre_of_mass(out)
    assert abs(cy - CENTRE) < 0.5 and abs(cx - CENTRE) < 0.5


def test_mnist_digits_pass_through_nearly_unchanged(mnist_dir) -> None:
    from model.data.mnist import load_mnist

    images = load_mnist(mnist_dir).test_images[:200] / 255.0
    diffs = [np.abs(to_mnist(x.reshape(28, 28).astype(np.float32)) - x).mean() for x in images]
    assert np.median(diffs) < 0.05


def test_centre_by_mass_is_the_bilinear_shift() -> None:
    from model.images.augment import bilinear_sample
    from model.images.preprocess import SIDE, centre_by_mass

    rng = np.random.default_rng(4)
    for h, w in ((20, 20), (20, 7), (3, 20), (28, 28)):
        small = rng.uniform(size=(h, w)).astype(np.float32) ** 4
        ys, xs = np.mgrid[0:h, 0:w]
        cy, cx = (small * ys).sum() / small.sum(), (small * xs).sum() / small.sum()
        grid = np.arange(SIDE, dtype=np.float32)
        canvas = np.zeros((1, SIDE, SIDE), dtype=np.float32)
        canvas[0, :h, :w] = small
        src_y = np.broadcast_to((grid - CENTRE + cy)[:, None], (SIDE, SIDE))[None].astype(np.float32)
        src_x = np.broadcast_to((grid - CENTRE + cx)[None, :], (SIDE, SIDE))[None].astype(np.float32)
        expected = bilinear_sample(canvas, src_y, src_x)[0]
        np.testing.assert_allclose(centre_by_mass(small), expected, atol=1e-5)


def test_levels_threshold_as_their_ink_does() -> None:
    from model.images.preprocess import INK_THRESHOLD, LEVEL_THRESHOLD, ink_of

    levels = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(levels >= LEVEL_THRESHOLD, ink_of(levels) >= INK_THRESHOLD)


@pytest.mark.parametrize(("radius", "pen"), [(60, 2), (30, 8), (15, 12)])  # dilated, as is, eroded
def test_8_bit_levels_give_the_bits_of_their_ink(radius: int, pen: int) -> None:
    from model.images.preprocess import ink_of

    padded = np.pad(ring(280, radius, pen, (120, 150)), 1)  # a 3x3 blur: gray edges across the threshold
    blurred = sum(padded[i : i + 280, j : j + 280] for i in range(3) for j in range(3)) / 9
    levels = (blurred * 255).astype(np.uint8)
    from_levels, from_ink = to_mnist(levels), to_mnist(ink_of(levels))
    assert from_levels is not None and from_ink is not None
    assert from_levels.tobytes() == from_ink.tobytes()


def test_shift_matrix_is_two_weighted_diagonals_bit_for_bit() -> None:
    import math

    from model.images.preprocess import SIDE, shift_matrix

    rng = np.random.default_rng(0)
    for n_in in range(1, SIDE + 1):
        for offset in [*rng.uniform(-35, 35, 40), -28.0, -0.0, 0.0, 0.5, 27.0, 28.0]:
            k = math.floor(offset)  # the two diagonals as np.eye makes them, weighted in float32
            expected = np.eye(SIDE, n_in, k, dtype=np.float32) * np.float32(1.0 - (offset - k))
            expected += np.float32(offset - k) * np.eye(SIDE, n_in, k + 1, dtype=np.float32)
            assert shift_matrix(n_in, offset).tobytes() == expected.tobytes(), (n_in, offset)


@pytest.mark.parametrize("shape", [(37, 29), (1, 5), (5, 1), (2, 2)])
def test_neighbours_pick_each_pixel_and_the_two_beside_it(shape: tuple[int, int]) -> None:
    from model.images.preprocess import _neighbours

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (shape[0] + 2, shape[1] + 2)).astype(np.uint8)
    for levels in (image[1:-1, 1:-1], image[1:-1, 1:-1].copy()):  # a view into a larger image, and not
        for pick, outside in ((np.maximum, 0), (np.minimum, 255)):  # outside the edge: ignored
            padded = np.pad(levels, 1, constant_values=outside)
            down = pick(pick(padded[:-2, 1:-1], padded[1:-1, 1:-1]), padded[2:, 1:-1])
            across = pick(pick(padded[1:-1, :-2], padded[1:-1, 1:-1]), padded[1:-1, 2:])
            np.testing.assert_array_equal(_neighbours(levels, pick, 0), down)
            np.testing.assert_array_equal(_neighbours(levels, pick, 1), across)
