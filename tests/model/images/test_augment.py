import numpy as np
import pytest

from model.images.augment import PIECE, AugmentConfig, augment, augment_pieces, bilinear_sample
from tests.model.images.augment_reference import augment_whole

OFF = dict(rotation=0.0, scale=0.0, shear=0.0, shift=0.0, elastic_alpha=0.0, thickness=0.0)


def _bar() -> np.ndarray:
    img = np.zeros((1, 28, 28), dtype=np.float32)
    img[0, 6:22, 12:16] = 1.0  # a vertical bar, like a "1"
    return img


def _centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0:28, 0:28]
    return float((img * ys).sum() / img.sum()), float((img * xs).sum() / img.sum())


def test_no_distortion_is_the_identity() -> None:
    out = augment(_bar(), np.random.default_rng(0), AugmentConfig(**OFF))
    np.testing.assert_allclose(out.reshape(1, 28, 28), _bar(), atol=1e-5)


def test_bilinear_sample_reads_between_pixels_and_zero_outside() -> None:
    img = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    ys = np.array([[[0.5, 0.0, -5.0]]], dtype=np.float32)
    xs = np.array([[[0.5, 2.0, 1.0]]], dtype=np.float32)
    out = bilinear_sample(img, ys, xs)
    np.testing.assert_allclose(out[0, 0], [(0 + 1 + 3 + 4) / 4, 2.0, 0.0])


def test_rotation_by_90_degrees_turns_the_bar() -> None:
    rng = np.random.default_rng(0)
    cfg = AugmentConfig(**{**OFF, "rotation": 90.0})
    outs = augment(np.repeat(_bar(), 50, axis=0), rng, cfg).reshape(-1, 28, 28)
    # some rotation angles must widen the bar's horizontal extent well past its 4 columns
    widths = [(o.max(axis=0) > 0.5).sum() for o in outs]
    assert max(widths) > 10 and min(widths) >= 3


def test_shift_moves_the_centre_of_mass_by_at_most_the_range() -> None:
    rng = np.random.default_rng(1)
    outs = augment(np.repeat(_bar(), 100, axis=0), rng, AugmentConfig(**{**OFF, "shift": 3.0}))
    base = np.array(_centre_of_mass(_bar()[0]))
    moves = np.array([_centre_of_mass(o.reshape(28, 28)) for o in outs]) - base
    assert np.abs(moves).max() <= 3.0 + 1e-3 and np.abs(moves).max() > 2.0


def test_thickness_changes_ink_both_ways() -> None:
    rng = np.random.default_rng(2)
    outs = augment(np.repeat(_bar(), 100, axis=0), rng, AugmentConfig(**{**OFF, "thickness": 1.0}))
    ink = outs.sum(axis=1)
    assert ink.max() > _bar().sum() * 1.3 and ink.min() < _bar().sum() * 0.7


def test_full_augmentation_is_deterministic_in_range_and_keeps_shape() -> None:
    imgs = np.repeat(_bar(), 8, axis=0)
    a = augment(imgs, np.random.default_rng(5), AugmentConfig())
    b = augment(imgs, np.random.default_rng(5), AugmentConfig())
    assert a.shape == (8, 784) and a.dtype == np.float32
    assert np.array_equal(a, b) and a.min() >= 0.0 and a.max() <= 1.0
    assert not np.allclose(a[0], a[1])  # each image gets its own distortion


def test_bad_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        AugmentConfig(scale=1.5)
    with pytest.raises(ValueError, match="rotation"):
        AugmentConfig(rotation=-1.0)


def _digits(n: int, seed: int = 99) -> np.ndarray:
    """n random uint8 "digits": noise with a bright blob, so every distortion moves some ink."""
    rng = np.random.default_rng(seed)
    imgs = (rng.random((n, 28, 28)) * 90).astype(np.uint8)
    imgs[:, 8:20, 10:18] = 255
    return imgs.reshape(n, 784)


