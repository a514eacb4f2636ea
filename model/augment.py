"""Random distortions of 28x28 digits, so the network learns the digit and not one way of writing it.

Each image gets its own random affine map ``p -> A (p - c) + c + t`` (rotation, scale per axis, shear,
shift ``t`` about the centre ``c``), a smooth random "elastic" displacement field, and a change of
stroke thickness. The output pixel at ``p`` takes the input's value at the source point
``A^-1 (p - c - t) + c + field(p)``, read by bilinear interpolation (four neighbours, weighted by
distance). The elastic field is white noise blurred with a Gaussian of width ``elastic_sigma``
pixels, rescaled so that its root-mean-square displacement is ``elastic_alpha`` pixels.

Thickness blends the image towards its 3x3 grey dilation (thicker) or erosion (thinner) by a random
weight in [-thickness, thickness]. Everything is vectorised over the batch with NumPy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

Array = np.ndarray
SIDE = 28


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random distortions (0 turns one off). Angles in degrees, distances in pixels."""

    rotation: float = 12.0
    scale: float = 0.12
    shear: float = 0.2
    shift: float = 2.0
    elastic_alpha: float = 1.2
    elastic_sigma: float = 3.0
    thickness: float = 0.6

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (0 <= value < 100):
                raise ValueError(f"augment {name} must be in [0, 100), got {value}")
        if self.scale >= 1:
            raise ValueError(f"augment scale must be below 1, got {self.scale}")
        if self.elastic_alpha > 0 and self.elastic_sigma <= 0:
            raise ValueError("augment elastic_sigma must be positive when elastic_alpha is")


def _gaussian_matrix(sigma: float, n: int = SIDE) -> Array:
    """(n, n) matrix G with G @ f blurring f along its first axis; each row sums to 1."""
    idx = np.arange(n)
    G = np.exp(-((idx[:, None] - idx[None, :]) ** 2) / (2.0 * sigma * sigma))
    return G / G.sum(axis=1, keepdims=True)


def _elastic_field(rng: np.random.Generator, n: int, cfg: AugmentConfig) -> Array:
    """(2, n, 28, 28) float32 smooth displacements (dy, dx) with RMS ``elastic_alpha`` pixels per image."""
    noise = rng.uniform(-1.0, 1.0, size=(2, n, SIDE, SIDE)).astype(np.float32)
    G = _gaussian_matrix(cfg.elastic_sigma).astype(np.float32)
    smooth = G @ noise @ G.T  # (28, 28) @ (2, n, 28, 28) @ (28, 28): blur columns, then rows
    rms = np.sqrt((smooth * smooth).mean(axis=(0, 2, 3), keepdims=True)) + 1e-8
    smooth *= cfg.elastic_alpha / rms
    return smooth


def _source_coordinates(rng: np.random.Generator, n: int, cfg: AugmentConfig) -> tuple[Array, Array]:
    """For every output pixel of every image, the (row, col) it reads from: (n, 28, 28) each."""
    angle = np.deg2rad(rng.uniform(-cfg.rotation, cfg.rotation, n))
    sy = 1.0 + rng.uniform(-cfg.scale, cfg.scale, n)
    sx = 1.0 + rng.uniform(-cfg.scale, cfg.scale, n)
    shear = rng.uniform(-cfg.shear, cfg.shear, n)
    shift = rng.uniform(-cfg.shift, cfg.shift, (2, n))
    cos, sin = np.cos(angle), np.sin(angle)
    # A = R(angle) @ [[sy, shear], [0, sx]] in (row, col) coordinates; we need A^-1.
    a, b = cos * sy, cos * shear - sin * sx
    c, d = sin * sy, sin * shear + cos * sx
    det = a * d - b * c
    inv64 = np.stack([d, -b, -c, a]).reshape(2, 2, n) / det  # (2, 2, n)
    centre = (SIDE - 1) / 2.0
    inv = inv64.astype(np.float32)[:, :, :, None, None]  # (2, 2, n, 1, 1)
    grid = np.arange(SIDE, dtype=np.float32) - centre
    py = grid[None, :, None] - shift[0].astype(np.float32)[:, None, None]  # (n, 28, 1)
    px = grid[None, None, :] - shift[1].astype(np.float32)[:, None, None]  # (n, 1, 28)
    if cfg.elastic_alpha > 0:
        src_y, src_x = _elastic_field(rng, n, cfg)
        src_y += centre
        src_x += centre
    else:
        src_y = np.full((n, SIDE, SIDE), centre, dtype=np.float32)
        src_x = src_y.copy()
    src_y += inv[0, 0] * py
    src_y += inv[0, 1] * px
    src_x += inv[1, 0] * py
    src_x += inv[1, 1] * px
    return src_y, src_x


def bilinear_sample(images: Array, src_y: Array, src_x: Array) -> Array:
    """Read ``images`` (n, H, W) at fractional points (n, H, W); outside the image is 0 (black)."""
    n, H, W = images.shape
    padded = np.zeros((n, H + 2, W + 2), dtype=np.float32)
    padded[:, 1:-1, 1:-1] = images
    y = np.clip(src_y + 1.0, 0.0, H + 1.0, dtype=np.float32)
    x = np.clip(src_x + 1.0, 0.0, W + 1.0, dtype=np.float32)
    y0 = np.minimum(np.floor(y), H)
    x0 = np.minimum(np.floor(x), W)
    wy, wx = y - y0, x - x0
    row = W + 2
    # flat index of each source point's top-left neighbour in the padded stack (fits int32)
    i00 = (np.arange(n, dtype=np.int32) * ((H + 2) * row))[:, None, None] + (
        y0.astype(np.int32) * row + x0.astype(np.int32)
    )
    flat = padded.reshape(-1)
    top = flat.take(i00)
    top += wx * (flat.take(i00 + 1) - top)
    bottom = flat.take(i00 + row)
    bottom += wx * (flat.take(i00 + row + 1) - bottom)
    top += wy * (bottom - top)
    return top


def _max3(images: Array, pick: np.ufunc) -> Array:
    """3x3 grey dilation (pick = np.maximum) or erosion (np.minimum), as two separable 1x3 passes."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    rows = pick(pick(padded[:, :, :-2], padded[:, :, 1:-1]), padded[:, :, 2:])
    return pick(pick(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def _change_thickness(rng: np.random.Generator, images: Array, amount: float) -> Array:
    """Blend each image towards its 3x3 grey dilation (weight > 0) or erosion (weight < 0)."""
    weight = rng.uniform(-amount, amount, len(images)).astype(np.float32)
    out = images.copy()
    for sign, pick in ((1, np.maximum), (-1, np.minimum)):
        chosen = np.flatnonzero(sign * weight > 0)
        part = images[chosen]
        w = np.abs(weight[chosen])[:, None, None]
        out[chosen] = part + w * (_max3(part, pick) - part)
    return out


def augment(images: Array, rng: np.random.Generator, cfg: AugmentConfig) -> Array:
    """Distort a batch of digits.

    Parameters
    ----------
    images : (n, 784) or (n, 28, 28) intensities in [0, 1].
    rng : the run's random generator (same seed, same distortions).

    Returns
    -------
    (n, 784) float32 distorted images, in [0, 1].
    """
    imgs = np.asarray(images, dtype=np.float32).reshape(-1, SIDE, SIDE)
    src_y, src_x = _source_coordinates(rng, len(imgs), cfg)
    out = bilinear_sample(imgs, src_y, src_x)
    if cfg.thickness > 0:
        out = _change_thickness(rng, out, cfg.thickness)
    return np.clip(out, 0.0, 1.0).reshape(len(imgs), SIDE * SIDE)
