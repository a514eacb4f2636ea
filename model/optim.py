"""Gradient descent on the flat parameter vector theta, and learning-rate schedules.

Each optimiser changes theta in place from the gradient g = dC/dtheta, in one vectorised step over
all the network's parameters:

    SGD       theta <- theta - lr g
    momentum  v <- mu v - lr g;  theta <- theta + v
    Adam      m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
              theta <- theta - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
              (computed as theta <- theta - lr_t m / (sqrt(v) + eps), lr_t = lr sqrt(1 - b2^t) / (1 - b1^t):
              the same step but for where eps sits, which only matters for gradients near eps)

A schedule gives the learning rate as a function of training progress (fraction of all steps done).

Both are registered by name (``OPTIMIZERS``, ``SCHEDULES``, keyed by the names of ``names``);
``make_optimizer`` and ``make_schedule`` build the ones a ``TrainConfig`` names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from model.config import TrainConfig

Array = np.ndarray


class Optimizer(Protocol):
    """What the trainer needs of an optimiser: one in-place update of theta from its gradient."""

    def step(self, theta: Array, grad: Array, lr: float) -> None:
        """Move ``theta`` (in place) against ``grad`` = dC/dtheta with learning rate ``lr``."""


class SGD:
    """Plain gradient descent: theta <- theta - lr g."""

    def __init__(self, theta: Array) -> None:
        pass

    def step(self, theta: Array, grad: Array, lr: float) -> None:
        theta -= lr * grad


class Momentum:
    """Gradient descent with momentum mu: a velocity v accumulates past gradients."""

    def __init__(self, theta: Array, mu: float = 0.9) -> None:
        self.mu = mu
        self.velocity = np.zeros_like(theta)

    def step(self, theta: Array, grad: Array, lr: float) -> None:
        self.velocity *= self.mu  # v <- mu v - lr g
        self.velocity -= lr * grad
        theta += self.velocity


class Adam:
    """Adam: per-parameter step sizes from running means of g and g^2, with bias correction."""

    def __init__(
        self, theta: Array, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = np.zeros_like(theta)
        self.v = np.zeros_like(theta)
        self.t = 0

    def step(self, theta: Array, grad: Array, lr: float) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        self.m *= b1  # m <- b1 m + (1 - b1) g
        self.m += (1.0 - b1) * grad
        self.v *= b2  # v <- b2 v + (1 - b2) g^2
        self.v += (1.0 - b2) * (grad * grad)
        # both bias corrections folded into one scalar step size lr_t
        step_size = lr * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        theta -= step_size * (self.m / (np.sqrt(self.v) + self.eps))


# name -> class; each is built from theta alone (its other hyperparameters have defaults)
OPTIMIZERS: dict[str, Callable[[Array], Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "adam": Adam,
}


def make_optimizer(cfg: TrainConfig, theta: Array) -> Optimizer:
    """The optimiser ``cfg.optimizer`` names, with the config's hyperparameters, for ``theta``."""
    if cfg.optimizer == "momentum":
        return Momentum(theta, mu=cfg.momentum)
    return OPTIMIZERS[cfg.optimizer](theta)

Schedule = Callable[[float], float]


def constant_schedule(lr: float) -> Schedule:
    """lr(progress) = lr."""
    return lambda progress: lr


def step_schedule(lr: float, epochs: int, step_epochs: int, gamma: float) -> Schedule:
    """lr times gamma for every ``step_epochs`` epochs completed."""
    return lambda progress: lr * gamma ** math.floor(progress * epochs / step_epochs + 1e-9)


def cosine_schedule(lr: float, min_lr: float = 0.0) -> Schedule:
    """lr(p) = min_lr + (lr - min_lr) (1 + cos(pi p)) / 2: from lr at p = 0 down to min_lr at p = 1."""
    return lambda progress: min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


# name -> the schedule built from a config's learning-rate settings
SCHEDULES: dict[str, Callable[[TrainConfig], Schedule]] = {
    "constant": lambda cfg: constant_schedule(cfg.lr),
    "step": lambda cfg: step_schedule(cfg.lr, cfg.epochs, cfg.lr_step_epochs, cfg.lr_gamma),
    "cosine": lambda cfg: cosine_schedule(cfg.lr, cfg.min_lr),
}


def make_schedule(cfg: TrainConfig) -> Schedule:
    """The learning-rate schedule ``cfg.schedule`` names, with the config's settings."""
    return SCHEDULES[cfg.schedule](cfg)
