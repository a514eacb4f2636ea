"""From image bytes to ink: decode a PNG or JPEG safely, then grayscale ink in [0, 1].

This module is the image side (Pillow). ``model.images.preprocess.to_mnist`` then does the geometry, in
NumPy, the same code that training uses: crop to the ink, even out the stroke width, scale into
20x20, centre by mass in 28x28. docs/preprocessing.md shows each step.

Whatever a client sent that cannot be read raises ``InputError``, the one input error of the app:
its message says what was wrong and ``status`` is the HTTP status the routes answer with.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct

import numpy as np
from PIL import ExifTags, Image, PngImagePlugin

from app.reading.image_files import JPEG_SIGNATURE, MAX_PIECES, PNG_SIGNATURE, pieces, too_costly
from model.images.preprocess import ink_of, to_mnist

MAX_SIDE = 2048  # larger images are refused before their pixels are decoded
# Text chunks (tEXt, zTXt, iTXt) and ICC profiles are read, and decompressed, when a PNG's header is
# opened, so a file packed with them costs time before its 422 (docs/security.md, The probes). Tools
# write a few hundred bytes of such metadata; a digit needs none.
PngImagePlugin.MAX_TEXT_CHUNK = 64 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 256 * 1024
FORMATS = ("PNG", "JPEG")
SIGNATURES = (PNG_SIGNATURE, JPEG_SIGNATURE)  # the first bytes of every PNG and JPEG file
DATA_URL_TYPES = ("image/png", "image/jpeg")
# The turn that makes a photo upright, by its EXIF orientation (the EXIF standard's table). Not
# ImageOps.exif_transpose: it also writes the EXIF again, and raised on tags it could read but not write.
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


class InputError(ValueError):
    """The client sent something we cannot read; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def decode_data_url(text: str) -> bytes:
    """``data:image/png;base64,....`` (or bare base64) -> bytes, or InputError."""
    payload = text
    if text.startswith("data:"):
        header, sep, payload = text.partition(",")
        if not sep or ";base64" not in header:
            raise InputError("image must be a base64 data URL: data:image/png;base64,...")
        if header[5:].split(";")[0] not in DATA_URL_TYPES:
            raise InputError("image must be a PNG or JPEG data URL", status=415)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"image is not valid base64 ({exc})") from exc


def open_image(data: bytes) -> Image.Image:
    """Read a PNG or JPEG's header with Pillow, or raise InputError; the pixels are not decoded yet.

    The size is checked here, before ``load`` decodes the pixels, so a small file that claims to be
    a huge image (a decompression bomb) costs nothing, and the caller can see how much work it is.
    """
    if not data:
        raise InputError("the image is empty")
    if not data.startswith(SIGNATURES):
        raise InputError("cannot decode the image: not a PNG or JPEG file", status=415)
    if (problem := too_costly(data)) is not None:  # what the pixel count does not bound
        raise InputError(problem)
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise InputError(f"the image is far over the {MAX_SIDE}x{MAX_SIDE} pixel limit", status=413) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"cannot decode the image: {exc}") from exc
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise InputError(
            f"the image is {width}x{height} pixels; the limit is {MAX_SIDE}x{MAX_SIDE}", status=413
        )
    return image


def decode(data: bytes | Image.Image) -> Image.Image:
    """PNG or JPEG bytes (or an image from ``open_image``) -> a decoded Pillow image, or InputError."""
    image = open_image(data) if isinstance(data, bytes) else data
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError(f"cannot decode the image: {exc}") from exc
    return image


def to_ink(image: Image.Image) -> np.ndarray:
    """Grayscale ink intensities in [0, 1], 1 = full ink, whatever the image's mode and background."""
    return ink_of(to_levels(image))


def to_levels(image: Image.Image) -> np.ndarray:
    """The image's ink: as 8-bit levels (uint8, ink = level / 255) when the image is opaque, as float32
    in [0, 1] when transparency weighs it; ``to_mnist`` reads either, and ``ink_of`` makes floats.

    Pillow does the colour conversions in C; NumPy then sees one 8-bit gray array, kept in 8 bits
    until the crop is scaled (model/images/preprocess.py says why that gives the same bits): this runs
    for every request.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        # the alpha band alone, packed by Pillow: a quarter of the bytes of the whole RGBA array,
        # and a count of 255s is quicker than getextrema's four bands or NumPy's min
        alpha_bytes = rgba.tobytes("raw", "A")
        if alpha_bytes.count(255) < len(alpha_bytes):  # some pixel is transparent
            # Transparent pixels are background. Ink is whatever is opaque and differs from it.
            alpha_8bit = np.frombuffer(alpha_bytes, dtype=np.uint8).reshape(rgba.height, rgba.width)
            alpha = alpha_8bit.astype(np.float32) / 255.0
            gray = np.asarray(rgba.convert("L"), dtype=np.float32) / 255.0
            opaque = alpha > 0.5
            light_ink = opaque.any() and gray[opaque].mean() > 0.5
            ink = gray if light_ink else 1.0 - gray
            return ink * alpha
        return _polarity(np.asarray(rgba.convert("L")))
    turn = UPRIGHT.get(exif_orientation(image))
    if turn is not None:
        image = image.transpose(turn)
    return _polarity(np.asarray(image if image.mode == "L" else image.convert("L")))


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 to 8; 1: the pixels are stored upright). An EXIF block Pillow cannot
    read counts as none, as browsers show such a file: it is metadata, and the pixels are whole."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except (SyntaxError, ValueError, TypeError, OSError, struct.error):
        return 1
    return orientation if isinstance(orientation, int) else 1


def _polarity(gray: np.ndarray) -> np.ndarray:
    """8-bit gray -> 8-bit ink levels, inverted when the border is mostly light: that image is dark
    ink on a light background."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 255 - gray if 2 * np.count_nonzero(border > 127) > border.size else gray


def preprocess(data: bytes | Image.Image) -> np.ndarray | None:
    """Image bytes (or ``open_image``'s result) -> (784,) MNIST-like float32 vector in [0, 1], or None
    for a blank drawing."""
    return to_mnist(to_levels(decode(data)))


def open_images(images: list[bytes], max_pixels: int | None = None) -> list[Image.Image]:
    """Read each image's header (not its pixels), or InputError: the size says what decoding costs,
    and more than ``max_pixels`` in all is refused (413) before any pixel is decoded; so are more
    than MAX_PIECES chunks or markers in all (422), before Pillow reads any (app/reading/image_files.py)."""
    left = MAX_PIECES
    for data in images:
        left -= pieces(data, left)
        if left < 0:
            raise InputError(f"the images hold more than {MAX_PIECES:,} chunks or markers in all (a "
                             "drawing has a few)")
    opened = [open_image(data) for data in images]
    total = pixel_count(opened)
    if max_pixels is not None and total > max_pixels:
        raise InputError(f"the images hold {total:,} pixels in all; one request may hold at most "
                         f"{max_pixels:,}", status=413)
    return opened


def pixel_count(images: list[Image.Image]) -> int:
    """How many pixels decoding these images means: the measure of a request's work."""
    return sum(image.width * image.height for image in images)
