"""Why the network read what it read: one backward pass to the input, as numbers and pictures.

For a drawing and a class k (the digit read, unless another is asked for), ``Network.input_gradient``
gives, in one forward and one backward pass:

- the *saliency* ``d log p_k / dx``, one number per input pixel: where it is positive, a little more
  ink on that pixel would make k more likely; negative, less likely; near 0, the pixel hardly
  matters. Pictured blue, red and white.
- each hidden layer's activations, and the logits.
- the first hidden layer's units that contribute most to k::

      contribution_j = a_j * d log p_k / d a_j

  the first-order change of log p_k if unit j fell silent (a_j -> 0), with the sign flipped: how
  much of log p_k that unit's firing holds up. Each comes with its incoming weights ``W[:, j]`` as a
  28x28 picture (blue where ink excites the unit, red where it inhibits it).
- for a convolutional network, whose first layer reads patches rather than the 784 pixels, the
  first convolution's feature maps instead: channel c's activations ``a[:, :, c]``, one small
  picture each, showing where in the drawing its kernel found what it looks for.

Nothing here writes to the network (``input_gradient`` works on local arrays), so explanations may
run beside predictions on the same model. docs/math.md, section 14.
"""

from __future__ import annotations

import base64
import struct
import weakref
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from app.reading.images import preprocess
from app.reading.predictor import PNG_END, PNG_SIGNATURE, Prediction, Predictor, pixel_vectors, png_chunk
from app.reading.work import check_deadline
from model.conv import Conv2D
from model.layers import Dense
from model.network import Network

