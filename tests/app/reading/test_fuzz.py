"""Property-based fuzzing of decoding, preprocessing and the JSON API: a prediction or our own 4xx.

The quick version runs in the test suite; `scripts/fuzz [EXAMPLES]` is the long run (with
tests/app/web/test_schema.py), and counts the cases tried and failed.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.reading.images import InputError, preprocess

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"]


def outcome(data: bytes) -> None:
    """The only acceptable outcomes: an MNIST vector, 'no digit', or our InputError with a 4xx."""
    try:
        vector = preprocess(data)
    except InputError as exc:
        assert 400 <= exc.status < 500
        return
    if vector is not None:
        assert vector.shape == (784,) and np.isfinite(vector).all()
        assert vector.min() >= 0.0 and vector.max() <= 1.0


def encode(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


@st.composite
def images(draw) -> bytes:
    mode = draw(st.sampled_from(MODES))
    w, h = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    noise = np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    image = Image.fromarray(noise, "L").convert(mode) if mode != "I;16" else \
        Image.fromarray(noise.astype(np.uint16) * 200)
    fmt = "JPEG" if mode in ("L", "RGB") and draw(st.booleans()) else "PNG"
    return encode(image, fmt)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    outcome(data)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_behind_a_png_signature(tail: bytes) -> None:
    outcome(b"\x89PNG\r\n\x1a\n" + tail)


@FUZZ
@given(images())
def test_odd_modes_and_sizes(data: bytes) -> None:
    outcome(data)


@FUZZ
@given(images(), st.data())
def test_truncated_and_corrupted_images(data: bytes, more: st.DataObject) -> None:
    cut = more.draw(st.integers(0, len(data)))
    outcome(data[:cut])
    flips = more.draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8))
    corrupted = bytearray(data)
    for i in flips:
        corrupted[i] ^= 0xFF
    outcome(bytes(corrupted))


JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=8) | st.dictionaries(st.text(max_size=8), children,
                                                                       max_size=5),
    max_leaves=30,
)


@FUZZ
@given(JSON, st.sampled_from(["image", "pixels", "images"]))
def test_random_json_is_never_a_5xx(client, value, key) -> None:
    for path in ("/predict", "/predict/batch"):
        for body in ({key: value}, value):
            text = json.dumps(body)  # Python writes NaN and Infinity too: the server must cope
            response = client.post(path, content=text, headers={"content-type": "application/json"})
            assert response.status_code < 500, (path, body, response.text)
            assert response.status_code in (200, 400, 413, 415, 422)
