"""Turning a drawing into what an MNIST digit looks like: 784 intensities in [0, 1].

MNIST digits are white ink on black, their bounding box scaled to fit 20x20 pixels (keeping the
aspect ratio), anti-aliased, and placed in a 28x28 image so that their centre of mass is at the
centre. The steps, in order:

1. decode with Pillow; transparent pixels count as background;
2. grayscale, and invert when the background is light (dark ink on white paper);
3. crop to the ink's bounding box; "no ink" means no digit;
4. scale so the longer side is 20 px (box-filtered, so thin lines stay visible);
5. paste into 28x28 and shift so the intensity-weighted centre of mass is at (14, 14).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

SIDE = 28
BOX = 20
INK_THRESHOLD = 0.1  # a pixel with at least this much ink counts for the bounding box
MIN_INK_PIXELS = 4  # fewer inked pixels than this is a blank canvas, not a digit


MAX_SIDE = 2048  # larger images are refused before their pixels are decoded
FORMATS = ("PNG", "JPEG")
SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # the first bytes of every PNG and JPEG file


class ImageError(ValueError):
    """The bytes are not an image we can read; the message says why, ``status`` the HTTP status."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def decode(data: bytes) -> Image.Image:
    """Open PNG or JPEG bytes with Pillow, or raise ImageError.

    Pillow reads only the header in ``open``; the size is checked before ``load`` decodes the
    pixels, so a small file that claims to be a huge image (a decompression bomb) costs nothing.
    """
    if not data:
        raise ImageError("the image is empty")
    if not data.startswith(SIGNATURES):
        raise ImageError("cannot decode the image: not a PNG or JPEG file", status=415)
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"the image is far over the {MAX_SIDE}x{MAX_SIDE} pixel limit", status=413) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"cannot decode the image: {exc}") from exc
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageError(
            f"the image is {width}x{height} pixels; the limit is {MAX_SIDE}x{MAX_SIDE}", status=413
        )
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError(f"cannot decode the image: {exc}") from exc
    return image


def to_ink(image: Image.Image) -> np.ndarray:
    """Grayscale ink intensities in [0, 1], 1 = full ink, whatever the image's mode and background."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        gray = np.asarray(rgba.convert("L"), dtype=np.float32) / 255.0
        if alpha.min() < 1.0:
            # Transparent pixels are background. Ink is whatever is opaque and differs from it.
            opaque = alpha > 0.5
            light_ink = opaque.any() and gray[opaque].mean() > 0.5
            ink = gray if light_ink else 1.0 - gray
            return ink * alpha
        return _polarity(gray)
    gray = np.asarray(ImageOps.exif_transpose(image).convert("L"), dtype=np.float32) / 255.0
    return _polarity(gray)


def _polarity(gray: np.ndarray) -> np.ndarray:
    """Invert when the border is mostly light: that image is dark ink on a light background."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 1.0 - gray if np.median(border) > 0.5 else gray


def to_mnist(ink: np.ndarray) -> np.ndarray | None:
    """Crop, scale to 20x20, centre by mass in 28x28. Returns (784,) float32, or None if blank."""
    mask = ink >= INK_THRESHOLD
    if mask.sum() < MIN_INK_PIXELS:
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = Image.fromarray((crop * 255).astype(np.uint8)).resize(
        (new_w, new_h), Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    )
    small = np.asarray(resized, dtype=np.float32) / 255.0
    return centre_by_mass(small).reshape(-1)


def centre_by_mass(small: np.ndarray) -> np.ndarray:
    """Place ``small`` (at most 28x28) in a 28x28 canvas with its centre of mass at the centre.

    The shift is fractional, applied by bilinear interpolation. The target is pixel (14, 14), where
    MNIST's own digits have their centre of mass (measured over its training set: 14.00 +- 0.29).
    """
    h, w = small.shape
    total = small.sum()
    ys, xs = np.mgrid[0:h, 0:w]
    cy, cx = (small * ys).sum() / total, (small * xs).sum() / total
    centre = SIDE / 2.0
    dy, dx = centre - cy, centre - cx
    image = Image.fromarray(small.astype(np.float32), mode="F")
    # affine maps output (x, y) to input (x - dx, y - dy): a pure translation
    moved = image.transform(
        (SIDE, SIDE), Image.Transform.AFFINE, (1, 0, -dx, 0, 1, -dy), resample=Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(moved, dtype=np.float32), 0.0, 1.0)


def preprocess(data: bytes) -> np.ndarray | None:
    """Image bytes -> (784,) MNIST-like float32 vector in [0, 1], or None for a blank drawing."""
    return to_mnist(to_ink(decode(data)))
