import math

import numpy as np
import pytest

from model.architecture import Architecture
from model.config import TrainConfig
from model.network import Network
from model.optim import (
    OPTIMIZERS,
    SCHEDULES,
    Adam,
    Momentum,
    cosine_schedule,
    make_optimizer,
    make_schedule,
    step_schedule,
)


@pytest.mark.parametrize("name, lr", [("sgd", 0.1), ("momentum", 0.05), ("adam", 0.1)])
def test_descent_on_bowl_moves_to_origin(name: str, lr: float) -> None:
    # f(x, y) = x^2 + y^2, gradient (2x, 2y): every optimiser must walk down to (0, 0).
    theta = np.array([3.0, -4.0])
    opt = OPTIMIZERS[name](theta)
    values = []
    for _ in range(300):
        opt.step(theta, 2 * theta, lr)
        values.append(float(theta @ theta))
    assert values[-1] < 1e-6
    assert values[10] < 25.0  # it went downhill early, from f = 25


def test_one_sgd_step_on_the_bowl_by_hand() -> None:
    theta = np.array([3.0, -4.0])
    OPTIMIZERS["sgd"](theta).step(theta, 2 * theta, 0.1)
    # theta - lr * grad = (3, -4) - 0.1 * (6, -8) = (2.4, -3.2)
    np.testing.assert_allclose(theta, [2.4, -3.2])


def test_hand_worked_sgd_step_on_a_network() -> None:
    # 2 inputs -> 2 softmax outputs, one example x = (1, 2) of class 0, W = 0, b = 0.
    net = Network(Architecture((2, 2)), dtype=np.float64)
    x, y = np.array([[1.0, 2.0]]), np.array([0])
    loss, probs = net.loss_and_gradient(x, y)
    # all logits 0 -> probs (0.5, 0.5), loss = -log 0.5
    assert loss == pytest.approx(math.log(2))
    # dz = probs - onehot = (-0.5, 0.5); dW = x^T dz; db = dz
    np.testing.assert_allclose(net.layers[0].dW, [[-0.5, 0.5], [-1.0, 1.0]])
    np.testing.assert_allclose(net.layers[0].db, [-0.5, 0.5])
    OPTIMIZERS["sgd"](net.theta).step(net.theta, net.grad, 0.5)
    np.testing.assert_allclose(net.layers[0].W, [[0.25, -0.25], [0.5, -0.5]])
    np.testing.assert_allclose(net.layers[0].b, [0.25, -0.25])
    # new logits: z = (0.25 + 1.0 + 0.25, -(...)) = (1.5, -1.5): the loss fell
    assert net.loss(x, y) == pytest.approx(-math.log(1 / (1 + math.exp(-3.0))))


def test_adam_first_step_is_lr_times_sign() -> None:
    theta = np.array([1.0, -1.0, 2.0])
    OPTIMIZERS["adam"](theta).step(theta, np.array([0.3, -5.0, 0.02]), 0.01)
    # bias-corrected m_hat / sqrt(v_hat) = g / |g| on the first step
    np.testing.assert_allclose(theta, [0.99, -0.99, 1.99], atol=1e-6)


def test_schedules() -> None:
    cos = cosine_schedule(1.0)
    assert cos(0.0) == 1.0 and cos(0.5) == pytest.approx(0.5) and cos(1.0) == pytest.approx(0.0)
    step = step_schedule(1.0, epochs=10, step_epochs=4, gamma=0.1)
    assert step(0.0) == 1.0 and step(0.39) == 1.0
    assert step(0.4) == pytest.approx(0.1) and step(0.85) == pytest.approx(0.01)


def test_make_optimizer_builds_the_named_one_with_the_configs_momentum() -> None:
    theta = np.zeros(3)
    momentum = make_optimizer(TrainConfig(optimizer="momentum", momentum=0.7), theta)
    assert isinstance(momentum, Momentum) and momentum.mu == 0.7
    assert isinstance(make_optimizer(TrainConfig(optimizer="adam"), theta), Adam)
    sgd = make_optimizer(TrainConfig(optimizer="sgd"), theta)
    sgd.step(theta, np.ones(3), 0.5)
    np.testing.assert_array_equal(theta, [-0.5, -0.5, -0.5])


def test_make_schedule_follows_the_registry() -> None:
    assert list(SCHEDULES) == ["constant", "step", "cosine"]
    cfg = dict(lr=0.8, epochs=4, lr_step_epochs=1, lr_gamma=0.5, min_lr=0.2)
    assert make_schedule(TrainConfig(schedule="constant", **cfg))(0.9) == 0.8
    assert make_schedule(TrainConfig(schedule="step", **cfg))(0.5) == pytest.approx(0.2)
    assert make_schedule(TrainConfig(schedule="cosine", **cfg))(0.5) == pytest.approx(0.5)
