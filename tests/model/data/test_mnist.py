"""The MNIST loader: real files, damaged and missing ones, raw IDX, where data is looked for."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from model.data.mnist import (
    FILES,
    DataError,
    Mnist,
    development_data_dir,
    find_data_dir,
    load_mnist,
    read_idx,
)

TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def real(mnist_dir: Path) -> Mnist:
    return load_mnist(mnist_dir)


def _copy_real(mnist_dir: Path, dest: Path, skip: tuple[str, ...] = ()) -> Path:
    """Writable copies of the real .gz files (all but ``skip``) in ``dest``."""
    dest.mkdir(exist_ok=True)
    for name in FILES:
        if name not in skip:
            shutil.copyfile(mnist_dir / name, dest / name)
    return dest


def _labels_idx(labels: list[int]) -> bytes:
    """A raw IDX labels file."""
    return struct.pack(">ii", 2049, len(labels)) + bytes(labels)


def test_real_mnist_has_the_published_shapes_and_counts(real: Mnist) -> None:
    assert real.train_images.shape == (60000, 784)
    assert real.test_images.shape == (10000, 784)
    assert real.train_labels.shape == (60000,)
    assert real.test_labels.shape == (10000,)
    for array in (real.train_images, real.test_images, real.train_labels, real.test_labels):
        assert array.dtype == np.uint8
    assert np.bincount(real.train_labels)[0] == 5923
    assert np.bincount(real.test_labels)[1] == 1135
    assert np.bincount(real.train_labels).tolist() == TRAIN_LABEL_COUNTS
    assert np.bincount(real.test_labels).tolist() == TEST_LABEL_COUNTS
    assert real.checksums == {name: digest for name, (digest, _) in FILES.items()}


def test_a_flipped_byte_is_reported_as_corrupt(tmp_path: Path, mnist_dir: Path) -> None:
    root = _copy_real(mnist_dir, tmp_path)
    damaged = root / "t10k-labels-idx1-ubyte.gz"
    body = bytearray(damaged.read_bytes())
    body[len(body) // 2] ^= 0x01
    damaged.write_bytes(bytes(body))

    with pytest.raises(DataError, match="SHA-256") as info:
        load_mnist(root)

    assert "corrupt" in str(info.value) and damaged.name in str(info.value)


def test_a_missing_file_is_named(tmp_path: Path, mnist_dir: Path) -> None:
    missing = "t10k-labels-idx1-ubyte.gz"
    root = _copy_real(mnist_dir, tmp_path, skip=(missing,))

    with pytest.raises(DataError, match=f"{missing} not found in {root}"):
        load_mnist(root)


def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_a_truncated_gzip_is_a_data_error(tmp_path: Path) -> None:
    body = gzip.compress(_labels_idx([3, 1, 4, 1, 5, 9, 2, 6] * 100), mtime=0)
    path = tmp_path / "labels.gz"
    path.write_bytes(body[: len(body) // 2])

    with pytest.raises(DataError, match="corrupt"):
        read_idx(path)


def test_a_truncated_real_file_is_a_data_error_without_verify(
    tmp_path: Path, mnist_dir: Path
) -> None:
    root = _copy_real(mnist_dir, tmp_path)
    damaged = root / "train-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:10000])

    with pytest.raises(DataError, match=damaged.name):
        load_mnist(root, verify=False)


def test_raw_idx_files_load_like_the_gzip_ones(tmp_path: Path, mnist_dir: Path, real) -> None:
    for name in FILES:
        raw = gzip.decompress((mnist_dir / name).read_bytes())
        (tmp_path / name.removesuffix(".gz")).write_bytes(raw)

    loaded = load_mnist(tmp_path)

    assert np.array_equal(loaded.train_images, real.train_images)
    assert np.array_equal(loaded.test_labels, real.test_labels)
    assert loaded.checksums == {}


def test_read_idx_reads_a_small_raw_image_file(tmp_path: Path) -> None:
    pixels = np.arange(3 * 2 * 4, dtype=np.uint8)
    path = tmp_path / "images"
    path.write_bytes(struct.pack(">iiii", 2051, 3, 2, 4) + pixels.tobytes())

    assert np.array_equal(read_idx(path), pixels.reshape(3, 8))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (struct.pack(">ii", 1234, 0), "magic number 1234"),
        (_labels_idx([1, 2, 3])[:-1], "holds 2 data bytes but its header promises 3"),
        (b"\x00\x00", "too short"),
    ],
)
def test_read_idx_rejects_what_is_not_idx(tmp_path: Path, body: bytes, message: str) -> None:
    path = tmp_path / "file"
    path.write_bytes(body)

    with pytest.raises(DataError, match=message):
        read_idx(path)


def test_labels_under_an_images_name_are_rejected(tmp_path: Path, mnist_dir: Path) -> None:
    root = _copy_real(mnist_dir, tmp_path, skip=("t10k-images-idx3-ubyte.gz",))
    labels = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (root / "t10k-images-idx3-ubyte").write_bytes(labels)

    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        load_mnist(root)


def test_find_data_dir_prefers_explicit_then_env_then_cache(tmp_path: Path, monkeypatch) -> None:
    explicit, env, cache = tmp_path / "explicit", tmp_path / "env", tmp_path / "cache"
    monkeypatch.setenv("DIGITNET_DATA", str(env))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))

    assert find_data_dir(explicit) == explicit
    assert find_data_dir(str(explicit)) == explicit
    assert find_data_dir() == env
    monkeypatch.delenv("DIGITNET_DATA")
    (cache / "digitnet" / "mnist").mkdir(parents=True)
    assert find_data_dir() == cache / "digitnet" / "mnist"


def test_find_data_dir_uses_the_development_copy_when_there_is_no_cache(tmp_path, monkeypatch) -> None:
    import model.data.mnist as mnist_module

    monkeypatch.delenv("DIGITNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    dev = tmp_path / "dev"
    monkeypatch.setattr(mnist_module, "development_data_dir", lambda: dev)
    assert find_data_dir() == tmp_path / "cache" / "digitnet" / "mnist"  # no dev copy either
    dev.mkdir()
    assert find_data_dir() == dev


def test_the_development_copy_is_the_folder_beside_the_checkout() -> None:
    """``../shared/mnist`` from the checkout, as the README and scripts/test say (it was once looked
    for inside the checkout, where there is none, so `scripts/run` found no MNIST for /admin)."""
    checkout = Path(__file__).resolve().parents[3]
    assert (checkout / "model" / "data" / "mnist.py").is_file()
    assert development_data_dir() == checkout.parent / "shared" / "mnist"


def test_find_data_dir_falls_back_to_the_home_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DIGITNET_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".cache" / "digitnet" / "mnist").mkdir(parents=True)

    assert find_data_dir() == tmp_path / ".cache" / "digitnet" / "mnist"
