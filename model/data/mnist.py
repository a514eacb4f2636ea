"""Reading MNIST from its four original IDX files, checked against the official SHA-256 sums.

IDX is a tiny binary format: a big-endian int32 magic number (2051 for images, 2049 for labels),
int32 counts (images also rows and columns), then the uint8 data. Each file may be gzip-compressed
(the published ``.gz`` files) or raw.

Where the data is looked for, first match wins: an explicit directory, the ``DIGITNET_DATA``
environment variable, then a per-user cache directory (``$XDG_CACHE_HOME/digitnet/mnist``, by
default ``~/.cache/digitnet/mnist``) or, when that does not exist, ``../shared/mnist`` beside the
checkout (where development copies live).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# name -> (sha256 of the published .gz file, number of items)
FILES: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 60000),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 60000),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 10000),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 10000),
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


class DataError(Exception):
    """MNIST is missing, corrupt or not in IDX form; the message says which file and what to do."""


@dataclass(frozen=True)
class Mnist:
    """The MNIST split: images as (N, 784) uint8 rows, labels as (N,) uint8 digits."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    checksums: dict[str, str]


def default_data_dir() -> Path:
    """The per-user cache directory that ``digitnet data download`` fills."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "digitnet" / "mnist"


def development_data_dir() -> Path:
    """``../shared/mnist`` seen from the checkout (a folder beside it, not in it), where development
    machines and CI keep the originals."""
    return Path(__file__).resolve().parents[3] / "shared" / "mnist"  # model/data/mnist.py -> beside


def find_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The directory to read MNIST from: ``explicit``, else $DIGITNET_DATA, else the user cache.

    When the user cache does not exist but a development copy beside the checkout does, that copy is
    used, so that a fresh clone works with no setting at all.
    """
    if explicit:
        return Path(explicit)
    env = os.environ.get("DIGITNET_DATA")
    if env:
        return Path(env)
    cache = default_data_dir()
    if not cache.is_dir() and development_data_dir().is_dir():
        return development_data_dir()
    return cache


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _locate(directory: Path, name: str) -> Path:
    """The .gz file, or the raw file of the same name without .gz."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    raise DataError(
        f"MNIST file {name} not found in {directory}. Run 'digitnet data download' "
        f"or point --data / DIGITNET_DATA at a directory holding the four MNIST files."
    )


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzip or raw) into an array: (N, rows * cols) images or (N,) labels."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} cannot be read or decompressed ({exc}); it looks corrupt") from exc
    if len(raw) < 8:
        raise DataError(f"{path} is too short to be an IDX file ({len(raw)} bytes)")
    magic, count = struct.unpack(">ii", raw[:8])
    shape: tuple[int, ...]
    if magic == IMAGES_MAGIC:
        if len(raw) < 16:
            raise DataError(f"{path} is too short for an IDX image header")
        rows, cols = struct.unpack(">ii", raw[8:16])
        shape, header = (count, rows * cols), 16
    elif magic == LABELS_MAGIC:
        shape, header = (count,), 8
    else:
        raise DataError(f"{path} is not an MNIST IDX file (magic number {magic})")
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(
            f"{path} holds {len(raw) - header} data bytes but its header promises {expected}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist(directory: str | os.PathLike[str] | None = None, verify: bool = True) -> Mnist:
    """Load the four MNIST files from ``find_data_dir(directory)``.

    With ``verify`` each published .gz file must match its official SHA-256 sum; raw (already
    uncompressed) files are checked for their IDX header and sizes only.
    """
    root = find_data_dir(directory)
    if not root.is_dir():
        raise DataError(
            f"MNIST directory {root} does not exist. Run 'digitnet data download' "
            f"or pass --data DIR (or set DIGITNET_DATA)."
        )
    arrays: dict[str, np.ndarray] = {}
    checksums: dict[str, str] = {}
    for name, (digest, count) in FILES.items():
        path = _locate(root, name)
        if verify and path.suffix == ".gz":
            actual = sha256_file(path)
            if actual != digest:
                raise DataError(
                    f"{path} is corrupt: its SHA-256 is {actual}, the official one is {digest}. "
                    f"Delete it and run 'digitnet data download' again."
                )
            checksums[name] = actual
        data = read_idx(path)
        # An images file must not pass for a labels file, nor the reverse (raw files have no sum).
        shape = (count, 784) if "images" in name else (count,)
        if data.shape != shape:
            raise DataError(f"{path} has shape {data.shape}; MNIST's is {shape}")
        arrays[name] = data
    labels = (arrays["train-labels-idx1-ubyte.gz"], arrays["t10k-labels-idx1-ubyte.gz"])
    if max(int(y.max()) for y in labels) > 9:
        raise DataError(f"labels in {root} are outside 0-9")
    return Mnist(
        train_images=arrays["train-images-idx3-ubyte.gz"],
        train_labels=arrays["train-labels-idx1-ubyte.gz"],
        test_images=arrays["t10k-images-idx3-ubyte.gz"],
        test_labels=arrays["t10k-labels-idx1-ubyte.gz"],
        checksums=checksums,
    )
