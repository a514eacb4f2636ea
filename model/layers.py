"""One dense layer ``a = f(x W + b)``: its forward step and its backward steps.

Forward, on a batch ``x`` of shape (N, n_in) laid out in rows::

    z = x W + b          (N, n_in) @ (n_in, n_out) -> (N, n_out);  b (n_out,) added to every row
    a = f(z)             (N, n_out)

(The column notation ``z = W a + b`` of many textbooks is the transpose of this row layout: our
``W`` is their ``W`` transposed, and a batch is a stack of row vectors. See docs/math.md.)

Backward, given ``dz = dC/dz`` of shape (N, n_out) (from the cost, or from the layer above)::

    dW = x^T dz                           (n_in, N) @ (N, n_out) -> (n_in, n_out)
    db = sum over rows of dz              (n_out,)
    dx = dz W^T                           (N, n_out) @ (n_out, n_in) -> (N, n_in)

and through the activation, from ``da = dC/da`` (the dx of the layer above)::

    dz = f.backward(z, a, da)             = da * f'(z) for element-wise activations

The layer owns no parameters of its own: W, b, dW and db are views that ``network.Network`` cuts out
of theta and grad.
"""

from __future__ import annotations

import numpy as np

from model.functions import ACTIVATIONS, softmax_cross_entropy

Array = np.ndarray


class Dense:
    """One layer ``a = f(x W + b)``. ``forward`` keeps x, z and a for the backward steps.

    W, b, dW and db are views into the network's theta and grad vectors, never copies.

    Parameters
    ----------
    W : (n_in, n_out) weights. b : (n_out,) biases.
    dW, db : where ``backward`` writes dC/dW and dC/db, shaped as W and b.
    activation : the name of f in ``functions.ACTIVATIONS``.
    """

    def __init__(self, W: Array, b: Array, dW: Array, db: Array, activation: str) -> None:
        self.W, self.b, self.dW, self.db = W, b, dW, db
        self.activation = activation
        self.f = ACTIVATIONS[activation]
        self.x: Array | None = None
        self.z: Array | None = None
        self.a: Array | None = None

    def step(self, x: Array) -> tuple[Array, Array]:
        """z = x W + b; a = f(z), keeping nothing: several threads may call it at once."""
        z = self.weighted_sum(x)
        return z, self.f.forward(z)

    def weighted_sum(self, x: Array) -> Array:
        """z = x W + b, a new array of shape (N, n_out)."""
        z = x @ self.W  # (N, n_in) @ (n_in, n_out) -> (N, n_out)
        z += self.b
        return z

    def forward(self, x: Array) -> Array:
        """``step``, keeping x, z and a for the backward steps. Returns a of shape (N, n_out)."""
        z, a = self.step(x)
        self.x, self.z, self.a = x, z, a
        return a

    def forward_cross_entropy(self, x: Array, y: Array) -> tuple[float, Array]:
        """``forward`` for a softmax layer, with the cross-entropy of its output against y: (C, a).

        Both come from one log_softmax(z) (``functions.softmax_cross_entropy``).
        """
        z = self.weighted_sum(x)
        loss, a = softmax_cross_entropy(z, y)
        self.x, self.z, self.a = x, z, a
        return loss, a

    def activation_backward(self, da: Array) -> Array:
        """dz = dC/dz from da = dC/da, through this layer's activation (da * f'(z) element-wise)."""
        assert self.z is not None and self.a is not None, "backward before forward"
        return self.f.backward(self.z, self.a, da)

    def backward(self, dz: Array, need_input_grad: bool = True) -> Array | None:
        """Given dz = dC/dz, write dW = x^T dz and db = sum(dz) into grad; return dx = dz W^T."""
        assert self.x is not None, "backward before forward"
        np.matmul(self.x.T, dz, out=self.dW)  # (n_in, N) @ (N, n_out) -> (n_in, n_out)
        np.add.reduce(dz, axis=0, out=self.db)  # np.sum without its wrapper: the same sum
        if not need_input_grad:
            return None
        return self.input_grad(dz)

    def input_grad(self, dz: Array) -> Array:
        """dx = dz W^T: reads W, writes nothing (no dW, db), so it is safe beside other threads."""
        return dz @ self.W.T  # (N, n_out) @ (n_out, n_in) -> (N, n_in)
