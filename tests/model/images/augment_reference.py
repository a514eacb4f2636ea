"""The whole-set distortion formula as it was before ``model.images.augment`` worked in pieces.

Kept verbatim (bar names) as the reference that the pieces must reproduce bit for bit: trained models
record only a seed, so the same seed must keep drawing the same distortions. It distorts all n
images at once, with (2, n, 28, 28) temporaries; use it on small n only.
"""

from __future__ import annotations

import numpy as np

from model.images.augment import SIDE, AugmentConfig, _gaussian_matrix, _max3, bilinear_sample

Array = np.ndarray


def elastic_field(rng: np.random.Generator, n: int, cfg: AugmentConfig) -> Array:
    noise = rng.uniform(-1.0, 1.0, size=(2, n, SIDE, SIDE)).astype(np.float32)
    G = _gaussian_matrix(cfg.elastic_sigma).astype(np.float32)
    smooth = G @ noise @ G.T
    rms = np.sqrt((smooth * smooth).mean(axis=(0, 2, 3), keepdims=True)) + 1e-8
    smooth *= cfg.elastic_alpha / rms
    return smooth


def source_coordinates(rng: np.random.Generator, n: int, cfg: AugmentConfig) -> tuple[Array, Array]:
    angle = np.deg2rad(rng.uniform(-cfg.rotation, cfg.rotation, n))
    sy = 1.0 + rng.uniform(-cfg.scale, cfg.scale, n)
    sx = 1.0 + rng.uniform(-cfg.scale, cfg.scale, n)
    shear = rng.uniform(-cfg.shear, cfg.shear, n)
    shift = rng.uniform(-cfg.shift, cfg.shift, (2, n))
    cos, sin = np.cos(angle), np.sin(angle)
    a, b = cos * sy, cos * shear - sin * sx
    c, d = sin * sy, sin * shear + cos * sx
    det = a * d - b * c
    inv64 = np.stack([d, -b, -c, a]).reshape(2, 2, n) / det
    centre = (SIDE - 1) / 2.0
    inv = inv64.astype(np.float32)[:, :, :, None, None]
    grid = np.arange(SIDE, dtype=np.float32) - centre
    py = grid[None, :, None] - shift[0].astype(np.float32)[:, None, None]
    px = grid[None, None, :] - shift[1].astype(np.float32)[:, None, None]
    if cfg.elastic_alpha > 0:
        src_y, src_x = elastic_field(rng, n, cfg)
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


def change_thickness(rng: np.random.Generator, images: Array, amount: float) -> Array:
    weight = rng.uniform(-amount, amount, len(images)).astype(np.float32)
    out = images.copy()
    for sign, pick in ((1, np.maximum), (-1, np.minimum)):
        chosen = np.flatnonzero(sign * weight > 0)
        part = images[chosen]
        w = np.abs(weight[chosen])[:, None, None]
        out[chosen] = part + w * (_max3(part, pick) - part)
    return out


def augment_whole(images: Array, rng: np.random.Generator, cfg: AugmentConfig) -> Array:
    """(n, 784) float32: all n images distorted at once, as ``model.images.augment.augment`` used to."""
    imgs = np.asarray(images, dtype=np.float32).reshape(-1, SIDE, SIDE)
    src_y, src_x = source_coordinates(rng, len(imgs), cfg)
    out = bilinear_sample(imgs, src_y, src_x)
    if cfg.thickness > 0:
        out = change_thickness(rng, out, cfg.thickness)
    return np.clip(out, 0.0, 1.0).reshape(len(imgs), SIDE * SIDE)
