import warnings

import numpy as np
import pytest

from model import functions as fn
from tests.model.gradcheck import numerical_gradient, relative_error

DERIVATIVES = {
    "sigmoid": fn.sigmoid_derivative,
    "relu": fn.relu_derivative,
    "leaky_relu": fn.leaky_relu_derivative,
    "tanh": fn.tanh_derivative,
}


def _away_from_kinks(z: np.ndarray) -> np.ndarray:
    z[np.abs(z) < 1e-3] = 0.5  # keep away from ReLU's kink, where no derivative exists
    return z


@pytest.mark.parametrize("name", list(DERIVATIVES))
def test_activation_derivative_matches_central_difference(name: str) -> None:
    rng = np.random.default_rng(1)
    z = _away_from_kinks(rng.normal(size=(4, 5)))
    f = fn.ACTIVATIONS[name].forward
    upstream = rng.normal(size=z.shape)
    analytic = upstream * DERIVATIVES[name](z, f(z))
    numeric = numerical_gradient(lambda v: float((upstream * f(v)).sum()), z.copy())
    assert relative_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("name", list(fn.ACTIVATIONS))
def test_activation_backward_matches_central_difference(name: str) -> None:
    # dz = backward(z, a, da) is the gradient of C(z) = sum(da * f(z)), for every activation
    rng = np.random.default_rng(5)
    z = _away_from_kinks(rng.normal(size=(3, 4)) * 2)
    act = fn.ACTIVATIONS[name]
    da = rng.normal(size=z.shape)
    analytic = act.backward(z, act.forward(z), da.copy())
    numeric = numerical_gradient(lambda v: float((da * act.forward(v)).sum()), z.copy())
    assert relative_error(analytic, numeric) < 1e-6


def test_elementwise_backward_leaves_its_inputs_alone() -> None:
    z = np.array([[-1.0, 2.0]])
    a, da = fn.relu(z), np.array([[3.0, 4.0]])
    np.testing.assert_array_equal(fn.ACTIVATIONS["relu"].backward(z, a, da), [[0.0, 4.0]])
    np.testing.assert_array_equal(da, [[3.0, 4.0]])


def test_softmax_jacobian_vector_matches_central_difference() -> None:
    rng = np.random.default_rng(2)
    z, upstream = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    analytic = fn.softmax_jacobian_vector(z, fn.softmax(z), upstream)
    numeric = numerical_gradient(lambda v: float((upstream * fn.softmax(v)).sum()), z.copy())
    assert relative_error(analytic, numeric) < 1e-6


def test_hidden_activations_are_the_registry_without_softmax() -> None:
    assert fn.HIDDEN_ACTIVATIONS == ("sigmoid", "relu", "leaky_relu", "tanh")
    assert set(fn.HIDDEN_ACTIVATIONS) == set(fn.ACTIVATIONS) - {"softmax"}


@pytest.mark.parametrize(
    "cost, output", [("cross_entropy", "softmax"), ("mse", "softmax"), ("mse", "sigmoid"), ("mse", "tanh")]
)
def test_cost_delta_is_gradient_of_cost_value_wrt_logits(cost: str, output: str) -> None:
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(5, 10)) * 3, rng.integers(0, 10, 5)
    act, c = fn.ACTIVATIONS[output], fn.COSTS[cost]
    analytic = c.delta(z, act.forward(z), y, act)
    numeric = numerical_gradient(lambda v: c.value(v, act.forward(v), y), z.copy())
    assert relative_error(analytic, numeric) < 1e-6


def test_cross_entropy_delta_is_probs_minus_onehot_over_n() -> None:
    z, y = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])), np.array([0, 1])
    probs = fn.softmax(z)
    dz = fn.COSTS["cross_entropy"].delta(z, probs, y, fn.ACTIVATIONS["softmax"])
    np.testing.assert_allclose(dz, [[-0.25, 0.125, 0.125], [0.05, -0.45, 0.4]])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)  # the delta did not write into probs


def test_every_cost_is_registered_under_one_name() -> None:
    assert list(fn.COSTS) == ["cross_entropy", "mse"]
    assert fn.COSTS["cross_entropy"].value is fn.cross_entropy
    assert fn.COSTS["mse"].delta is fn.mean_squared_error_delta


def test_mse_gradient_matches_central_difference() -> None:
    rng = np.random.default_rng(4)
    a, y = rng.uniform(size=(5, 10)), rng.integers(0, 10, 5)
    analytic = fn.mean_squared_error_gradient(a, y)
    numeric = numerical_gradient(lambda v: fn.mean_squared_error(v, v, y), a.copy())
    assert relative_error(analytic, numeric) < 1e-6


def test_softmax_is_exp_of_log_softmax_and_sums_to_one() -> None:
    z = np.random.default_rng(6).normal(size=(4, 7)) * 5
    probs = fn.softmax(z)
    np.testing.assert_array_equal(probs, np.exp(fn.log_softmax(z)))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)


def test_seed_cross_entropy_example() -> None:
    # Three examples, four classes; the true classes get probabilities 0.5, 0.3 and 0.4.
    probs = np.array([[0.5, 0.2, 0.2, 0.1], [0.3, 0.3, 0.2, 0.2], [0.1, 0.1, 0.4, 0.4]])
    y = np.array([0, 1, 2])
    expected = -(np.log(0.5) + np.log(0.3) + np.log(0.4)) / 3
    assert fn.cross_entropy(np.log(probs), probs, y) == pytest.approx(expected, rel=1e-12)
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
    assert fn.cross_entropy(z, fn.softmax(z), np.array([1])) == pytest.approx(2000.0)


def test_activation_values() -> None:
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(fn.relu(z), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(fn.leaky_relu(z), [[-0.02, 0.0, 3.0]])
    np.testing.assert_allclose(fn.sigmoid(z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(fn.tanh(z), np.tanh(z))


def test_softmax_cross_entropy_is_softmax_and_cross_entropy_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    z = (rng.standard_normal((257, 10)) * 30).astype(np.float32)
    y = rng.integers(0, 10, 257)
    z_before = z.copy()
    loss, probs = fn.softmax_cross_entropy(z, y)
    assert loss == fn.cross_entropy(z, fn.softmax(z), y)
    assert np.array_equal(probs.view(np.uint32), fn.softmax(z).view(np.uint32))
    assert np.array_equal(z, z_before)
