"""A network of layers whose parameters all live in one vector theta.

The network's shape (sizes, activations, cost) is an ``Architecture`` (architecture.py). Forward
propagation runs its layers one after another on a batch ``x`` of shape (N, n_in): each computes
``z`` and ``a = f(z)`` (a dense layer ``z = x W + b``), and its ``a`` is the next layer's ``x``.
layers.py (``Dense``) states a layer's equations with their shapes, and the row layout against the
textbooks' column notation. A convolutional network reads x as images first (``Reshape`` to
(N, H, W, C)), runs its convolutions (conv.py) and poolings (pool.py), and flattens their output
into the dense layers.

Backpropagation applies the chain rule from the cost back to every parameter. It starts at the
output layer with the cost's delta ``dz = dC/dz`` (for softmax + cross-entropy
``(probs - onehot(y)) / N``), then for each layer, last to first: the layer's backward step
(dW, db and dx, layers.py), then the activation of the layer below turns that dx into its dz::

    dz_prev = f_prev.backward(z, a, dx)   = dx * f'(z_prev) for element-wise activations

theta is laid out layer by layer as W1, b1, W2, b2, ... (build.py; each W row-major, a kernel
(k, k, C_in, C_out)); every layer's W and b are views into it, and dW, db are views into the
matching vector ``grad``. An optimiser therefore updates the whole network in one vectorised step on
theta.

The same backward steps, started from the log-probability of one class k instead of the cost and
carried on to ``dx``, give d log p_k / dx (``Network.input_gradient``): how each input pixel pushes
the network towards k or away from it. docs/math.md, section 14.
"""

from __future__ import annotations

import math
import sys
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from model.architecture import Architecture
from model.build import build_layers
from model.conv import CHUNK_NUMBERS, Conv2D
from model.functions import COSTS
from model.layers import Dense

Array = np.ndarray
# at most this many numbers in a convolution's patch matrix per forward pass: 64 MB in float32
PATCH_NUMBERS = 2**24


class InputGradient(NamedTuple):
    """One forward and one backward pass from log p_k to the input (``Network.input_gradient``)."""

    dx: Array  # (N, n_in): d log p_k / dx
    # every layer's activations, the first hidden layer's to the output's: (N, n_l), or images
    # (N, H, W, C) in a convolutional network, whose first is the input read as an image
    a: list[Array]
    da: list[Array]  # d log p_k / da of every layer but the output, first to last, shaped as a
    z: Array  # (N, K): the output layer's pre-activations (the logits before softmax)
    k: Array  # (N,): the class explained in each row