def _both(imgs: np.ndarray, seed: int, cfg: AugmentConfig, piece: int, bits=np.random.PCG64):
    """Whole-set reference and pieces from the same generator state, and both generators after."""
    rngs = [np.random.Generator(bits(seed)) for _ in range(2)]
    for rng in rngs:
        rng.permutation(11)  # a bounded integer draw leaves 32 spare bits in PCG64, as a shuffle does
    whole = augment_whole(imgs / np.float32(255.0), rngs[0], cfg)
    pieces = augment(imgs, rngs[1], cfg, piece=piece)
    return whole, pieces, rngs[0], rngs[1]


def _assert_same_stream(a: np.random.Generator, b: np.random.Generator) -> None:
    np.testing.assert_equal(a.bit_generator.state, b.bit_generator.state)  # dicts, arrays in some
    assert a.integers(1 << 40) == b.integers(1 << 40) and a.random() == b.random()


@pytest.mark.parametrize("n, piece", [(1, 64), (5, 64), (64, 64), (100, 64), (129, 64), (30, 1), (97, 7)])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_pieces_are_the_whole_set_formula_bit_for_bit(n: int, piece: int, seed: int) -> None:
    whole, pieces, rng_whole, rng_pieces = _both(_digits(n), seed, AugmentConfig(), piece)
    assert pieces.dtype == np.float32 and pieces.shape == (n, 784)
    assert np.array_equal(whole, pieces)
    _assert_same_stream(rng_whole, rng_pieces)


def test_default_pieces_match_the_whole_set_past_one_piece() -> None:
    n = 2 * PIECE + 3
    whole, pieces, rng_whole, rng_pieces = _both(_digits(n), 3, AugmentConfig(), PIECE)
    assert np.array_equal(whole, pieces)
    _assert_same_stream(rng_whole, rng_pieces)


@pytest.mark.parametrize(
    "changes", [{"elastic_alpha": 0.0}, {"thickness": 0.0}, OFF, {"elastic_sigma": 1.0, "rotation": 40.0}]
)
def test_pieces_match_the_whole_set_with_distortions_turned_off_or_changed(changes: dict) -> None:
    whole, pieces, rng_whole, rng_pieces = _both(_digits(50), 4, AugmentConfig(**changes), 16)
    assert np.array_equal(whole, pieces)
    _assert_same_stream(rng_whole, rng_pieces)


@pytest.mark.parametrize("bits", [np.random.PCG64DXSM, np.random.MT19937, np.random.Philox])
def test_pieces_match_the_whole_set_with_other_bit_generators(bits) -> None:
    whole, pieces, rng_whole, rng_pieces = _both(_digits(40), 5, AugmentConfig(), 16, bits)
    assert np.array_equal(whole, pieces)
    _assert_same_stream(rng_whole, rng_pieces)


def test_float_images_give_the_same_pieces_as_their_bytes() -> None:
    imgs = _digits(20)
    a = augment(imgs, np.random.default_rng(6), AugmentConfig(), piece=8)
    b = augment((imgs / np.float32(255.0)).reshape(20, 28, 28), np.random.default_rng(6), AugmentConfig())
    assert np.array_equal(a, b)


def test_augment_pieces_draws_everything_before_the_first_piece_and_yields_before_each() -> None:
    imgs, cfg = _digits(50), AugmentConfig()
    rng_whole, rng_pieces = np.random.default_rng(8), np.random.default_rng(8)
    whole = augment_whole(imgs / np.float32(255.0), rng_whole, cfg)
    out = np.full((50, 784), -1.0, dtype=np.float32)
    pieces = augment_pieces(imgs, rng_pieces, cfg, out, piece=16)
    assert next(pieces) == 0 and (out == -1).all()  # nothing distorted yet, but every draw made
    _assert_same_stream(rng_whole, rng_pieces)
    assert list(pieces) == [16, 32, 48]
    assert np.array_equal(out, whole)  # the draws above, between pieces, do not touch the pieces
