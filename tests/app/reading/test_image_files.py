"""A file whose structure costs more to read than any encoder's does is refused before Pillow reads
it: many PNG chunks, many JPEG markers or stray bytes, many JPEG scans (app/reading/image_files.py)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.reading.image_files import MAX_PIECES, jpeg_pieces, png_chunks
from app.reading.images import InputError, open_image, open_images, preprocess
from tests.app.reading.test_images import progressive_jpeg


def drawing(fmt: str, size: int = 140, **save: object) -> bytes:
    image = Image.new("L", (size, size), 255)
    ImageDraw.Draw(image).line([(size // 2, size // 7), (size // 2, size * 6 // 7)], fill=0, width=size // 14)
    buf = io.BytesIO()
    image.save(buf, format=fmt, **save)
    return buf.getvalue()


def chunk(kind: bytes, data: bytes = b"") -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def after_header(data: bytes, extra: bytes) -> bytes:
    """``extra`` after a PNG's IHDR (8 + 25 bytes) or a JPEG's SOI (2 bytes)."""
    at = 33 if data.startswith(b"\x89PNG") else 2
    return data[:at] + extra + data[at:]


# Each about 128 KiB, what is still read on the event loop; each held it 29 to 43 ms before
COSTLY = {
    "PNG of 10,900 empty chunks": after_header(drawing("PNG"), chunk(b"abCd") * 10_900),
    "PNG of 10,900 empty chunks after its image": drawing("PNG")[:-12] + chunk(b"abCd") * 10_900
    + drawing("PNG")[-12:],
    "JPEG of 32,000 empty comments": after_header(drawing("JPEG"), b"\xff\xfe\x00\x02" * 32_000),
    "JPEG of 128 KiB of fill bytes": after_header(drawing("JPEG"), b"\xff" * 131_000 + b"\xfe\x00\x02"),
    "JPEG of 128 KiB of stray bytes": after_header(drawing("JPEG"), b"\xff\xfe\x00\x02" + b"\x01" * 131_000),
    "JPEG of 5,000 scans": progressive_jpeg(5_000),
}


@pytest.mark.parametrize("name", COSTLY)
def test_a_file_of_many_pieces_is_refused_before_pillow_reads_it(name: str) -> None:
    with pytest.raises(InputError) as info:
        open_image(COSTLY[name])
    assert info.value.status == 422 and ("chunks" in str(info.value) or "JPEG" in str(info.value))


def test_files_as_encoders_write_them_are_read() -> None:
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1024, 1024), dtype=np.uint8))
    buf = io.BytesIO()
    noise.save(buf, format="PNG")
    big_png = buf.getvalue()  # 1 MiB of image data in many IDAT chunks
    assert len(big_png) > 1_000_000 and png_chunks(big_png, MAX_PIECES) < 100
    open_image(big_png)
    exif = Image.Exif()
    exif[0x010F] = "camera"
    photo = drawing("JPEG", 400, exif=exif.tobytes(), icc_profile=b"\0" * 200_000, progressive=True)
    assert jpeg_pieces(photo, MAX_PIECES) < 40  # SOI, APP0, APP1, 4 x APP2 (the ICC profile), tables
    assert preprocess(photo) is not None
    for data in (drawing("PNG"), drawing("JPEG")):
        assert preprocess(data) is not None


def test_the_counts_stop_at_the_limit() -> None:
    """Counting a 1 MiB file of pieces costs no more than the limit's worth of steps."""
    png = after_header(drawing("PNG"), chunk(b"abCd") * 87_000)
    jpeg = after_header(drawing("JPEG"), b"\xff" * 1_000_000 + b"\xfe\x00\x02")
    assert png_chunks(png, 10) == jpeg_pieces(jpeg, 10) == 11
    assert png_chunks(drawing("PNG"), 10) == 3  # IHDR, IDAT, IEND: the count ends at IEND


def test_a_requests_images_share_one_budget_of_pieces() -> None:
    """Ten PNGs of 1,000 empty chunks each, every one under the limit: 120 KiB together, so read on
    the event loop, where they held it about 30 ms. A batch of drawings as encoders write them has
    a few pieces each."""
    under_the_limit = after_header(drawing("PNG", 40), chunk(b"abCd") * 1_000)
    assert png_chunks(under_the_limit, MAX_PIECES) <= MAX_PIECES
    with pytest.raises(InputError, match="in all") as info:
        open_images([under_the_limit] * 10)
    assert info.value.status == 422
    assert len(open_images([drawing("JPEG")] * 32 + [drawing("PNG")] * 32)) == 64