class Network:
    """A stack of layers over one parameter vector ``theta`` (and one gradient ``grad``).

    Parameters
    ----------
    arch : the layer sizes, activations and cost.
    dtype : float32 for training speed, float64 for gradient checks.
    theta : optional initial parameters of length ``arch.n_params`` (copied).
    """

    def __init__(
        self, arch: Architecture, dtype: DTypeLike = np.float32, theta: Array | None = None
    ) -> None:
        self.arch = arch
        self.dtype = np.dtype(dtype)
        self.theta = np.zeros(arch.n_params, dtype=self.dtype)
        self.grad = np.zeros_like(self.theta)
        if theta is not None:
            if theta.shape != self.theta.shape:
                raise ValueError(f"theta has shape {theta.shape}, expected {self.theta.shape}")
            self.theta[:] = theta
        self.cost = COSTS[arch.cost]
        # each a layers.Layer (build.py); typed Any so that callers may reach a Dense layer's W
        self.layers: list[Any] = build_layers(arch, self.theta, self.grad)
        # the layers with weights, bottom to top: what initialisation and L2 reach
        self.weighted: list[Dense | Conv2D] = [
            layer for layer in self.layers if isinstance(layer, Dense | Conv2D)
        ]
        # backpropagation stops at the first weights: nobody needs dC/dx below them
        self.first_weighted = self.layers.index(self.weighted[0])
        per_row = arch.patch_numbers()
        self._rows_per_pass = max(1, PATCH_NUMBERS // per_row) if per_row else sys.maxsize
        self._rows_per_step = max(1, CHUNK_NUMBERS // per_row) if per_row else sys.maxsize

    def initialize(self, rng: np.random.Generator) -> None:
        """Fill theta in place: biases 0; W ~ N(0, 2/n_in) (He) before ReLU-like units, else
        N(0, 2/(n_in + n_out)) (Xavier/Glorot), so activations keep their scale through depth.
        A convolution's n_in is k k C_in (the numbers each output reads), its n_out C_out."""
        for layer in self.weighted:
            n_in, n_out = math.prod(layer.W.shape[:-1]), layer.W.shape[-1]  # a kernel: k k C_in, C_out
            if layer.activation in ("relu", "leaky_relu"):
                std = np.sqrt(2.0 / n_in)
            else:
                std = np.sqrt(2.0 / (n_in + n_out))
            layer.W[...] = rng.standard_normal(layer.W.shape) * std
            layer.b[...] = 0.0

    def forward(self, x: Array) -> Array:
        """Forward propagation; returns the output activations (probabilities for softmax)."""
        a = x
        for layer in self.layers:
            a = layer.forward(a)
        return a

    def rows_per_pass(self) -> int:
        """How many examples one forward pass may take: as many as fit PATCH_NUMBERS in the largest
        patch matrix of a convolution (10,000 digits at once would copy 784 million numbers, 3 GB,
        in conv-small); a dense network has no limit."""
        return self._rows_per_pass

    def rows_per_step(self) -> int:
        """How many examples ``outputs`` (a prediction) takes at a time: as many as fit conv.py's
        CHUNK_NUMBERS (a few megabytes, the CPU's cache) in the largest patch matrix of a
        convolution; a dense network has no limit."""
        return self._rows_per_step

    def outputs(self, x: Array) -> tuple[Array, Array]:
        """The output layer's (z, a) for a batch x of shape (N, n_in), in the network's dtype: a is
        the probabilities (N, K) for softmax, z the logits.

        Forward propagation that keeps nothing for backpropagation (``step``), so several threads may
        ask the same network at once (the server does). A convolutional network takes the batch a
        few examples at a time, as a training step does (conv.py: ``CHUNK_NUMBERS``, 13 examples for
        conv-small, 6 for the shipped conv network): each run's patches are still in the CPU's cache
        when they are multiplied, and a long batch needs no matrix of hundreds of megabytes. Faster
        than the whole batch at once: docs/performance.md, "Serving the conv network".
        """
        a = np.asarray(x, dtype=self.dtype)
        rows = self.rows_per_step()
        if len(a) > rows:
            parts = [self.outputs(a[i : i + rows]) for i in range(0, len(a), rows)]
            return np.concatenate([z for z, _ in parts]), np.concatenate([p for _, p in parts])
        z = a
        for layer in self.layers:
            z, a = layer.step(a)
        return z, a

    def predict_proba(self, x: Array) -> Array:
        """Probabilities (N, K) for a batch x of shape (N, n_in): ``outputs``' a."""
        return self.outputs(x)[1]

    def input_gradient(self, x: Array, k: int | Array | None = None) -> InputGradient:
        """Backpropagation to the input: d log p_k / dx for each row of x, and what it passed by.

        ``p = a / sum(a)`` are the output's probabilities (softmax's ``a`` sums to 1 already). The
        backward pass starts at the output with ``dz = d log p_k / dz``::

            softmax   dz = onehot(k) - probs     (section 6's fused step, for log p_k itself)
            others    dz = f.backward(z, a, onehot(k) / a_k - 1 / sum(a))

        then goes as in ``loss_and_gradient``, last layer to first, keeping dx and making no dW, db::

            dx = dz W^T;   dz_prev = f_prev.backward(z_prev, a_prev, dx)

        Every array is local: theta, grad and the layers' caches are only read, so several threads
        may explain with the same network while others predict (the server does).

        Parameters
        ----------
        x : (N, n_in) inputs. k : the class to explain, one for all rows or (N,) one per row;
        None: the class each row is read as (its largest output).
        """
        n_out = self.arch.sizes[-1]
        if k is not None and np.any((np.asarray(k) < 0) | (np.asarray(k) >= n_out)):
            raise ValueError(f"the class must be in 0..{n_out - 1}, got {k}")
        a = x_in = np.asarray(x, dtype=self.dtype)
        z_list, a_list = [], []
        for layer in self.layers:
            z, a = layer.step(a)
            z_list.append(z)
            a_list.append(a)
        k = a.argmax(axis=1) if k is None else k
        rows, out = np.arange(len(a)), self.layers[-1]
        if out.activation == "softmax":
            dz = -a  # (N, K)
            dz[rows, k] = 0.0
            # 1 - p_k as the sum of the other probabilities: 1 - 0.9999999 in float32 is mostly rounding
            dz[rows, k] = -dz.sum(axis=1)
        else:
            da = np.broadcast_to(-1.0 / a.sum(axis=1, keepdims=True), a.shape).copy()  # (N, K)
            da[rows, k] += 1.0 / a[rows, k]
            dz = out.f.backward(z, a, da)
        da_list = []
        for i in range(len(self.layers) - 1, 0, -1):
            da = self.layers[i].input_grad(dz, a_list[i - 1])  # d log p_k / d a of layer i - 1
            da_list.append(da)
            dz = self.layers[i - 1].f.backward(z_list[i - 1], a_list[i - 1], da)
        k = np.broadcast_to(k, rows.shape)
        dx = self.layers[0].input_grad(dz, x_in)
        return InputGradient(dx, a_list, da_list[::-1], z_list[-1], k)

    def loss_and_probs(self, x: Array, y: Array, l2: float = 0.0) -> tuple[float, Array]:
        """Forward propagation, then the cost on (x, y) plus (l2 / 2) * sum of squared weights.

        Returns
        -------
        (loss, probs) with probs the output activations, shape (N, K).
        """
        out = self.layers[-1]
        if self.arch.cost != "cross_entropy":
            probs = self.forward(x)
            assert out.z is not None
            return self.cost.value(out.z, probs, y) + self._penalty(l2), probs
        a = x
        for layer in self.layers[:-1]:
            a = layer.forward(a)
        # cross-entropy implies a softmax output (Architecture checks): the two share log_softmax(z)
        loss, probs = out.forward_cross_entropy(a, y)
        return loss + self._penalty(l2), probs

    def loss(self, x: Array, y: Array, l2: float = 0.0) -> float:
        """The cost on (x, y) plus the weight-decay term (l2 / 2) * sum of squared weights."""
        return self.loss_and_probs(x, y, l2)[0]

    def _penalty(self, l2: float) -> float:
        if l2 == 0.0:
            return 0.0
        return 0.5 * l2 * sum(float(np.vdot(layer.W, layer.W)) for layer in self.weighted)

    def loss_and_gradient(self, x: Array, y: Array, l2: float = 0.0) -> tuple[float, Array]:
        """Forward, cost and backpropagation: fills ``self.grad`` with dC/dtheta.

        Parameters
        ----------
        x : (N, n_in) inputs. y : (N,) integer labels. l2 : weight-decay strength.

        Returns
        -------
        (loss, probs) with probs of shape (N, K). The gradient is in ``self.grad``.
        """
        loss, probs = self.loss_and_probs(x, y, l2)
        out = self.layers[-1]
        assert out.z is not None
        dz = self.cost.delta(out.z, probs, y, out.f)  # (N, K): where backpropagation starts
        first = self.first_weighted
        for i in range(len(self.layers) - 1, first, -1):
            dx = self.layers[i].backward(dz)
            assert dx is not None
            dz = self.layers[i - 1].activation_backward(dx)
        self.layers[first].backward(dz, need_input_grad=False)  # nobody needs dC/dpixels
        if l2:
            for layer in self.weighted:
                layer.dW += l2 * layer.W
        return loss, probs