TOP_UNITS = 6  # units shown for an answer: a row of pictures a learner can take in at a glance
DECIMALS = 4  # activations are rounded: 4 decimals tell the cells apart, in a third of the bytes
LEVELS = 32  # shades of each colour in the pictures, 2 * 32 + 1 in all: a smaller palette to send
# a unit's picture depends on the weights alone: made once per network (a new model is a new network)
_UNIT_PICTURES: weakref.WeakKeyDictionary[Network, dict[int, str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Layer:
    size: int
    activations: list[float]


@dataclass(frozen=True)
class Saliency:
    digit: int
    gradient: list[float]
    image: str


@dataclass(frozen=True)
class Unit:
    index: int
    activation: float
    contribution: float
    weights: str


@dataclass(frozen=True)
class FeatureMap:
    channel: int
    peak: float
    image: str


@dataclass(frozen=True)
class Explanation(Prediction):
    """A ``Prediction`` and why: all None for a blank drawing (nothing was read, nothing to explain)."""

    logits: list[float] | None = None
    layers: list[Layer] | None = None
    saliency: Saliency | None = None
    units: list[Unit] | None = None
    feature_maps: list[FeatureMap] | None = None


def explain_images(predictor: Predictor, images: list[bytes] | list[Image.Image],
                   digit: int | None = None) -> list[Explanation]:
    """Decode and preprocess each image as ``predict_images`` does, then explain them in one batch."""
    vectors = []
    for data in images:
        check_deadline()  # past the request's deadline: stop (app/reading/work.py)
        vectors.append(preprocess(data))
    return explain_vectors(predictor, vectors, digit)


def explain_pixels(predictor: Predictor, rows: list[list[float]],
                   digit: int | None = None) -> list[Explanation]:
    """Rows of 784 MNIST-form numbers, explained with x exactly these numbers (in the network's dtype)."""
    return explain_vectors(predictor, pixel_vectors(rows), digit)


def explain_vectors(predictor: Predictor, vectors: list[np.ndarray | None],
                    digit: int | None = None) -> list[Explanation]:
    """(784,) inputs (None: blank) -> answers as ``predict_vectors`` gives, each with its explanation
    of ``digit`` (None: of the digit read)."""
    inked = [v for v in vectors if v is not None]
    if not inked:
        nothing = np.empty((0, 10))
        return [Explanation(**vars(p)) for p in predictor.answers(vectors, nothing, nothing)]
    network = predictor.network
    result = network.input_gradient(np.stack(inked), digit)  # probs are a[-1]: the same forward pass
    # a convolutional network's first layer reads patches, not the 784 pixels: its units have no
    # 28x28 picture (the saliency, d log p / dx, is the same math through every kind of layer)
    reads_pixels = isinstance(network.layers[0], Dense)
    first_conv = next((i for i, layer in enumerate(network.layers) if isinstance(layer, Conv2D)), None)
    predictions = iter(predictor.answers(vectors, result.a[-1], result.z))
    explained, i = [], 0
    for v in vectors:
        prediction = next(predictions)
        if v is None:
            explained.append(Explanation(**vars(prediction)))
            continue
        units: list[Unit] = []
        if result.da and reads_pixels:  # units whose weights are a picture: a first dense layer's
            a1 = result.a[0][i].astype(np.float64)
            contribution = a1 * result.da[0][i]  # (n_1,)
            top = np.argsort(-contribution, kind="stable")[:TOP_UNITS].tolist()
            units = [Unit(j, round(float(a1[j]), DECIMALS), float(contribution[j]),
                          unit_picture(network, j)) for j in top]
        k = int(result.k[i])
        explained.append(Explanation(
            **vars(prediction), logits=result.z[i].tolist(),
            layers=[Layer(a.shape[1], np.round(a[i].astype(np.float64), DECIMALS).tolist())
                    for layer, a in zip(network.layers, result.a[:-1], strict=False)
                    if isinstance(layer, Dense)],  # the dense layers' units; feature maps are not listed
            saliency=Saliency(k, result.dx[i].tolist(), signed_png(result.dx[i])), units=units,
            feature_maps=[] if first_conv is None else feature_maps(result.a[first_conv][i]),
        ))
        i += 1
    return explained


def feature_maps(a: np.ndarray) -> list[FeatureMap]:
    """A convolution's activations for one drawing, (H', W', C_out) -> one ``FeatureMap`` a channel:
    ``a[:, :, c]`` as an H' x W' ``signed_png``, each scaled by its own peak (its largest magnitude),
    which is given beside it so that maps can still be compared."""
    return [FeatureMap(c, round(float(np.abs(a[:, :, c]).max()), DECIMALS), signed_png(a[:, :, c]))
            for c in range(a.shape[2])]


def unit_picture(network: Network, j: int) -> str:
    """Unit j of the first hidden layer: its incoming weights ``W[:, j]`` as a 28x28 ``signed_png``."""
    pictures = _UNIT_PICTURES.get(network)
    if pictures is None:
        pictures = _UNIT_PICTURES.setdefault(network, {})
    if j not in pictures:  # two threads may both make it: the same picture
        pictures[j] = signed_png(network.layers[0].W[:, j])  # (784,): column j of (784, n_1)
    return pictures[j]


def signed_png(values: np.ndarray) -> str:
    """Signed numbers -> a PNG data URL: blue for positive, red for negative, white for 0, each scaled
    by the largest magnitude (the picture shows where, not how much). 784 numbers make a 28x28
    picture; an (H, W) array, an H x W one.

    Written by hand as ``input_png`` is: one byte a pixel indexing a fixed palette of 65 colours
    (PNG colour type 3), stored without compression (docs/performance.md, Explaining).
    """
    peak = float(np.abs(values).max())
    scaled = values / peak if peak > 0 else np.zeros_like(values)
    h, w = values.shape if values.ndim == 2 else (28, 28)
    rows = np.zeros((h, 1 + w), dtype=np.uint8)  # filter byte 0, then w palette indices
    rows[:, 1:] = np.rint(scaled.reshape(h, w) * LEVELS + LEVELS).astype(np.uint8)
    deflate = zlib.compressobj(0, zlib.DEFLATED, 10, 1)
    idat = deflate.compress(rows.tobytes()) + deflate.flush()
    header = PALETTE_HEADER if (h, w) == (28, 28) else palette_header(h, w)
    png = PNG_SIGNATURE + header + png_chunk(b"IDAT", idat) + PNG_END
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _palette() -> bytes:
    """Index LEVELS is white; above it shades towards blue (#2166ac), below it towards red (#b2182b)."""
    index = np.arange(2 * LEVELS + 1)[:, None]
    t = np.abs(index - LEVELS) / LEVELS  # (65, 1): 0 at white, 1 at either end
    end = np.where(index > LEVELS, [0x21, 0x66, 0xAC], [0xB2, 0x18, 0x2B])
    return np.rint(255 + t * (end - 255)).astype(np.uint8).tobytes()  # 65 RGB triples


def palette_header(h: int, w: int) -> bytes:
    """A PNG's IHDR (w x h, 8-bit palette indices) and PLTE chunks."""
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)) + png_chunk(b"PLTE", _palette())


PALETTE_HEADER = palette_header(28, 28)
