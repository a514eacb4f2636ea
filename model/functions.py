"""The pure math of the network: activations, costs and their derivatives.

Every function works on a batch laid out in rows: ``z`` has shape ``(N, n)``, one example per row.

Activations ``a = f(z)``, applied element by element (softmax: row by row)::

    sigmoid(z)    = 1 / (1 + exp(-z))             sigmoid'(z) = a (1 - a)
    relu(z)       = max(0, z)                     relu'(z)    = 1 if z > 0 else 0
    leaky_relu(z) = z if z > 0 else alpha z       leaky'(z)   = 1 if z > 0 else alpha
    tanh(z)                                       tanh'(z)    = 1 - a^2
    softmax(z)_k  = exp(z_k) / sum_j exp(z_j)

Costs over a batch of N examples with targets ``y`` (class indices)::

    cross-entropy  C = -(1/N) sum_i log probs[i, y_i]
    squared error  C =  (1/N) sum_i 1/2 ||a_i - onehot(y_i)||^2

The functions are registered by name in ``ACTIVATIONS``, ``DERIVATIVES`` and ``COSTS`` so that a
network can be described (and saved) as plain strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

Array = np.ndarray
LEAKY_SLOPE = 0.01


def sigmoid(z: Array) -> Array:
    """sigma(z) = 1 / (1 + exp(-z)), computed without overflow for any z.

    For z >= 0 it uses 1 / (1 + exp(-z)); for z < 0 the equal form exp(z) / (1 + exp(z)), so ``exp``
    only ever sees non-positive numbers.
    """
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_derivative(z: Array, a: Array) -> Array:
    """sigma'(z) = sigma(z) (1 - sigma(z)) = a (1 - a)."""
    return a * (1.0 - a)


def relu(z: Array) -> Array:
    """relu(z) = max(0, z)."""
    return np.maximum(z, 0)


def relu_derivative(z: Array, a: Array) -> Array:
    """relu'(z) = 1 where z > 0, else 0 (we take 0 at the kink z = 0)."""
    return (z > 0).astype(z.dtype)


def leaky_relu(z: Array) -> Array:
    """leaky_relu(z) = z for z > 0, else 0.01 z: a small slope so no unit stops learning for good."""
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_derivative(z: Array, a: Array) -> Array:
    """leaky_relu'(z) = 1 where z > 0, else 0.01."""
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)


def tanh(z: Array) -> Array:
    """tanh(z) = (exp(z) - exp(-z)) / (exp(z) + exp(-z)); NumPy's ``tanh`` is already stable."""
    return np.tanh(z)


def tanh_derivative(z: Array, a: Array) -> Array:
    """tanh'(z) = 1 - tanh(z)^2 = 1 - a^2."""
    return 1.0 - a * a


def softmax(z: Array) -> Array:
    """softmax(z)_k = exp(z_k - m) / sum_j exp(z_j - m), with m the row's largest logit.

    Subtracting m changes nothing mathematically (it cancels in the ratio) but keeps every ``exp``
    argument <= 0, so logits of +-1000 neither overflow nor give NaN.

    Parameters
    ----------
    z : (N, K) logits.

    Returns
    -------
    probs : (N, K), each row non-negative and summing to 1.
    """
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(z: Array) -> Array:
    """log softmax(z)_k = (z_k - m) - log sum_j exp(z_j - m): the log-probabilities, never log(0)."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_jacobian_vector(z: Array, a: Array, grad_a: Array) -> Array:
    """Backpropagate through softmax alone: dz = a * (grad_a - sum_k grad_a_k a_k), row by row.

    This is the Jacobian d softmax / dz = diag(a) - a a^T applied to ``grad_a`` without building it.
    With cross-entropy the two fuse into ``probs - onehot(y)`` (see ``cross_entropy_delta``).
    """
    return a * (grad_a - (grad_a * a).sum(axis=1, keepdims=True))


class Activation(NamedTuple):
    """An activation function with its derivative. ``derivative(z, a)`` is f'(z), given a = f(z)."""

    forward: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(sigmoid, sigmoid_derivative),
    "relu": Activation(relu, relu_derivative),
    "leaky_relu": Activation(leaky_relu, leaky_relu_derivative),
    "tanh": Activation(tanh, tanh_derivative),
    # softmax couples a row's units: its backward step is a Jacobian-vector product, not f'(z) * g.
    "softmax": Activation(softmax, None),
}


def cross_entropy(z: Array, y: Array) -> float:
    """C = -(1/N) sum_i log softmax(z_i)[y_i], from the logits through log-probabilities.

    Parameters
    ----------
    z : (N, K) logits of the output layer (before softmax).
    y : (N,) integer class labels in [0, K).
    """
    log_probs = log_softmax(z)
    return float(-log_probs[np.arange(len(y)), y].mean())


def cross_entropy_delta(probs: Array, y: Array) -> Array:
    """dC/dz for softmax followed by cross-entropy: (probs - onehot(y)) / N.

    The softmax Jacobian and the derivative of -log cancel to this simple difference, so the fused
    output layer never forms a Jacobian or a one-hot matrix.
    """
    dz = probs.copy()
    dz[np.arange(len(y)), y] -= 1.0
    dz /= len(y)
    return dz


def mean_squared_error(a: Array, y: Array) -> float:
    """C = (1/N) sum_i 1/2 ||a_i - onehot(y_i)||^2 for outputs ``a`` of shape (N, K)."""
    diff = a.copy()
    diff[np.arange(len(y)), y] -= 1.0
    return float(0.5 * (diff * diff).sum() / len(y))


def mean_squared_error_gradient(a: Array, y: Array) -> Array:
    """dC/da = (a - onehot(y)) / N."""
    grad = a.copy()
    grad[np.arange(len(y)), y] -= 1.0
    grad /= len(y)
    return grad


class Cost(NamedTuple):
    """A cost C(output, y) and its gradient with respect to the output activations."""

    value: Callable[[Array, Array], float]
    gradient: Callable[[Array, Array], Array]


COSTS: dict[str, Cost] = {
    "mse": Cost(mean_squared_error, mean_squared_error_gradient),
}
# Cross-entropy is not in COSTS: it is always fused with a softmax output and computed from the
# logits (``cross_entropy``, ``cross_entropy_delta``). The network handles that pairing itself.
COST_NAMES = ("cross_entropy", "mse")
