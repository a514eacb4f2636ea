"""From a drawing's ink to an MNIST-style digit: crop, even out the stroke, scale, centre by mass.

MNIST's digits were made this way: each written digit's bounding box was scaled to fit 20x20 pixels,
keeping its aspect ratio, with anti-aliasing, then placed in 28x28 so that its centre of mass sits at
the centre. A drawing on a canvas differs in one more way: the pen. A thick pen on a small digit
gives blobs, a thin one on a large digit gives hairlines; MNIST's strokes are about 2-3 pixels wide
after scaling. So before scaling, the stroke width is estimated and brought to a fixed width:

    width ~ 2 * ink area / perimeter          (a long thin stroke of width w and length L has
                                               area w L and perimeter ~2 L)

and the ink is thickened (grey dilation) or thinned (grey erosion) by whole pixels to approach
``TARGET_WIDTH`` pixels as measured after scaling to the 20x20 box.

Input: ``ink`` of shape (H, W), float in [0, 1], 1 = full ink (training may feed its own
renderings), or 8-bit levels (uint8, ink = level / 255: an opaque image, as the web side decodes
one). Output: (784,) float32 in [0, 1], or None when there is too little ink to be a digit. NumPy
only, so the training code can use the very same function.

Levels give the very bits that ``ink_of(levels)`` gives: ``ink_of`` is monotone, so thresholding a
level at ``LEVEL_THRESHOLD`` is thresholding its ink at ``INK_THRESHOLD``, and dilation and erosion
(which only pick maxima and minima) commute with it; the levels become ink just before the resize.
Until then each pixel is one byte instead of four, which is what the morphology spends its time on.
"""

from __future__ import annotations

import functools
import math

import numpy as np

SIDE = 28
BOX = 20
CENTRE = 14.0  # where MNIST's own digits have their centre of mass (docs/preprocessing.md, step 4)
INK_THRESHOLD = 0.3  # a pixel with at least this much ink is part of the digit's shape
MIN_INK_PIXELS = 4  # fewer inked pixels than this is an empty canvas
MIN_EXTENT = 0.08  # ink spanning less than this fraction of a large canvas is a dot, not a digit
TARGET_WIDTH = 2.2  # stroke width in 20x20-box pixels (MNIST's median by the same estimate)
MAX_STEPS = 12  # at most this many pixels of dilation or erosion
LEVEL = np.float32(1 / 255)  # the ink of one 8-bit level


def ink_of(levels: np.ndarray) -> np.ndarray:
    """8-bit levels (uint8) -> float32 ink in [0, 1] (level / 255, rounded once); float ink as it is."""
    return levels.astype(np.float32) * LEVEL if levels.dtype == np.uint8 else levels


# the first level whose ink reaches INK_THRESHOLD, found with the very comparison float ink gets
LEVEL_THRESHOLD = int(np.count_nonzero(ink_of(np.arange(256, dtype=np.uint8)) < INK_THRESHOLD))


def inked(ink: np.ndarray) -> np.ndarray:
    """The mask of pixels that are part of the digit's shape, from float ink or 8-bit levels."""
    return ink >= (LEVEL_THRESHOLD if ink.dtype == np.uint8 else INK_THRESHOLD)


