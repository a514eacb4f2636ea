"""Decoding real image files into MNIST form: polarity, transparency, JPEG, sizes."""

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.reading.images import InputError, decode, open_image, preprocess
from model.images.preprocess import CENTRE


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


def exif_block(*entries: tuple[int, int, int, bytes]) -> bytes:
    """An EXIF block as cameras write it (little-endian TIFF, one directory) holding ``entries`` of
    (tag, type, count, value of at most 4 bytes): a way to write what no well-behaved tool writes."""
    out = b"II*\x00" + struct.pack("<IH", 8, len(entries))
    for tag, kind, count, value in entries:
        out += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
    return b"Exif\x00\x00" + out + b"\x00\x00\x00\x00"


ORIENTATION, X_RESOLUTION, SHORT, ASCII = 0x0112, 0x011A, 3, 2
# How each EXIF orientation says the stored pixels are turned: storing the upright seven turned by
# the inverse of the transpose that reads it, with the tag, must read as the upright seven
STORED = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
          4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
          7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", sorted(STORED))
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_photo_is_read_upright_by_its_exif_orientation(orientation: int, fmt: str) -> None:
    upright = seven("L", 140, 255, 0, 12)
    stored = upright.transpose(STORED[orientation])
    buf = io.BytesIO()
    stored.save(buf, format=fmt, exif=exif_block((ORIENTATION, SHORT, 1, struct.pack("<H", orientation))))
    expected = preprocess(encode(upright, fmt))
    assert np.abs(preprocess(buf.getvalue()) - expected).max() < 0.1  # JPEG's blocks differ turned


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("exif", [
    b"garbage!",  # no TIFF header: Pillow's EXIF reader raises SyntaxError
    exif_block((ORIENTATION, SHORT, 1, struct.pack("<H", 3)), (X_RESOLUTION, ASCII, 4, b"abc\x00")),
    # ^ a readable orientation beside a resolution written as text: ImageOps.exif_transpose, which
    # writes the EXIF again, raised TypeError
], ids=["no TIFF header", "resolution as text"])
def test_exif_that_cannot_be_read_is_left_aside_not_a_crash(exif: bytes, fmt: str) -> None:
    """A drawing's pixels are read whatever its metadata says; a browser shows such a file too."""
    upright = seven("L", 140, 255, 0, 12)
    stored = upright.rotate(180) if exif.startswith(b"Exif") else upright  # turned as its tag says
    buf = io.BytesIO()
    stored.save(buf, format=fmt, exif=exif)
    assert np.abs(preprocess(buf.getvalue()) - preprocess(encode(upright, fmt))).max() < 0.1


def progressive_jpeg(scans: int) -> bytes:
    """A grayscale 2048x2048 progressive JPEG of a DC scan and then ``scans`` AC refinement scans,
    each one a run of empty blocks over the whole image: 19 bytes a scan, each a pass over 65,536
    blocks when decoded (libjpeg warns of the odd progression and decodes it)."""
    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    def entropy(bits: str) -> bytes:  # padded with 1s, each FF byte followed by a stuffed 00
        bits += "1" * (-len(bits) % 8)
        return b"".join(b"\xff\x00" if b == 0xFF else bytes([b])
                        for b in (int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)))

    head = b"\xff\xd8" + segment(0xDB, b"\x00" + b"\x01" * 64)
    head += segment(0xC2, struct.pack(">BHHB", 8, 2048, 2048, 1) + b"\x01\x11\x00")
    head += segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")  # DC: the code 0 is "no change"
    head += segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\xe0")  # AC: the code 0 is a run of empties
    dc = segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + entropy("0" * 65_536)
    refine = segment(0xDA, b"\x01\x01\x00\x01\x3f\x10") + entropy(("0" + "1" * 14) * 3)  # 3 x 32,767 blocks
    return head + dc + refine * scans + b"\xff\xd9"


def test_a_jpeg_of_many_scans_is_refused_before_its_pixels_are_decoded() -> None:
    assert decode(progressive_jpeg(20)).size == (2048, 2048)  # within the cap: read as any other
    with pytest.raises(InputError, match="scans") as info:
        open_image(progressive_jpeg(5_000))  # 100 KB; its decoding took seconds
    assert info.value.status == 422
    buf = io.BytesIO()
    seven("RGB", 400, (250, 250, 240), (20, 20, 120), 25).save(buf, format="JPEG", progressive=True)
    assert preprocess(buf.getvalue()) is not None  # libjpeg's own progressive script: 10 scans
