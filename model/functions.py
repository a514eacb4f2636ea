"""The pure math of the network: activations, costs and their derivatives.

Every function works on a batch laid out in rows: ``z`` has shape ``(N, n)``, one example per row.

Activations ``a = f(z)``, applied element by element (softmax: row by row)::

    sigmoid(z)    = 1 / (1 + exp(-z))             sigmoid'(z) = a (1 - a)
    relu(z)       = max(0, z)                     relu'(z)    = 1 if z > 0 else 0
    leaky_relu(z) = z if z > 0 else alpha z       leaky'(z)   = 1 if z > 0 else alpha
    tanh(z)                                       tanh'(z)    = 1 - a^2
    softmax(z)_k  = exp(z_k) / sum_j exp(z_j)     (its Jacobian: diag(a) - a a^T)

Each activation also knows its backward step ``dz = dC/dz`` from ``da = dC/da``: ``da * f'(z)``
for the element-wise ones, a Jacobian-vector product for softmax.

Costs over a batch of N examples with targets ``y`` (class indices)::

    cross-entropy  C = -(1/N) sum_i log probs[i, y_i]          dC/dz = (probs - onehot(y)) / N
    squared error  C =  (1/N) sum_i 1/2 ||a_i - onehot(y_i)||^2  dC/da = (a - onehot(y)) / N

Each cost gives its value and its *output delta* dC/dz of the last layer (Nielsen's
``delta(z, a, y)``), which is where backpropagation starts.

Activations are registered by name in ``ACTIVATIONS`` (``HIDDEN_ACTIVATIONS`` names those a hidden
layer may use) and costs in ``COSTS``, keyed by the names of ``names``, so that a network can be
described (and saved) as plain strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

# those a hidden layer may use: all but softmax, which makes a row of probabilities (an output)
from model.names import HIDDEN_ACTIVATIONS as HIDDEN_ACTIVATIONS

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


def log_softmax(z: Array) -> Array:
    """log softmax(z)_k = (z_k - m) - log sum_j exp(z_j - m): the log-probabilities, never log(0).

    m is the row's largest logit. Subtracting it changes nothing mathematically (exp(-m) cancels
    between numerator and denominator) but keeps every ``exp`` argument <= 0, so logits of +-1000
    neither overflow nor give NaN, and the sum is at least 1, so its log is finite.
    """
    shifted = z - z.max(axis=1, keepdims=True)  # (N, K) - (N, 1): each row less its largest logit
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, K) - (N, 1)


def softmax(z: Array) -> Array:
    """softmax(z) = exp(z - logsumexp(z)) = exp(log_softmax(z)), row by row.

    This is exp(z_k) / sum_j exp(z_j) computed through the log-probabilities, so the probabilities
    the network reports and the log-probabilities the cross-entropy reads are the same numbers.

    Parameters
    ----------
    z : (N, K) logits.

    Returns
    -------
    probs : (N, K), each row non-negative and summing to 1.
    """
    return np.exp(log_softmax(z))


def softmax_jacobian_vector(z: Array, a: Array, da: Array) -> Array:
    """Backpropagate through softmax alone: dz = a * (da - sum_k da_k a_k), row by row.

    This is the Jacobian d softmax / dz = diag(a) - a a^T applied to ``da`` without building it.
    With cross-entropy the two fuse into ``probs - onehot(y)`` (see ``cross_entropy_delta``).
    """
    return a * (da - (da * a).sum(axis=1, keepdims=True))


Derivative = Callable[[Array, Array], Array]
Backward = Callable[[Array, Array, Array], Array]


def elementwise_backward(derivative: Derivative) -> Backward:
    """The chain rule through an element-wise activation: dz = da * f'(z).

    ``derivative(z, a)`` is f'(z) given a = f(z); the returned ``backward(z, a, da)`` is dC/dz.
    """

    def backward(z: Array, a: Array, da: Array) -> Array:
        return da * derivative(z, a)

    return backward


class Activation(NamedTuple):
    """An activation ``a = forward(z)`` and its backward step ``dz = backward(z, a, da)``."""

    forward: Callable[[Array], Array]
    backward: Backward


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(sigmoid, elementwise_backward(sigmoid_derivative)),
    "relu": Activation(relu, elementwise_backward(relu_derivative)),
    "leaky_relu": Activation(leaky_relu, elementwise_backward(leaky_relu_derivative)),
    "tanh": Activation(tanh, elementwise_backward(tanh_derivative)),
    # softmax couples a row's units: its backward step is a Jacobian-vector product, not f'(z) * da.
    "softmax": Activation(softmax, softmax_jacobian_vector),
}
# a = z, dz = da: the "activation" of layers that have none (pooling, reshape); not a user's choice,
# so not registered.
IDENTITY = Activation(lambda z: z, lambda z, a, da: da)


def cross_entropy(z: Array, a: Array, y: Array) -> float:
    """C = -(1/N) sum_i log softmax(z_i)[y_i], from the logits through log-probabilities.

    Reading log-probabilities rather than ``log(a)`` keeps C finite where a probability underflows
    to 0. ``a`` (the softmax output) is not needed; it is a parameter so that every cost has the
    same signature.

    Parameters
    ----------
    z : (N, K) logits of the output layer (before softmax).
    a : (N, K) the softmax output (unused).
    y : (N,) integer class labels in [0, K).
    """
    log_probs = log_softmax(z)
    return float(-log_probs[np.arange(len(y)), y].mean())


def cross_entropy_delta(z: Array, a: Array, y: Array, activation: Activation) -> Array:
    """dC/dz for a softmax output followed by cross-entropy: (probs - onehot(y)) / N, probs = a.

    dC/da_k = -[k = y] / (N a_y) divides by a probability; the softmax Jacobian diag(a) - a a^T
    multiplies by one, and the two cancel: -log softmax(z)_y = -z_y + log sum_j exp(z_j), whose
    slope in z_k is a_k - [k = y]. So no Jacobian, no division by a possibly zero a_y and no
    one-hot matrix is formed, and ``activation`` (always softmax, see ``Architecture``) is unused.
    """
    dz = a.copy()
    dz[np.arange(len(y)), y] -= 1.0  # probs - onehot(y), without forming onehot(y)
    dz /= len(y)
    return dz


def softmax_cross_entropy(z: Array, y: Array) -> tuple[float, Array]:
    """``cross_entropy`` and ``softmax`` of the same logits from one ``log_softmax(z)``: (C, probs).

    The two read the same log-probabilities, so computing them once gives the same numbers, bit for
    bit, as calling both, for half the work (a softmax output layer with cross-entropy does this
    every batch).

    Parameters
    ----------
    z : (N, K) logits. y : (N,) integer class labels in [0, K).
    """
    log_probs = log_softmax(z)
    loss = float(-log_probs[np.arange(len(y)), y].mean())
    return loss, np.exp(log_probs)


def mean_squared_error(z: Array, a: Array, y: Array) -> float:
    """C = (1/N) sum_i 1/2 ||a_i - onehot(y_i)||^2 for outputs ``a`` of shape (N, K); z unused."""
    diff = a.copy()
    diff[np.arange(len(y)), y] -= 1.0
    return float(0.5 * (diff * diff).sum() / len(y))


def mean_squared_error_gradient(a: Array, y: Array) -> Array:
    """dC/da = (a - onehot(y)) / N."""
    grad = a.copy()
    grad[np.arange(len(y)), y] -= 1.0
    grad /= len(y)
    return grad


def mean_squared_error_delta(z: Array, a: Array, y: Array, activation: Activation) -> Array:
    """dC/dz = the output activation's backward step applied to dC/da = (a - onehot(y)) / N."""
    return activation.backward(z, a, mean_squared_error_gradient(a, y))


class Cost(NamedTuple):
    """A cost ``value(z, a, y)`` of the output layer, and its delta dC/dz of that layer.

    ``z`` and ``a`` are the output layer's logits and activations (N, K), ``y`` the (N,) labels;
    ``delta(z, a, y, activation)`` also gets the output ``Activation`` to backpropagate through.
    """

    value: Callable[[Array, Array, Array], float]
    delta: Callable[[Array, Array, Array, Activation], Array]


COSTS: dict[str, Cost] = {
    "cross_entropy": Cost(cross_entropy, cross_entropy_delta),
    "mse": Cost(mean_squared_error, mean_squared_error_delta),
}
