"""A loaded model and the way to ask it: images or MNIST-form pixels in, ``Prediction``s out.

The routes and ``digitnet predict`` call only this: it preprocesses (``app.reading.images``), runs the
network once on the whole batch and writes each answer, with the 28x28 input the network saw as a
small PNG data URL.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from app.reading.images import InputError, preprocess
from app.reading.work import check_deadline
from model.novelty import logits_and_probabilities, looks_like_a_digit
from model.serialize import SavedModel, load_model

N_PIXELS = 784


@dataclass(frozen=True)
class Prediction:
    """What the network read: the digit (None for a blank drawing), ten probabilities, and its input
    as a PNG data URL (28x28, 8-bit gray, light ink on black); whether the drawing looks like a digit
    at all (model.novelty; None for a blank drawing or a model without a threshold)."""

    digit: int | None
    probabilities: list[float]
    model_version: str
    input: str
    looks_like_a_digit: bool | None = None


class Predictor:
    """A loaded model and the way to ask it. Immutable: swapping models means a new Predictor."""

    def __init__(self, saved: SavedModel, version: str) -> None:
        self.network = saved.network
        self.version = version
        # the energy below which a drawing is "not a digit", calibrated on real digits with this very
        # network (benchmarks/not_a_digit.py); a model file without one judges nothing
        calibration = saved.meta.get("not_a_digit") or {}
        self.energy_below: float | None = calibration.get("energy_below")

    @classmethod
    def from_file(cls, path: str | Path, version: str = "default") -> Predictor:
        return cls(load_model(path), version)

    def predict_images(self, images: Sequence[bytes | Image.Image]) -> list[Prediction]:
        """Decode and preprocess each image (bytes, or ``open_images``' results), then run the network
        once on the whole batch; a batch past its deadline stops between images (app/reading/work.py)."""
        vectors = []
        for data in images:
            check_deadline()
            vectors.append(preprocess(data))
        return self.predict_vectors(vectors)

    def predict_pixels(self, rows: list[list[float]]) -> list[Prediction]:
        """Vectors already in MNIST form: 784 numbers in [0, 1] each (0 = background)."""
        return self.predict_vectors(pixel_vectors(rows))

    def predict_vectors(self, vectors: list[np.ndarray | None]) -> list[Prediction]:
        """Inputs already in MNIST form, (784,) float32 each, or None for a blank one: one batch."""
        inked = [v for v in vectors if v is not None]
        if not inked:
            return self.answers(vectors, np.empty((0, 10)), np.empty((0, 10)))
        z, probs = logits_and_probabilities(self.network, np.stack(inked))
        return self.answers(vectors, probs, z)

    def answers(self, vectors: list[np.ndarray | None], probs: np.ndarray, z: np.ndarray
                ) -> list[Prediction]:
        """The answers to ``vectors`` (None: blank) from the network's outputs for the inked ones:
        probabilities (N, K) and logits z (N, K)."""
        judged: list[bool | None] = [None] * len(probs) if self.energy_below is None \
            else looks_like_a_digit(z, self.energy_below).tolist()
        probs = probs.astype(np.float64)
        probs /= probs.sum(axis=1, keepdims=True)  # exactly 1 in float64, whatever the network's dtype
        digits, rounded = probs.argmax(axis=1).tolist(), probs.round(6).tolist()
        answers, k = [], 0
        for v in vectors:
            if v is None:
                answers.append(Prediction(None, [0.1] * 10, self.version, BLANK_PNG))
                continue
            answers.append(Prediction(digits[k], rounded[k], self.version, input_png(v), judged[k]))
            k += 1
        return answers


def pixel_vectors(rows: list[list[float]]) -> list[np.ndarray | None]:
    """Rows of 784 numbers in [0, 1] -> (784,) float32 each, or None for an all-zero row; InputError."""
    vectors: list[np.ndarray | None] = []
    for i, pixels in enumerate(rows):
        arr = np.asarray(pixels, dtype=np.float64)
        if arr.shape != (N_PIXELS,):
            raise InputError(f"pixels[{i}] has {arr.size} numbers; expected {N_PIXELS} (28x28)")
        lowest, highest = arr.min(), arr.max()
        if not (0.0 <= lowest and highest <= 1.0):  # a NaN makes both NaN (min and max propagate it)
            raise InputError(f"pixels[{i}] must be finite numbers between 0 and 1")
        vectors.append(arr.astype(np.float32) if highest > 0 else None)
    return vectors


def input_png(vector: np.ndarray) -> str:
    """A (784,) input in [0, 1] -> a 28x28 8-bit gray PNG data URL, stored as MNIST stores a digit.

    Any browser shows it, and it is a fraction of the size of 784 numbers in JSON. Written by hand
    rather than by Pillow, whose encoder set-up costs more than 28x28 pixels (docs/performance.md,
    Serving): a PNG is its signature, then chunks (length, type, data, CRC-32): IHDR
    (size, 8-bit gray), IDAT (a zlib stream of the rows, each after a filter byte, 0 = none), IEND.
    """
    pixels = np.rint(vector.reshape(28, 28) * 255).astype(np.uint8)
    rows = np.zeros((28, 1 + 28), dtype=np.uint8)  # filter byte 0, then the row's 28 pixels
    rows[:, 1:] = pixels
    # zlib level 0 ("stored"): twice the bytes of level 1, but compressing cost more server time than
    # sending them (docs/performance.md); a small window keeps zlib's own state small
    deflate = zlib.compressobj(0, zlib.DEFLATED, 10, 1)
    idat = deflate.compress(rows.tobytes()) + deflate.flush()
    png = PNG_SIGNATURE + PNG_HEADER + png_chunk(b"IDAT", idat) + PNG_END
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_HEADER = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))  # 8-bit gray, no interlace
PNG_END = png_chunk(b"IEND", b"")
BLANK_PNG = input_png(np.zeros(N_PIXELS, dtype=np.float32))
