"""The energy E = log sum_k exp(z_k), its threshold from real digits, and the forward pass that keeps z."""

from __future__ import annotations

import numpy as np
import pytest

from model.architecture import Architecture
from model.functions import softmax
from model.network import Network
from model.novelty import energy, energy_threshold, logits_and_probabilities, looks_like_a_digit


def test_energy_by_hand_and_for_logits_that_would_overflow() -> None:
    z = np.array([[0.0, 0.0], [np.log(3.0), 0.0], [1000.0, 1000.0]])
    # log(1 + 1) = log 2; log(3 + 1) = log 4; 1000 + log 2 (exp(1000) alone overflows)
    assert energy(z) == pytest.approx([np.log(2), np.log(4), 1000 + np.log(2)])


def test_softmax_is_exp_of_z_minus_the_energy_and_ignores_what_the_energy_sees() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 10)) * 4
    assert np.allclose(np.exp(z - energy(z)[:, None]), softmax(z))
    shifted = z + 7.0  # every class's evidence stronger by the same amount
    assert np.allclose(softmax(shifted), softmax(z)) and np.allclose(energy(shifted), energy(z) + 7.0)


def test_the_forward_pass_keeps_the_logits_and_gives_predict_probas_answer() -> None:
    net = Network(Architecture((784, 16, 10)), dtype=np.float64)
    net.initialize(np.random.default_rng(1))
    x = np.random.default_rng(2).random((4, 784))
    z, probs = logits_and_probabilities(net, x)
    assert z.shape == (4, 10) and np.allclose(probs, net.predict_proba(x)) and np.allclose(softmax(z), probs)


def test_the_threshold_refuses_the_asked_share_of_digits() -> None:
    digits = np.arange(1000, dtype=np.float64)  # energies of 1,000 real digits
    threshold = energy_threshold(digits, 0.01)
    refused = ~looks_like_a_digit(np.column_stack([digits, np.full(1000, -np.inf)]), threshold)
    assert refused.sum() == 10  # the lowest 1%: energies 0..9
    for bad in (0.0, 0.5, -0.1):
        with pytest.raises(ValueError, match="share"):
            energy_threshold(digits, bad)
    with pytest.raises(ValueError, match="finite"):
        energy_threshold(np.array([1.0, np.nan]), 0.01)
