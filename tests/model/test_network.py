import numpy as np
import pytest

from model.network import Architecture, Network
from tests.model.gradcheck import numerical_gradient, relative_error


def _net(sizes, hidden="tanh", output="softmax", cost="cross_entropy", seed=0) -> Network:
    net = Network(Architecture(sizes, hidden, output, cost), dtype=np.float64)
    net.initialize(np.random.default_rng(seed))
    net.theta += np.random.default_rng(seed + 1).normal(0, 0.1, net.theta.shape)  # nonzero biases
    return net


def _check_theta_gradient(net: Network, l2: float = 0.0) -> float:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(6, net.arch.sizes[0]))
    y = rng.integers(0, net.arch.sizes[-1], 6)
    net.loss_and_gradient(x, y, l2)
    analytic = net.grad.copy()

    def loss_at(theta: np.ndarray) -> float:
        net.theta[:] = theta
        return net.loss(x, y, l2)

    numeric = numerical_gradient(loss_at, net.theta.copy())
    return relative_error(analytic, numeric)


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "leaky_relu", "relu"])
def test_backprop_matches_central_difference_through_theta(hidden: str) -> None:
    assert _check_theta_gradient(_net((5, 4, 3), hidden)) < 1e-6


def test_three_layer_network_with_l2_gradient() -> None:
    assert _check_theta_gradient(_net((4, 5, 3, 3), "tanh"), l2=0.1) < 1e-6


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_mse_cost_gradient_through_theta(output: str) -> None:
    assert _check_theta_gradient(_net((4, 3, 3), "sigmoid", output, "mse")) < 1e-6


def test_dense_layer_gradient_alone() -> None:
    # one layer, softmax output: dW = x^T (probs - Y) / N, checked against the numbers
    assert _check_theta_gradient(_net((3, 4), "relu")) < 1e-6


def test_theta_of_3_4_2_network_has_26_entries_laid_out_w1_b1_w2_b2() -> None:
    net = Network(Architecture((3, 4, 2)), dtype=np.float64, theta=np.arange(26.0))
    assert net.theta.size == 26 == net.arch.n_params
    first, second = net.layers
    np.testing.assert_array_equal(first.W, np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(first.b, np.arange(12.0, 16.0))
    np.testing.assert_array_equal(second.W, np.arange(16.0, 24.0).reshape(4, 2))
    np.testing.assert_array_equal(second.b, [24.0, 25.0])
    # views, not copies: changing theta changes the layer, and the other way round
    net.theta[0] = -1.0
    second.b[1] = 99.0
    assert first.W[0, 0] == -1.0 and net.theta[25] == 99.0
    assert np.shares_memory(first.dW, net.grad) and np.shares_memory(second.db, net.grad)


def test_same_seed_same_theta_bit_for_bit() -> None:
    arch = Architecture((784, 32, 10))
    a, b, c = (Network(arch) for _ in range(3))
    a.initialize(np.random.default_rng(5))
    b.initialize(np.random.default_rng(5))
    c.initialize(np.random.default_rng(6))
    assert a.theta.tobytes() == b.theta.tobytes()
    assert a.theta.tobytes() != c.theta.tobytes()


def test_he_initialisation_scale() -> None:
    net = Network(Architecture((784, 512, 10)), dtype=np.float64)
    net.initialize(np.random.default_rng(0))
    assert net.layers[0].W.std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert np.all(net.layers[0].b == 0)


def test_probabilities_sum_to_one() -> None:
    net = _net((8, 6, 10))
    probs = net.predict_proba(np.random.default_rng(0).normal(size=(5, 8)))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sizes=(784,)), "at least"),
        (dict(sizes=(784, 0, 10)), "positive"),
        (dict(sizes=(4, 2), hidden_activation="swish"), "hidden activation"),
        (dict(sizes=(4, 2), output_activation="sigmoid"), "softmax"),
        (dict(sizes=(4, 2), cost="hinge"), "cost"),
    ],
)
def test_bad_architecture_is_refused_with_a_clear_message(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Architecture(**kwargs)


def test_predict_proba_is_forward_without_side_effects_and_thread_safe() -> None:
    from concurrent.futures import ThreadPoolExecutor

    net = _net((8, 16, 10), "relu")
    rng = np.random.default_rng(3)
    batches = [rng.normal(size=(4, 8)) for _ in range(64)]
    expected = [net.forward(b).copy() for b in batches]
    net.layers[0].x = None
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(net.predict_proba, batches))
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(g, e)  # one softmax for training and for predictions
    assert net.layers[0].x is None  # nothing kept for backpropagation


@pytest.mark.parametrize("output, cost", [("softmax", "cross_entropy"), ("sigmoid", "mse")])
def test_loss_and_probs_is_the_registered_cost_of_the_forward_pass(output: str, cost: str) -> None:
    from model.functions import COSTS

    net = _net((6, 5, 4), "relu", output, cost)
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 6)), rng.integers(0, 4, 7)
    loss, probs = net.loss_and_probs(x, y, l2=0.1)
    np.testing.assert_array_equal(probs, net.predict_proba(x))
    z = net.layers[-1].z
    penalty = 0.05 * sum(float((layer.W**2).sum()) for layer in net.layers)
    assert loss == pytest.approx(COSTS[cost].value(z, probs, y) + penalty, rel=1e-12)
    assert net.loss(x, y) == pytest.approx(COSTS[cost].value(z, probs, y), rel=1e-12)


def test_backward_without_input_gradient_fills_dw_and_returns_nothing() -> None:
    net = _net((3, 2), "relu")
    x = np.array([[1.0, 2.0, 3.0]])
    net.forward(x)
    dz = np.array([[0.5, -1.0]])
    assert net.layers[0].backward(dz, need_input_grad=False) is None
    np.testing.assert_allclose(net.layers[0].dW, x.T @ dz)
    np.testing.assert_allclose(net.layers[0].db, [0.5, -1.0])
    np.testing.assert_allclose(net.layers[0].backward(dz), dz @ net.layers[0].W.T)
