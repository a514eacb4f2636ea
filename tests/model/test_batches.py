import numpy as np
import pytest

from model.batches import BatchSource, as_float, split_validation


def test_as_float_divides_bytes_by_255_and_passes_floats_through() -> None:
    pixels = np.array([[0, 51, 255]], dtype=np.uint8)
    np.testing.assert_allclose(as_float(pixels, np.dtype(np.float32)), [[0.0, 0.2, 1.0]], rtol=1e-7)
    assert as_float(pixels, np.dtype(np.float64)).dtype == np.float64
    floats = np.array([[0.5, 0.25]], dtype=np.float32)
    assert as_float(floats, np.dtype(np.float32)) is floats


def test_split_validation_holds_out_a_random_disjoint_part() -> None:
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    (tx, ty), (vx, vy) = split_validation(x, y, 3, np.random.default_rng(0))
    assert len(vy) == 3 and len(ty) == 7
    assert sorted(np.concatenate([ty, vy]).tolist()) == list(range(10))  # every example once
    np.testing.assert_array_equal(vx[:, 0], 2 * vy)  # images stay with their labels
    np.testing.assert_array_equal(tx[:, 0], 2 * ty)
    assert vy.tolist() != [0, 1, 2]  # picked at random, not the first ones
    order = np.random.default_rng(0).permutation(10)
    np.testing.assert_array_equal(vy, order[:3])  # one permutation of the run's generator


def test_split_validation_of_zero_keeps_everything_and_draws_nothing() -> None:
    x, y = np.arange(8).reshape(4, 2), np.arange(4)
    rng = np.random.default_rng(1)
    (tx, ty), (vx, vy) = split_validation(x, y, 0, rng)
    assert tx is x and ty is y and len(vx) == len(vy) == 0 and vx.shape[1] == 2
    assert rng.integers(1000) == np.random.default_rng(1).integers(1000)


@pytest.mark.parametrize("images_dtype", [np.uint8, np.float32])
def test_batches_cover_an_epoch_in_order_as_floats(images_dtype) -> None:
    rng = np.random.default_rng(2)
    raw = rng.integers(0, 256, size=(10, 3)).astype(np.uint8)
    images = raw if images_dtype == np.uint8 else as_float(raw, np.dtype(np.float32))
    labels = np.arange(10) * 10
    order = rng.permutation(10)
    source = BatchSource(images, 4, np.dtype(np.float32))
    assert source.from_bytes == (images_dtype == np.uint8)
    assert source.count(10) == 3 and source.count(8) == 2
    seen = []
    for x, y in source.epoch(images, labels, order):
        idx = y // 10
        np.testing.assert_array_equal(x, as_float(raw[idx], np.dtype(np.float32)))  # bit for bit
        assert x.dtype == np.float32 and np.shares_memory(x, source.x)
        seen.append(idx.tolist())
    assert seen == [order[:4].tolist(), order[4:8].tolist(), order[8:].tolist()]  # last one short
