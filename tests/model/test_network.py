from pathlib import Path

import numpy as np
import pytest

from model.architecture import Architecture
from model.data.mnist import load_mnist
from model.functions import log_softmax
from model.network import Network
from model.serialize import load_model
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


WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
SHIPPED = WEIGHTS / "digitnet.npz"  # the default model: a convolutional network
DENSE = WEIGHTS / "dense.npz"  # the dense network shipped beside it


def _log_p(net: Network, x: np.ndarray, k: np.ndarray) -> float:
    """sum over rows of log p_k: log softmax of the logits (exact where p_k is near 1), or for other
    outputs the log of the output normalised as the server reports it."""
    z, a = x, x
    for layer in net.layers:
        z, a = layer.step(a)
    softmax = net.arch.output_activation == "softmax"
    log_probs = log_softmax(z) if softmax else np.log(a / a.sum(axis=1, keepdims=True))
    return float(log_probs[np.arange(len(x)), k].sum())


@pytest.mark.parametrize("sizes, hidden, output, cost", [
    ((5, 4, 3), "sigmoid", "softmax", "cross_entropy"),
    ((5, 4, 3), "tanh", "softmax", "cross_entropy"),
    ((5, 4, 3), "leaky_relu", "softmax", "cross_entropy"),
    ((5, 4, 3), "relu", "softmax", "cross_entropy"),
    ((6, 5, 4, 3), "tanh", "softmax", "cross_entropy"),
    ((6, 3), "relu", "softmax", "cross_entropy"),
    ((5, 4, 3), "tanh", "sigmoid", "mse"),
])
def test_input_gradient_matches_central_difference(sizes, hidden, output, cost) -> None:
    net = _net(sizes, hidden, output, cost)
    rng = np.random.default_rng(11)
    x, k = rng.normal(size=(4, sizes[0])), rng.integers(0, sizes[-1], 4)
    result = net.input_gradient(x, k)
    numeric = numerical_gradient(lambda x_: _log_p(net, x_, k), x.copy())
    assert relative_error(result.dx, numeric) < 1e-6
    # what it passed by: the forward pass, and d log p_k / da of each hidden layer
    np.testing.assert_allclose(result.a[-1], net.predict_proba(x))
    assert len(result.a) == len(result.da) + 1 == len(sizes) - 1
    first = result.a[0].copy()

    def from_first_hidden(a1: np.ndarray) -> float:
        a = a1
        for layer in net.layers[1:]:
            a = layer.step(a)[1]
        return float(np.log((a / a.sum(axis=1, keepdims=True))[np.arange(len(a)), k]).sum())

    if len(sizes) > 2:
        assert relative_error(result.da[0], numerical_gradient(from_first_hidden, first)) < 1e-6


def test_input_gradient_of_one_class_for_all_rows_and_its_logits() -> None:
    net = _net((5, 4, 3), "relu")
    x = np.random.default_rng(2).normal(size=(3, 5))
    result = net.input_gradient(x, 2)
    np.testing.assert_allclose(result.dx, net.input_gradient(x, np.array([2, 2, 2])).dx)
    np.testing.assert_allclose(log_softmax(result.z), np.log(net.predict_proba(x)))
    with pytest.raises(ValueError, match="0..2"):
        net.input_gradient(x, 3)


def test_input_gradient_changes_nothing_and_is_thread_safe() -> None:
    from concurrent.futures import ThreadPoolExecutor

    net = _net((8, 16, 16, 10), "relu")
    theta = net.theta.tobytes()
    rng = np.random.default_rng(3)
    batches = [(rng.normal(size=(2, 8)), int(rng.integers(0, 10))) for _ in range(64)]
    expected = [net.input_gradient(x, k).dx for x, k in batches]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda b: net.input_gradient(*b).dx, batches))
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(g, e)
    assert net.theta.tobytes() == theta and not net.grad.any()
    assert all(layer.x is None and layer.z is None for layer in net.layers)  # no cache written


