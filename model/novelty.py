"""Does a drawing look like a digit at all? The network's energy, and a threshold calibrated on digits.

Softmax must share 1 among the ten classes, so a scribble still gets a confident-looking answer: the
probabilities say which digit a drawing is most like, not whether it is like any. The logits z, before
softmax, say more. Their log-sum-exp, the (negative) *energy*::

    E(x) = log sum_k exp(z_k)          and softmax itself is p_k = exp(z_k - E(x))

is large when some class's evidence z_k is strong, and small when every class's is weak, whatever
their ratios. Adding the same constant to every z_k moves E by it and leaves p unchanged: that is the
part of the network's output softmax throws away, and what tells a digit from a non-digit.

A drawing is refused as "not a digit" when E(x) is below a threshold taken from real digits: the
``refuse`` quantile of their energies (``energy_threshold``), so that about that share of real
digits is wrongly refused. The threshold belongs to one trained network, and is stored with it.
docs/not-a-digit.md has the measurements: which digits, which non-digits, what each share is.
"""

from __future__ import annotations

import numpy as np

from model.network import Network

Array = np.ndarray


def energy(z: Array) -> Array:
    """E = log sum_k exp(z_k) for each row of logits z (N, K) -> (N,), in float64.

    Computed as m + log sum_k exp(z_k - m) with m = max_k z_k, which is the same number (the factor
    exp(m) taken out of the sum) without overflowing exp for large logits.
    """
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=1)
    return m + np.log(np.exp(z - m[:, None]).sum(axis=1))


def logits_and_probabilities(network: Network, x: Array) -> tuple[Array, Array]:
    """One forward pass that keeps the output layer's z: (logits (N, K), probabilities (N, K)).

    ``Network.outputs`` (nothing kept for backpropagation, so threads may share the network); the
    output layer's a is softmax(z).
    """
    return network.outputs(x)


def logits(network: Network, x: Array) -> Array:
    """The network's logits z (N, K) for inputs x (N, 784): what ``model.images.segment`` reads with."""
    return logits_and_probabilities(network, x)[0]


def energy_threshold(energies: Array, refuse: float) -> float:
    """The energy below which a share ``refuse`` of these (real digits') energies lie."""
    if not 0.0 < refuse < 0.5:
        raise ValueError(f"the share of digits to refuse must be in (0, 0.5), got {refuse}")
    values = np.asarray(energies, dtype=np.float64)
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("the threshold needs finite energies of at least one digit")
    return float(np.quantile(values, refuse))


def looks_like_a_digit(z: Array, threshold: float) -> Array:
    """(N,) bool: the energy of each row of logits z (N, K) reaches the threshold."""
    return energy(z) >= threshold
