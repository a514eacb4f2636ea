"""Digits into the network: floats in [0, 1], a held-out validation split, shuffled mini-batches.

MNIST stores each pixel as a byte, 0 (background) to 255 (full ink); the network reads
``x = byte / 255``. An epoch visits the training set once in a fresh random order, ``order``, in
``ceil(n / B)`` mini-batches of B examples (the last may be smaller): batch b is the rows
``order[b B : (b + 1) B]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

Array = np.ndarray


def as_float(images: Array, dtype: np.dtype) -> Array:
    """uint8 pixels 0..255 -> floats 0..1 (floats are passed through in the wanted dtype)."""
    if images.dtype == np.uint8:
        return (images / np.float32(255.0)).astype(dtype)
    return np.asarray(images, dtype=dtype)


def split_validation(
    x: Array, y: Array, n_validation: int, rng: np.random.Generator
) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    """Hold out ``n_validation`` examples picked at random, to measure accuracy on unseen digits.

    Returns ``(train_x, train_y), (val_x, val_y)``. With ``n_validation = 0`` nothing is held out
    (the validation arrays are empty) and ``rng`` draws nothing; otherwise one permutation.
    """
    if not n_validation:
        return (x, y), (x[:0], y[:0])
    order = rng.permutation(len(y))
    held_out, kept = order[:n_validation], order[n_validation:]
    return (x[kept], y[kept]), (x[held_out], y[held_out])


class BatchSource:
    """Mini-batches gathered by index into one float buffer that every batch reuses.

    Digits kept as uint8 (a quarter of float32's memory, and no float copy of the whole set) are
    gathered as bytes, then divided by 255 into the float buffer: the same numbers as
    ``as_float``, one batch at a time. A batch's x is a view of the buffer, valid until
    the next batch is gathered (the network uses it in between).

    Parameters
    ----------
    images : (n, d) the training images the batches will come from (uint8 or floats), for the
        buffers' width and whether they need the byte buffer.
    batch_size : B, the rows of a full batch.
    dtype : the network's float dtype.
    """

    def __init__(self, images: Array, batch_size: int, dtype: np.dtype) -> None:
        self.batch_size = batch_size
        self.x = np.empty((batch_size, images.shape[1]), dtype=dtype)
        self.from_bytes = images.dtype == np.uint8

    def count(self, n: int) -> int:
        """ceil(n / B): the batches of an epoch over n examples."""
        return -(-n // self.batch_size)

    def gather(self, images: Array, idx: Array) -> Array:
        """The rows ``images[idx]`` as floats in [0, 1], shape (len(idx), d), in the buffer."""
        x = self.x[: len(idx)]
        rows = images[idx]  # (len(idx), d), as stored: bytes are divided by 255 into the buffer
        if self.from_bytes:
            np.divide(rows, x.dtype.type(255), out=x)
        else:
            np.copyto(x, rows)
        return x

    def epoch(self, images: Array, y: Array, order: Array) -> Iterator[tuple[Array, Array]]:
        """The batches ``(x, y)`` of one epoch that visits the examples in ``order``.

        The labels are put in that order once, so a batch's y is a slice of them (a view).
        """
        y_in_order = y[order]
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.gather(images, idx), y_in_order[start : start + self.batch_size]
