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

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from model.batches import as_float

Array = np.ndarray
SIDE = 28
PIXELS = SIDE * SIDE
# Images distorted at a time: the temporaries are a few arrays of this many images (docs/training.md
# has the memory and cancel figures), and a caller can stop between pieces.
PIECE = 2048


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


def _skip(bits: np.random.BitGenerator, k: int) -> None:
    """Move ``bits`` on as k float64 draws of ``uniform`` would, without drawing them where it can."""
    if isinstance(bits, np.random.PCG64 | np.random.PCG64DXSM):
        before = bits.state
        bits.advance(k)  # one 64-bit output per float64, in O(log k) steps
        # advance() also drops the 32 spare bits that a bounded integer draw (a permutation) may
        # keep for the next one; float draws never touch them, so they are put back.
        after = bits.state  # a new dict on every read
        after["has_uint32"], after["uinteger"] = before["has_uint32"], before["uinteger"]
        bits.state = after
    else:
        generator = np.random.Generator(bits)
        for done in range(0, k, PIECE * PIXELS):
            generator.uniform(size=min(PIECE * PIXELS, k - done))


class _NoiseField:
    """The (2, n, 28, 28) uniform noise of n images, as one ``rng.uniform`` call drew it, by pieces.

    ``uniform`` turns each output of the bit generator into one float64, in C order, so
    ``noise[k, i:j]`` is outputs ``(k n + i) 784`` to ``(k n + j) 784`` after the field's start.
    Two copies of the generator, placed at the start of channel 0 and of channel 1, read the
    pieces in turn; ``rng`` itself moves past the whole field, where one call would leave it.
    """

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.channels = []
        for k in range(2):
            bits = type(rng.bit_generator)()
            bits.state = rng.bit_generator.state
            _skip(bits, k * n * PIXELS)
            self.channels.append(np.random.Generator(bits))
        _skip(rng.bit_generator, 2 * n * PIXELS)

    def take(self, m: int) -> Array:
        """The next m images' noise, (2, m, 28, 28) float64 in [-1, 1]."""
        return np.stack([g.uniform(-1.0, 1.0, size=(m, SIDE, SIDE)) for g in self.channels])


def _elastic_field(noise: Array, cfg: AugmentConfig) -> Array:
    """(2, m, 28, 28) float32 smooth displacements (dy, dx) with RMS ``elastic_alpha`` pixels per image.

    ``noise`` is the (2, m, 28, 28) uniform noise in [-1, 1] of these m images (see ``_NoiseField``).
    """
    noise = noise.astype(np.float32)
    G = _gaussian_matrix(cfg.elastic_sigma).astype(np.float32)
    smooth = G @ noise @ G.T  # (28, 28) @ (2, m, 28, 28) @ (28, 28): blur columns, then rows
    rms = np.sqrt((smooth * smooth).mean(axis=(0, 2, 3), keepdims=True)) + 1e-8
    smooth *= cfg.elastic_alpha / rms
    return smooth


@dataclass(frozen=True)
class _Affine:
    """Each image's inverse affine map and shift: ``inv`` (2, 2, n) and ``shift`` (2, n), float32."""

    inv: Array
    shift: Array

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, cfg: AugmentConfig) -> _Affine:
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
        return cls(inv64.astype(np.float32), shift.astype(np.float32))

    def rows(self, start: int, stop: int) -> _Affine:
        """The maps of images start..stop-1."""
        return _Affine(self.inv[:, :, start:stop], self.shift[:, start:stop])


def _source_coordinates(affine: _Affine, field: Array | None) -> tuple[Array, Array]:
    """For every output pixel of every image, the (row, col) it reads from: (m, 28, 28) each.

    ``affine`` holds the m images' maps; ``field`` is their (2, m, 28, 28) elastic field, or None.
    """
    m = affine.shift.shape[1]
    centre = (SIDE - 1) / 2.0
    inv = affine.inv[:, :, :, None, None]  # (2, 2, m, 1, 1)
    grid = np.arange(SIDE, dtype=np.float32) - centre
    py = grid[None, :, None] - affine.shift[0][:, None, None]  # (m, 28, 1)
    px = grid[None, None, :] - affine.shift[1][:, None, None]  # (m, 1, 28)
    if field is not None:
        src_y, src_x = field
        src_y += centre
        src_x += centre
    else:
        src_y = np.full((m, SIDE, SIDE), centre, dtype=np.float32)
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


def _change_thickness(images: Array, weight: Array) -> Array:
    """Blend each image towards its 3x3 grey dilation (weight > 0) or erosion (weight < 0).

    ``images`` (m, 28, 28) float32, ``weight`` (m,) float32 in [-thickness, thickness].
    """
    out = images.copy()
    for sign, pick in ((1, np.maximum), (-1, np.minimum)):
        chosen = np.flatnonzero(sign * weight > 0)
        part = images[chosen]
        w = np.abs(weight[chosen])[:, None, None]
        out[chosen] = part + w * (_max3(part, pick) - part)
    return out


def augment_pieces(
    images: Array, rng: np.random.Generator, cfg: AugmentConfig, out: Array, piece: int = PIECE
) -> Iterator[int]:
    """Distort ``images`` into ``out`` ``piece`` images at a time, yielding before each piece.

    All of ``rng``'s draws are made before the first yield, in the order and number of one
    whole-set pass: per image the affine parameters, then the (2, n, 28, 28) noise field (read a
    piece at a time, see ``_NoiseField``), then the thickness weights. So the pieces are the same
    numbers, bit for bit, as distorting all n images at once, and a seed keeps its distortions;
    only the temporaries shrink to the size of a piece.

    Parameters
    ----------
    images : (n, 784) or (n, 28, 28) intensities in [0, 1], or uint8 pixels (read as byte / 255).
    rng : the run's random generator (same seed, same distortions).
    cfg : the distortions' ranges.
    out : (n, 784) float32 (or float64), filled with the distorted images, in [0, 1].
    piece : images distorted at a time.

    Yields
    ------
    The first row of the piece about to be distorted: a caller that stops iterating stops there.
    """
    n = len(images)
    affine = _Affine.draw(rng, n, cfg)
    noise = _NoiseField(rng, n) if cfg.elastic_alpha > 0 else None
    weight = rng.uniform(-cfg.thickness, cfg.thickness, n).astype(np.float32) if cfg.thickness > 0 else None
    for start in range(0, n, piece):
        yield start
        stop = min(start + piece, n)
        x = as_float(images[start:stop], np.dtype(np.float32)).reshape(-1, SIDE, SIDE)
        field = _elastic_field(noise.take(stop - start), cfg) if noise else None
        src_y, src_x = _source_coordinates(affine.rows(start, stop), field)
        a = bilinear_sample(x, src_y, src_x)
        if weight is not None:
            a = _change_thickness(a, weight[start:stop])
        np.clip(a.reshape(stop - start, PIXELS), 0.0, 1.0, out=out[start:stop])


def augment(images: Array, rng: np.random.Generator, cfg: AugmentConfig, piece: int = PIECE) -> Array:
    """Distort a batch of digits: ``augment_pieces`` run to the end into a new array.

    Parameters
    ----------
    images : (n, 784) or (n, 28, 28) intensities in [0, 1], or uint8 pixels.
    rng : the run's random generator (same seed, same distortions).

    Returns
    -------
    (n, 784) float32 distorted images, in [0, 1].
    """
    out = np.empty((len(images), PIXELS), dtype=np.float32)
    for _ in augment_pieces(images, rng, cfg, out, piece):
        pass
    return out
