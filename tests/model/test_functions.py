import warnings

import numpy as np
import pytest

from model import functions as fn
from tests.model.gradcheck import numerical_gradient, relative_error

ELEMENTWISE = ["sigmoid", "relu", "leaky_relu", "tanh"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_derivative_matches_central_difference(name: str) -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4, 5))
    z[np.abs(z) < 1e-3] = 0.5  # keep away from ReLU's kink, where no derivative exists
    act = fn.ACTIVATIONS[name]
    assert act.derivative is not None
    upstream = rng.normal(size=z.shape)
    analytic = upstream * act.derivative(z, act.forward(z))
    numeric = numerical_gradient(lambda v: float((upstream * act.forward(v)).sum()), z.copy())
    assert relative_error(analytic, numeric) < 1e-6


def test_softmax_jacobian_vector_matches_central_difference() -> None:
    rng = np.random.default_rng(2)
    z, upstream = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    analytic = fn.softmax_jacobian_vector(z, fn.softmax(z), upstream)
    numeric = numerical_gradient(lambda v: float((upstream * fn.softmax(v)).sum()), z.copy())
    assert relative_error(analytic, numeric) < 1e-6


def test_cross_entropy_delta_is_gradient_of_cross_entropy_wrt_logits() -> None:
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(5, 10)) * 3, rng.integers(0, 10, 5)
    analytic = fn.cross_entropy_delta(fn.softmax(z), y)
    numeric = numerical_gradient(lambda v: fn.cross_entropy(v, y), z.copy())
    assert relative_error(analytic, numeric) < 1e-6


def test_mse_gradient_matches_central_difference() -> None:
    rng = np.random.default_rng(4)
    a, y = rng.uniform(size=(5, 10)), rng.integers(0, 10, 5)
    analytic = fn.mean_squared_error_gradient(a, y)
    numeric = numerical_gradient(lambda v: fn.mean_squared_error(v, y), a.copy())
    assert relative_error(analytic, numeric) < 1e-6


def test_seed_cross_entropy_example() -> None:
    # Three examples, four classes; the true classes get probabilities 0.5, 0.3 and 0.4.
    probs = np.array([[0.5, 0.2, 0.2, 0.1], [0.3, 0.3, 0.2, 0.2], [0.1, 0.1, 0.4, 0.4]])
    y = np.array([0, 1, 2])
    expected = -(np.log(0.5) + np.log(0.3) + np.log(0.4)) / 3
    assert fn.cross_entropy(np.log(probs), y) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.9378, abs=1e-4)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax", "relu", "leaky_relu"])
def test_activations_are_stable_for_huge_logits(name: str) -> None:
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        a = fn.ACTIVATIONS[name].forward(z)
        logp = fn.log_softmax(z)
    assert np.isfinite(a).all() and np.isfinite(logp).all()
    if name == "softmax":
        np.testing.assert_allclose(a.sum(axis=1), 1.0)
        assert a[0, 0] == 1.0 and a[1, 2] == 1.0
    if name == "sigmoid":
        np.testing.assert_array_equal(a[0], [1.0, 0.0, 0.5])


def test_cross_entropy_of_confident_wrong_answer_is_finite_and_large() -> None:
    z = np.array([[1000.0, -1000.0]])
    assert fn.cross_entropy(z, np.array([1])) == pytest.approx(2000.0)


def test_activation_values() -> None:
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(fn.relu(z), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(fn.leaky_relu(z), [[-0.02, 0.0, 3.0]])
    np.testing.assert_allclose(fn.sigmoid(z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(fn.tanh(z), np.tanh(z))