def stroke_width(ink: np.ndarray) -> float:
    """Estimated stroke width in pixels: 2 * area / perimeter of the thresholded ink."""
    mask = inked(ink)
    # perimeter: the number of pixel edges between ink and background (outside counts as background),
    # between neighbouring rows, between neighbouring columns, and along the four sides
    inner = np.count_nonzero(mask[1:, :] != mask[:-1, :]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
    sides = (np.count_nonzero(mask[0]) + np.count_nonzero(mask[-1])
             + np.count_nonzero(mask[:, 0]) + np.count_nonzero(mask[:, -1]))
    return 2.0 * np.count_nonzero(mask) / max(int(inner + sides), 1)


def _neighbours(a: np.ndarray, pick: np.ufunc, axis: int) -> np.ndarray:
    """``pick`` of each pixel and its two neighbours along ``axis`` (outside the edge: ignored)."""
    if axis == 1 and a.shape[1] > 1:
        return _row_neighbours(a, pick)
    out = a.copy()
    head, tail = [slice(None)] * 2, [slice(None)] * 2
    head[axis], tail[axis] = slice(1, None), slice(None, -1)
    pick(out[tuple(head)], a[tuple(tail)], out=out[tuple(head)])  # the neighbour before
    pick(out[tuple(tail)], a[tuple(head)], out=out[tuple(tail)])  # the neighbour after
    return out


def _row_neighbours(a: np.ndarray, pick: np.ufunc) -> np.ndarray:
    """``_neighbours`` along rows, the rows laid end to end, then the first and last columns redone
    from their own row alone. The plain form is ``_neighbours``' own two passes with axis 1; this
    one makes two passes over one contiguous run instead of three over the rows one by one, which
    a large canvas's crop reads markedly faster (benchmarks/preprocess_turns.py; docs/performance.md,
    the preprocessing on 8-bit levels). max and min pick one of their inputs, so the result is the
    same whichever way it is gathered (``tests/model/images/test_preprocess.py`` checks it).
    """
    flat = a.reshape(-1)  # (h * w,); a copy if ``a`` is a view of a larger image
    pair = pick(flat[:-1], flat[1:])  # pair[i] = pick(flat[i], flat[i + 1])
    out = np.empty(a.shape, dtype=a.dtype)  # C-ordered, so that out_flat is a view of it
    out_flat = out.reshape(-1)
    out_flat[0], out_flat[-1] = pair[0], pair[-1]
    pick(pair[:-1], pair[1:], out=out_flat[1:-1])  # pick(flat[i - 1], flat[i], flat[i + 1])
    pick(a[:, 0], a[:, 1], out=out[:, 0])  # not the previous row's last pixel
    pick(a[:, -1], a[:, -2], out=out[:, -1])  # nor the next row's first
    return out


def _grey_morphology(ink: np.ndarray, steps: int, pick: np.ufunc) -> np.ndarray:
    """``steps`` rounds of 3x3 grey dilation (np.maximum) or erosion (np.minimum), zero outside.

    Rounds alternate a cross and a full square, so the growth is close to a disk, not a square.
    The square is the pass along columns then the pass along rows; the cross is the two passes
    taken apart and combined.
    """
    out = ink
    for i in range(steps):
        down = _neighbours(out, pick, 0)
        out = _neighbours(down, pick, 1) if i % 2 else pick(down, _neighbours(out, pick, 1))
        if pick is np.minimum:  # every edge pixel has a neighbour outside, which is 0
            out[0], out[-1], out[:, 0], out[:, -1] = 0, 0, 0, 0
    return out


def normalise_stroke(crop: np.ndarray, scale: float) -> np.ndarray:
    """Thicken or thin ``crop`` so its strokes measure about TARGET_WIDTH once scaled by ``scale``."""
    want = TARGET_WIDTH / scale  # the target width in the crop's own pixels
    have = stroke_width(crop)
    steps = int(round((want - have) / 2))  # one step adds a pixel on each side of a stroke
    steps = max(-MAX_STEPS, min(MAX_STEPS, steps))
    if steps > 0:  # room around the crop for the strokes to grow into
        padded = np.zeros((crop.shape[0] + 2 * steps, crop.shape[1] + 2 * steps), dtype=crop.dtype)
        padded[steps:-steps, steps:-steps] = crop
        return _grey_morphology(padded, steps, np.maximum)
    if steps < 0:
        thinner = _grey_morphology(crop, -steps, np.minimum)
        # never erase a stroke: keep the thinned version only where it still has ink
        return thinner if np.count_nonzero(inked(thinner)) >= MIN_INK_PIXELS else crop
    return crop


@functools.lru_cache(maxsize=512)
def resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix R with R @ v resampling v: area averages when shrinking, linear otherwise.

    Built once per pair of sizes (a canvas sends the same few sizes over and over) and read-only.
    """
    R = _build_resize_matrix(n_in, n_out).astype(np.float32)
    R.flags.writeable = False
    return R


def _build_resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    R = np.zeros((n_out, n_in))
    s = n_in / n_out
    if s >= 1:  # each output pixel averages the input interval [i s, (i + 1) s)
        for i in range(n_out):
            lo, hi = i * s, (i + 1) * s
            for j in range(int(lo), min(int(np.ceil(hi)), n_in)):
                R[i, j] = (min(hi, j + 1) - max(lo, j)) / s
        return R
    centres = (np.arange(n_out) + 0.5) * s - 0.5  # output pixel centres in input coordinates
    centres = np.clip(centres, 0, n_in - 1)
    left = np.minimum(np.floor(centres).astype(int), n_in - 2) if n_in > 1 else np.zeros(n_out, int)
    frac = centres - left
    for i in range(n_out):
        if n_in == 1:
            R[i, 0] = 1.0
            continue
        R[i, left[i]] += 1 - frac[i]
        R[i, left[i] + 1] += frac[i]
    return R


def shift_matrix(n_in: int, offset: float) -> np.ndarray:
    """(28, n_in) matrix S with (S @ v)[r] = v read at r + offset, linearly interpolated, 0 outside.

    With k = floor(offset) and f = offset - k, row r takes (1 - f) of v[r + k] and f of v[r + k + 1]:
    two diagonals. The plain form is ``(1 - f) eye(28, n_in, k) + f eye(28, n_in, k + 1)``; each
    diagonal is written here as one strided slice of the flat matrix instead, as this runs twice for
    every drawing a request reads (benchmarks/preprocess_turns.py; docs/performance.md). The weights
    are the same float32 numbers: ``tests/model/images/test_preprocess.py`` checks it bit for bit.
    """
    k = math.floor(offset)
    f = offset - k
    S = np.zeros((SIDE, n_in), dtype=np.float32)
    flat = S.reshape(-1)  # a view: element (r, c) is flat[r * n_in + c]
    for diagonal, weight in ((k, 1.0 - f), (k + 1, f)):
        first, last = max(0, -diagonal), min(SIDE, n_in - diagonal)  # rows with 0 <= r + diagonal < n_in
        if weight and first < last:  # (r, r + diagonal) is flat[r * (n_in + 1) + diagonal]; a zero
            # weight is left as np.zeros wrote it (+0.0, as np.eye gave it: even for an offset of -0.0)
            start = first * (n_in + 1) + diagonal
            flat[start : start + (last - first - 1) * (n_in + 1) + 1 : n_in + 1] = weight
    return S


POSITIONS = np.arange(SIDE, dtype=np.float64)  # 0, 1, ..., 27: the rows (or columns) of a small image


def centre_by_mass(small: np.ndarray) -> np.ndarray:
    """Place ``small`` (at most 28x28) in 28x28 with its centre of mass at (CENTRE, CENTRE).

    A translation by a fraction of a pixel, bilinear, done one axis at a time: output pixel (r, c)
    reads ``small`` at (r - CENTRE + cy, c - CENTRE + cx), where (cy, cx) is its centre of mass.
    """
    h, w = small.shape
    total = small.sum()
    cy = float(small.sum(axis=1) @ POSITIONS[:h]) / total  # a float64 dot product, as with np.arange(h)
    cx = float(small.sum(axis=0) @ POSITIONS[:w]) / total
    # (28, h) @ (h, w) @ (w, 28) -> (28, 28)
    return shift_matrix(h, cy - CENTRE) @ small @ shift_matrix(w, cx - CENTRE).T


def to_mnist(ink: np.ndarray) -> np.ndarray | None:
    """A drawing's ink (H, W) in [0, 1], or its 8-bit levels -> (784,) float32 MNIST-style digit, or
    None if blank."""
    mask = inked(ink)
    if np.count_nonzero(mask) < MIN_INK_PIXELS:
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    if max(ink.shape) > 2 * SIDE and extent < MIN_EXTENT * max(ink.shape):
        return None
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    if crop.dtype != np.uint8:
        crop = crop.astype(np.float32)
    crop = ink_of(normalise_stroke(crop, BOX / extent))  # a new C-ordered float32 array either way
    h, w = crop.shape
    scale = BOX / max(h, w)
    out_h, out_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = resize_matrix(h, out_h) @ crop @ resize_matrix(w, out_w).T  # (oh, h) @ (h, w) @ (w, ow)
    return np.clip(centre_by_mass(small.astype(np.float32, copy=False)), 0.0, 1.0).reshape(-1)