def test_input_gradient_of_the_dense_shipped_model_on_a_real_digit(mnist_dir) -> None:
    """A few dozen pixels of a real MNIST digit, in float64 weights (float32's rounding would swamp
    the difference); the float32 network that serves gives the same gradient to its precision
    (1 - p_k of the read digit taken as the sum of the others: as 1 - p_k in float32, 3.5e-4 off)."""
    net32 = load_model(DENSE).network
    digits = load_mnist(mnist_dir)
    x = digits.test_images[:1].astype(np.float64) / 255.0  # (1, 784)
    rng = np.random.default_rng(0)
    pixels = np.concatenate([rng.choice(np.flatnonzero(x[0] > 0), 24, replace=False),
                             rng.choice(np.flatnonzero(x[0] == 0), 16, replace=False)])
    _check_input_gradient(net32, x, pixels, [int(digits.test_labels[0]), 3], 1e-6)


def test_input_gradient_of_the_conv_shipped_model_on_a_real_digit(mnist_dir) -> None:
    """The same through the default model's convolutions and max-pools. Max-pooling is not
    differentiable where a window holds two equal largest values, and a real digit has many (its
    saturated strokes, its blank paper): there a central difference averages the slopes of both
    sides, 3e-2 to 5e-2 away from the gradient at this digit's ink. Less than 1e-3 of dither (below a
    gray level, 1/255) makes every window's largest value unique, and the network's gradient is the
    derivative again; its inked pixels are checked (the read digit's log p is about -1e-8 there,
    so its rounding allows 1e-5)."""
    net32 = load_model(SHIPPED).network
    digits = load_mnist(mnist_dir)
    dither = np.random.default_rng(1).uniform(0, 1e-3, (1, 784))
    x = digits.test_images[:1].astype(np.float64) / 255.0 + dither
    pixels = np.random.default_rng(0).choice(np.flatnonzero(x[0] > 2e-3), 24, replace=False)
    _check_input_gradient(net32, x, pixels, [int(digits.test_labels[0]), 3], 1e-5)


def _check_input_gradient(net32: Network, x: np.ndarray, pixels: np.ndarray, classes: list[int],
                          tolerance: float) -> None:
    """d log p_k / dx of ``net32`` in float64 against central differences at ``pixels`` of x, for
    each class k; the float32 network's own gradient within 1e-4 of the float64 one."""
    net64 = Network(net32.arch, np.float64, theta=net32.theta.astype(np.float64))
    for k in classes:
        dx = net64.input_gradient(x, k).dx[0]

        def log_p_of(values: np.ndarray, k: int = k) -> float:
            x_ = x.copy()
            x_[0, pixels] = values
            return _log_p(net64, x_, np.array([k]))

        # h = 1e-5: log p of the read digit is about -1e-6, and its slopes about 1e-4, so the
        # rounding of log p divided by 2h must stay far below them
        numeric = numerical_gradient(log_p_of, x[0, pixels].copy(), h=1e-5)
        assert relative_error(dx[pixels], numeric) < tolerance, k
        assert relative_error(net32.input_gradient(x, k).dx[0], dx) < 1e-4


def test_input_gradient_explains_the_class_read_unless_told() -> None:
    net = _net((5, 4, 10), "relu")
    x = np.random.default_rng(5).normal(size=(6, 5))
    read = net.predict_proba(x).argmax(axis=1)
    result = net.input_gradient(x)
    np.testing.assert_array_equal(result.k, read)
    np.testing.assert_array_equal(result.dx, net.input_gradient(x, read).dx)


def test_loss_and_probs_match_the_unfused_forward_and_cost() -> None:
    net = Network(Architecture((6, 5, 4)), dtype=np.float32)
    net.initialize(np.random.default_rng(3))
    x = np.random.default_rng(4).random((9, 6), dtype=np.float32)
    y = np.arange(9) % 4
    loss, probs = net.loss_and_probs(x, y)
    unfused = net.forward(x)
    assert np.array_equal(probs, unfused)
    assert loss == net.cost.value(net.layers[-1].z, unfused, y)
