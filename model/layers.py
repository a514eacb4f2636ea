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

``Reshape`` turns a batch of images (N, H, W, C) into rows (N, H W C) or back, and ``Layer`` is what
every layer offers the network (conv.py's ``Conv2D`` and pool.py's ``MaxPool`` are the others).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from model.functions import ACTIVATIONS, IDENTITY, Activation, softmax_cross_entropy

Array = np.ndarray


class Layer(Protocol):
    """What the network asks of a layer: a forward step, and the backward steps through it.

    ``step(x)`` gives (z, a) and keeps nothing; ``forward(x)`` keeps what ``backward`` needs;
    ``activation_backward(da)`` is dz; ``backward(dz)`` writes the layer's dW, db (if it has any) and
    returns dx; ``input_grad(dz, x)`` returns dx alone from the input x of a ``step``, writing nothing.
    """

    f: Activation

    def step(self, x: Array) -> tuple[Array, Array]: ...
    def forward(self, x: Array) -> Array: ...
    def activation_backward(self, da: Array) -> Array: ...
    def backward(self, dz: Array, need_input_grad: bool = True) -> Array | None: ...
    def input_grad(self, dz: Array, x: Array | None = None) -> Array: ...


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
        dz.sum(axis=0, out=self.db)  # (N, n_out) -> (n_out,)
        if not need_input_grad:
            return None
        return self.input_grad(dz)

    def input_grad(self, dz: Array, x: Array | None = None) -> Array:
        """dx = dz W^T: reads W, writes nothing (no dW, db), so it is safe beside other threads."""
        return dz @ self.W.T  # (N, n_out) @ (n_out, n_in) -> (N, n_in)


class Reshape:
    """The same numbers in another shape: images (N, H, W, C) to rows (N, H W C), or the reverse.

    Forward ``a = x.reshape(N, *shape_out)``; backward ``dx = dz.reshape(N, *shape_in)``: every
    number keeps its place in memory, so its gradient does too. No parameters, no activation.
    """

    f = IDENTITY

    def __init__(self, shape_in: tuple[int, ...], shape_out: tuple[int, ...]) -> None:
        self.shape_in, self.shape_out = shape_in, shape_out

    def step(self, x: Array) -> tuple[Array, Array]:
        a = x.reshape(len(x), *self.shape_out)  # (N, *shape_in) -> (N, *shape_out)
        return a, a

    def forward(self, x: Array) -> Array:
        return self.step(x)[1]

    def activation_backward(self, da: Array) -> Array:
        return da

    def backward(self, dz: Array, need_input_grad: bool = True) -> Array | None:
        return self.input_grad(dz) if need_input_grad else None

    def input_grad(self, dz: Array, x: Array | None = None) -> Array:
        return dz.reshape(len(dz), *self.shape_in)  # (N, *shape_out) -> (N, *shape_in)
