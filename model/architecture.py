"""The shape of a network as plain values: layer sizes, activations and cost.

A network of sizes (n_0, n_1, ..., n_L) has L dense layers; layer l maps n_(l-1) inputs to n_l
units with a weight matrix W_l of shape (n_(l-1), n_l) and a bias b_l of shape (n_l,). theta holds
them all, so its length is::

    n_params = sum over l of n_(l-1) n_l + n_l

The names are checked against the registries of ``functions`` on construction, so an
``Architecture`` that exists can be built into a ``network.Network`` and saved as plain strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.functions import ACTIVATIONS, COSTS, HIDDEN_ACTIVATIONS


@dataclass(frozen=True)
class Architecture:
    """The shape of a network: layer sizes, activations and cost, all as plain values.

    ``sizes`` counts units from the input to the output, e.g. (784, 128, 10) is one hidden layer of
    128 units. ``cross_entropy`` requires a softmax output: its delta is the fused
    ``(probs - onehot(y)) / N``, which holds for softmax alone.
    """

    sizes: tuple[int, ...]
    hidden_activation: str = "relu"
    output_activation: str = "softmax"
    cost: str = "cross_entropy"

    def __post_init__(self) -> None:
        sizes = tuple(self.sizes)
        object.__setattr__(self, "sizes", sizes)
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

    @property
    def n_params(self) -> int:
        """Number of entries of theta: sum over layers of n_in * n_out + n_out."""
        return sum(i * o + o for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    def to_dict(self) -> dict[str, object]:
        return {
            "sizes": list(self.sizes),
            "hidden_activation": self.hidden_activation,
            "output_activation": self.output_activation,
            "cost": self.cost,
        }
