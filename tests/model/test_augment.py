import numpy as np
import pytest

from model.augment import AugmentConfig, augment, bilinear_sample

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
