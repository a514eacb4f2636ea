"""The shape of a network as plain values: its layers, activations and cost.

A dense network of sizes (n_0, n_1, ..., n_L) has L dense layers; layer l maps n_(l-1) inputs to n_l
units with a weight matrix W_l of shape (n_(l-1), n_l) and a bias b_l of shape (n_l,).

A convolutional network puts image layers first (``image_layers``): the input, n_0 = H W C numbers,
is read as an image (H, W, C), goes through the convolutions and poolings, and is flattened into the
first dense layer. Layers are named as the command line and the forms spell them::

    conv<k>x<k>x<C_out>         k x k kernels, C_out channels out, "same" padding (k odd): H' = H
    conv<k>x<k>x<C_out>-valid   the same without padding: H' = H - k + 1
    pool                        2x2 max pooling, stride 2 (H and W even): H' = H / 2
    dense<n>                    a dense layer of n units (the last one is the output)

e.g. ``conv5x5x16, pool, conv5x5x32, pool, dense128, dense10``; ``names.LAYER_PRESETS`` names a few.
A convolution holds k k C_in C_out kernel weights and C_out biases. theta holds every layer's, so::

    n_params = sum over convolutions of k k C_in C_out + C_out + sum over dense layers of n_in n_out + n_out

The names are checked against the registries of ``functions`` on construction, so an
``Architecture`` that exists can be built into a ``network.Network`` and saved as plain strings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.functions import ACTIVATIONS, COSTS, HIDDEN_ACTIVATIONS
from model.names import LAYER_FORMS, LAYER_PRESETS

MNIST_IMAGE = (28, 28, 1)  # (H, W, C) of a digit
CONV = re.compile(r"conv(\d+)x(\d+)x(\d+)(-valid)?")
DENSE = re.compile(r"dense(\d+)")


@dataclass(frozen=True)
class ConvSpec:
    """One convolution as named: k x k kernels, ``channels`` out, "same" or "valid" padding."""

    k: int
    channels: int
    padding: str


def parse_image_layer(name: str) -> ConvSpec | None:
    """A conv layer's ``ConvSpec``, or None for "pool"; ValueError for anything else."""
    if name == "pool":
        return None
    match = CONV.fullmatch(name)
    if match is None:
        raise ValueError(f"unknown image layer {name!r}: expected {LAYER_FORMS}")
    k, k2, channels = (int(g) for g in match.groups()[:3])
    padding = "valid" if match.group(4) else "same"
    if k != k2:
        raise ValueError(f"{name}: kernels are square, k x k")
    if k < 1 or channels < 1:
        raise ValueError(f"{name}: the kernel size and the channels must be >= 1")
    if padding == "same" and k % 2 == 0:
        raise ValueError(f"{name}: same padding needs an odd kernel size (or write {name}-valid)")
    return ConvSpec(k, channels, padding)


