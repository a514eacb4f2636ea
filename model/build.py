"""An architecture's layers cut out of theta: every kernel, weight and bias a view, never a copy.

theta is laid out layer by layer, bottom to top: for each convolution its kernels W (k, k, C_in,
C_out) then its biases b (C_out,), for each dense layer W (n_in, n_out) then b (n_out,), each
row-major. ``grad`` is cut the same way, so dW and db sit where W and b sit. A convolutional
network reads its flat input as an image first and flattens the last image into the dense layers
(two ``Reshape`` layers around the convolutions and poolings).
"""

from __future__ import annotations

import math

import numpy as np

from model.architecture import Architecture, image_shapes, parse_image_layer
from model.conv import Conv2D
from model.layers import Dense, Layer, Reshape
from model.pool import MaxPool

Array = np.ndarray


class Cutter:
    """Hands out consecutive pieces of theta and grad, as views of the shapes asked for."""

    def __init__(self, theta: Array, grad: Array) -> None:
        self.theta, self.grad, self.offset = theta, grad, 0

    def cut(self, shape: tuple[int, ...]) -> tuple[Array, Array]:
        start, self.offset = self.offset, self.offset + math.prod(shape)
        # (prod(shape),) -> shape: a view of the contiguous slice, so writing one writes the other
        return (self.theta[start : self.offset].reshape(shape),
                self.grad[start : self.offset].reshape(shape))


def image_layers(arch: Architecture, pieces: Cutter) -> list[Layer]:
    """The flat input read as an image, the convolutions and poolings, and the flattening."""
    layers: list[Layer] = [Reshape((arch.sizes[0],), arch.image)]
    c_in = arch.image[2]
    shapes = image_shapes(arch.image_layers, arch.image)
    for name, (_, _, c) in zip(arch.image_layers, shapes, strict=True):
        spec = parse_image_layer(name)
        if spec is None:
            layers.append(MaxPool())
            continue
        W, dW = pieces.cut((spec.k, spec.k, c_in, c))  # (k, k, C_in, C_out)
        b, db = pieces.cut((c,))
        layers.append(Conv2D(W, b, dW, db, arch.hidden_activation, spec.padding))
        c_in = c
    layers.append(Reshape(shapes[-1], (math.prod(shapes[-1]),)))
    return layers


def build_layers(arch: Architecture, theta: Array, grad: Array) -> list[Layer]:
    """Every layer of ``arch``, bottom to top, over ``theta`` and ``grad`` (both of arch.n_params)."""
    pieces = Cutter(theta, grad)
    layers = image_layers(arch, pieces) if arch.image_layers else []
    dense = arch.dense_sizes()
    last = len(dense) - 2
    for i, (n_in, n_out) in enumerate(zip(dense[:-1], dense[1:], strict=True)):
        W, dW = pieces.cut((n_in, n_out))
        b, db = pieces.cut((n_out,))
        activation = arch.output_activation if i == last else arch.hidden_activation
        layers.append(Dense(W, b, dW, db, activation))
    assert pieces.offset == theta.size, "the layers must use every entry of theta"
    return layers
