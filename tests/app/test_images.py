"""Decoding real image files into MNIST form: polarity, transparency, JPEG, sizes."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.images import InputError, decode, preprocess
from model.preprocess import CENTRE


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def seven(mode: str, size: int, background, ink, width: int, box=(0.2, 0.15, 0.8, 0.85)):
    image = Image.new(mode, (size, size), background)
    x0, y0, x1, y1 = (v * size for v in box)
    ImageDraw.Draw(image).line([(x0, y0), (x1, y0), ((x0 + x1) / 2, y1)], fill=ink, width=width)
    return image


def centre(out: np.ndarray) -> tuple[float, float]:
    img = out.reshape(28, 28)
    ys, xs = np.mgrid[0:28, 0:28]
    return float((img * ys).sum() / img.sum()), float((img * xs).sum() / img.sum())


@pytest.mark.parametrize(
    "image, fmt",
    [
        (seven("L", 280, 255, 0, 18), "PNG"),  # dark ink on white, as the page sends
        (seven("L", 280, 0, 255, 18), "PNG"),  # white ink on black, like MNIST
        (seven("RGB", 400, (250, 250, 240), (20, 20, 120), 25), "JPEG"),  # a photo-like JPEG
        (seven("RGBA", 280, (0, 0, 0, 0), (0, 0, 0, 255), 18), "PNG"),  # transparent background
        (seven("L", 280, 255, 0, 60, box=(0.05, 0.05, 0.95, 0.95)), "PNG"),  # huge and thick
        (seven("L", 280, 255, 0, 3, box=(0.7, 0.7, 0.85, 0.9)), "PNG"),  # small, thin, off-centre
    ],
)
def test_drawings_become_centred_white_on_black_digits(image, fmt) -> None:
    out = preprocess(encode(image, fmt))
    assert out is not None and out.shape == (784,) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    img = out.reshape(28, 28)
    assert img[0].max() < 0.1 and img[:, 0].max() < 0.1  # background is black at the border
    cy, cx = centre(out)
    assert abs(cy - CENTRE) < 0.5 and abs(cx - CENTRE) < 0.5


def test_the_same_seven_reads_alike_in_every_form() -> None:
    base = preprocess(encode(seven("L", 280, 255, 0, 18)))
    for other in (seven("L", 280, 0, 255, 18), seven("RGBA", 280, (0, 0, 0, 0), (0, 0, 0, 255), 18)):
        assert np.abs(preprocess(encode(other)) - base).mean() < 0.02


def test_blank_canvases_are_no_digit() -> None:
    assert preprocess(encode(Image.new("L", (280, 280), 255))) is None
    assert preprocess(encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))) is None


def test_decode_refuses_other_formats_and_huge_images() -> None:
    with pytest.raises(InputError) as info:
        decode(encode(Image.new("L", (10, 10)), "GIF"))
    assert info.value.status == 415
    with pytest.raises(InputError) as info:
        decode(encode(Image.new("1", (3000, 10))))
    assert info.value.status == 413
