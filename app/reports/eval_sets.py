"""The labelled sets a version is judged on: MNIST's test digits, the held-out drawings people sent
back, and the pen digits when the server knows where they are (DIGITNET_PENDIGITS).

Each set has a ``key`` that changes when its contents do: a version's stored figures are of the set
whose key they carry. MNIST and the pen digits never change; the held-out drawings do (more are
accepted, some relabelled or erased), so their key is a hash of the ids and labels.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from app.feedback.reader import FeedbackReader
from app.pen.digits import load_pen_data
from app.state.store import Store
from model.data.mnist import DataError, load_mnist

# the names of the sets, in the order they are shown
MNIST_TEST, HELD_OUT, PENDIGITS = "mnist_test", "held_out", "pendigits"
SET_NAMES = (MNIST_TEST, HELD_OUT, PENDIGITS)


@dataclass(frozen=True)
class EvalSet:
    """``x`` (n, 784) uint8 pixels or floats in [0, 1], ``y`` (n,) digits; ``ids`` names each
    example where an index would not (the held-out drawings' ids), else None."""

    name: str
    x: np.ndarray
    y: np.ndarray
    key: str
    ids: list[str] | None = None

    def item(self, index: int) -> int | str:
        """How the API names example ``index``: its id, or its index in the set."""
        return self.ids[index] if self.ids is not None else index

    def digit28(self, index: int) -> bytes:
        """Example ``index`` as the network saw it: 784 bytes, 0 background to 255 ink."""
        pixels = self.x[index]
        if pixels.dtype != np.uint8:
            pixels = np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8)
        return pixels.tobytes()


def _key(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:16]


def mnist_test(images: np.ndarray, labels: np.ndarray) -> EvalSet:
    return EvalSet(MNIST_TEST, images, labels, _key(images.tobytes(), labels.tobytes()))


@functools.lru_cache(maxsize=2)
def mnist_test_from(data_dir: str | None) -> EvalSet | None:
    """MNIST's 10,000 test digits from ``data_dir`` (read once a process), or None if not there."""
    try:
        mnist = load_mnist(data_dir)
    except DataError:
        return None
    return mnist_test(mnist.test_images, mnist.test_labels)


@functools.lru_cache(maxsize=2)
def pendigits_from(path: str) -> EvalSet | None:
    """The pen digits drawn once each as the page draws them (seed 0: the same images in every
    process), or None if the file cannot be read. Drawing them takes seconds: once a process."""
    try:
        pen = load_pen_data(path, copies=1, seed=0)
    except ValueError:
        return None
    return EvalSet(PENDIGITS, pen.images, pen.labels, _key(pen.images.tobytes(), pen.labels.tobytes()))


def held_out(store: Store) -> EvalSet:
    """The accepted drawings that are never trained on, ordered by id, as they are now."""
    held = FeedbackReader(store).accepted(strokes=False).held_out_part()
    return EvalSet(HELD_OUT, held.digits, held.labels, _key(json.dumps(held.labelled()).encode()), held.ids)


def gather(store: Store, mnist: EvalSet | None, pendigits: str | None) -> list[EvalSet]:
    """Every set a version is judged on here: MNIST's test digits (when given), the held-out
    drawings, and the pen digits when configured and readable."""
    sets = [mnist] if mnist is not None else []
    sets.append(held_out(store))
    pen = pendigits_from(pendigits) if pendigits else None
    return sets + ([pen] if pen is not None else [])