def image_shapes(layers: Sequence[str], image: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """The image (H, W, C) after each of ``layers``, starting from ``image``; ValueError if a layer
    does not fit the image it gets."""
    shapes, (h, w, c) = [], image
    for i, name in enumerate(layers, start=1):
        spec = parse_image_layer(name)
        if spec is None:
            if h % 2 or w % 2:
                raise ValueError(f"pool (layer {i}) halves an even height and width, it gets {h}x{w}")
            h, w = h // 2, w // 2
        else:
            if spec.padding == "valid" and min(h, w) < spec.k:
                raise ValueError(f"{name} (layer {i}) needs an image of at least {spec.k}x{spec.k}, "
                                 f"it gets {h}x{w}")
            shrink = spec.k - 1 if spec.padding == "valid" else 0
            h, w, c = h - shrink, w - shrink, spec.channels
        shapes.append((h, w, c))
    return shapes


@dataclass(frozen=True)
class Architecture:
    """The shape of a network: layer sizes, activations and cost, all as plain values.

    ``sizes`` counts units from the input to the output, e.g. (784, 128, 10) is one hidden layer of
    128 units. ``image_layers`` (empty: a dense network) are the convolutions and poolings that read
    the input as an ``image`` (H, W, C), H W C = sizes[0], before the dense layers sizes[1:].
    ``cross_entropy`` requires a softmax output: its delta is the fused ``(probs - onehot(y)) / N``,
    which holds for softmax alone. Convolutions use the hidden activation.
    """

    sizes: tuple[int, ...]
    hidden_activation: str = "relu"
    output_activation: str = "softmax"
    cost: str = "cross_entropy"
    image_layers: tuple[str, ...] = ()
    image: tuple[int, int, int] = MNIST_IMAGE

    def __post_init__(self) -> None:
        sizes = tuple(self.sizes)
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "image_layers", tuple(self.image_layers))
        object.__setattr__(self, "image", tuple(self.image))
        if len(sizes) < 2:
            raise ValueError(f"a network needs at least an input and an output size, got {sizes}")
        if any(not isinstance(s, int | np.integer) or s < 1 for s in sizes):
            raise ValueError(f"layer sizes must be positive integers, got {sizes}")
        if self.hidden_activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"hidden activation must be one of {list(HIDDEN_ACTIVATIONS)}, "
                f"got {self.hidden_activation!r}"
            )
        if self.output_activation not in ACTIVATIONS:
            raise ValueError(
                f"output activation must be one of {list(ACTIVATIONS)}, "
                f"got {self.output_activation!r}"
            )
        if self.cost not in COSTS:
            raise ValueError(f"cost must be one of {list(COSTS)}, got {self.cost!r}")
        if self.cost == "cross_entropy" and self.output_activation != "softmax":
            raise ValueError("cross_entropy needs a softmax output layer (its delta is probs - onehot(y))")
        if self.image_layers:
            self._check_image()

    def _check_image(self) -> None:
        if len(self.image) != 3 or any(not isinstance(s, int | np.integer) or s < 1 for s in self.image):
            raise ValueError(f"the image must be (height, width, channels), got {self.image}")
        if math.prod(self.image) != self.sizes[0]:
            raise ValueError(f"an image of {self.image} holds {math.prod(self.image)} numbers, "
                             f"not the {self.sizes[0]} inputs")
        image_shapes(self.image_layers, self.image)

    @classmethod
    def from_layers(cls, layers: Sequence[str], image: tuple[int, int, int] = MNIST_IMAGE,
                    **names: str) -> Architecture:
        """The architecture of an explicit layer list, e.g. ["conv5x5x16", "pool", "dense10"].

        ``names`` are the activations and cost, as the fields. Image layers come first, then one or
        more dense layers, the last of them the output.
        """
        layers = list(layers)
        first_dense = next((i for i, name in enumerate(layers) if name.startswith("dense")), None)
        if first_dense is None:
            raise ValueError(f"a network ends with dense layers (the last is the output), got {layers}")
        sizes = []
        for name in layers[first_dense:]:
            match = DENSE.fullmatch(name)
            if match is None:
                raise ValueError(f"{name!r} where a dense layer is due: conv and pool layers come "
                                 f"first, then dense<units> layers")
            sizes.append(int(match.group(1)))
        return cls((math.prod(image), *sizes), image_layers=tuple(layers[:first_dense]), image=image,
                   **names)

    def layers(self) -> list[str]:
        """The layer list ``from_layers`` reads, e.g. ["conv5x5x16", "pool", "dense128", "dense10"]."""
        return [*self.image_layers, *(f"dense{n}" for n in self.sizes[1:])]

    def dense_sizes(self) -> tuple[int, ...]:
        """The dense layers' sizes from their input: sizes, with the flattened image first."""
        if not self.image_layers:
            return self.sizes
        return (math.prod(image_shapes(self.image_layers, self.image)[-1]), *self.sizes[1:])

    def patch_numbers(self) -> int:
        """The most numbers a convolution copies into its patch matrix for one example: H' W' k k C_in
        (78,400 for conv-small's second layer); 0 for a dense network."""
        most, c_in = 0, self.image[2]
        for name, (h, w, c) in zip(self.image_layers, image_shapes(self.image_layers, self.image),
                                   strict=True):
            spec = parse_image_layer(name)
            if spec is not None:
                most = max(most, h * w * spec.k * spec.k * c_in)
            c_in = c
        return most

    def multiply_adds(self) -> int:
        """Multiply-adds of one forward pass for one example: n_in n_out a dense layer, H' W' k k C_in
        C_out a convolution (its output's every number is a k x k x C_in dot product); pooling none."""
        dense = self.dense_sizes()
        total = sum(i * o for i, o in zip(dense[:-1], dense[1:], strict=True))
        c_in = self.image[2]
        for name, (h, w, c) in zip(self.image_layers, image_shapes(self.image_layers, self.image),
                                   strict=True):
            spec = parse_image_layer(name)
            if spec is not None:
                total += h * w * spec.k * spec.k * c_in * c
            c_in = c
        return total

    @property
    def n_params(self) -> int:
        """Number of entries of theta: every kernel, weight and bias."""
        dense = self.dense_sizes()
        total = sum(i * o + o for i, o in zip(dense[:-1], dense[1:], strict=True))
        c_in = self.image[2]
        for name, (_, _, c) in zip(self.image_layers, image_shapes(self.image_layers, self.image),
                                   strict=True):
            spec = parse_image_layer(name)
            if spec is not None:
                total += spec.k * spec.k * c_in * c + c
            c_in = c
        return total

    def to_dict(self) -> dict[str, object]:
        """Plain values for a model file; a dense network's are the keys it always had."""
        d: dict[str, object] = {
            "sizes": list(self.sizes),
            "hidden_activation": self.hidden_activation,
            "output_activation": self.output_activation,
            "cost": self.cost,
        }
        if self.image_layers:
            d["image_layers"] = list(self.image_layers)
            d["image"] = list(self.image)
        return d


def layer_list(text: str) -> tuple[str, ...]:
    """A preset's layers by its name (``LAYER_PRESETS``), or a list written "conv5x5x16, pool, dense10"."""
    if text in LAYER_PRESETS:
        return LAYER_PRESETS[text]
    layers = tuple(part for part in re.split(r"[\s,]+", text.strip()) if part)
    if not layers:
        raise ValueError(f"name a preset ({', '.join(LAYER_PRESETS)}) or list the layers: {LAYER_FORMS}")
    return layers
