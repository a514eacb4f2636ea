"""Mini-batch gradient descent as an iterator of events.

One epoch visits the training set once in a fresh random order, in mini-batches of B examples.
For each batch the network computes the cost C and its gradient g = dC/dtheta by backpropagation,
and the optimiser moves theta against it (``theta <- theta - lr g`` for plain SGD). The caller
reads events as they happen: ``BatchEnd`` after every step, ``EpochEnd`` with the epoch's metrics,
and exactly one final event, ``Finished``, ``Diverged`` or ``Cancelled``. Nothing is printed here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from model.batches import BatchSource, as_float, split_validation
from model.config import TrainConfig
from model.images.augment import augment_pieces
from model.network import Network
from model.optim import make_optimizer, make_schedule

Array = np.ndarray
# A run has diverged when its batch loss grows this many times past the first batch's loss: healthy
# training only ever brings the loss down from there (at chance, cross-entropy is ln 10 = 2.3).
DIVERGENCE_FACTOR = 100.0


@dataclass(frozen=True)
class Dataset:
    """Training and test digits: images (N, 784) uint8 or floats in [0, 1], labels (N,) ints."""

    train_x: Array
    train_y: Array
    test_x: Array
    test_y: Array


@dataclass(frozen=True)
class BatchEnd:
    epoch: int
    batch: int
    n_batches: int
    loss: float
    lr: float


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    validation_accuracy: float | None
    seconds: float
    samples_per_s: float


@dataclass(frozen=True)
class Finished:
    network: Network
    test_accuracy: float
    seconds: float


@dataclass(frozen=True)
class Diverged:
    reason: str
    epoch: int
    batch: int


@dataclass(frozen=True)
class Cancelled:
    epoch: int
    batch: int


Event = BatchEnd | EpochEnd | Finished | Diverged | Cancelled


def evaluate(net: Network, x: Array, y: Array, batch: int = 5000) -> tuple[float, float, Array]:
    """The network's own mean cost (without any L2 term), accuracy and predicted digits on (x, y).

    In batches of ``batch`` digits, fewer for a convolutional network (``Network.rows_per_pass``).
    """
    batch = min(batch, net.rows_per_pass())
    predictions = np.empty(len(y), dtype=np.int64)
    total = 0.0
    for start in range(0, len(y), batch):
        xb = as_float(x[start : start + batch], net.dtype)
        yb = y[start : start + batch]
        loss, probs = net.loss_and_probs(xb, yb)
        total += loss * len(yb)
        predictions[start : start + len(yb)] = probs.argmax(axis=1)
    return total / len(y), float((predictions == y).mean()), predictions


class DivergenceCheck:
    """Ends a run the moment its loss or weights go bad, with a reason to show the user.

    A batch loss that is not finite, or over ``DIVERGENCE_FACTOR`` times the first batch's, means
    the steps overshoot: the learning rate is too large. The first batch's loss is floored at
    ln K (chance level for K classes), so a run that starts from an already good network, with a
    tiny first loss, does not trip on ordinary noise.
    """

    def __init__(self, n_classes: int) -> None:
        self.floor = math.log(n_classes)
        self.first_loss: float | None = None

    def loss(self, loss: float, epoch: int, batch: int) -> str | None:
        """Why the run must stop after this batch's ``loss``, or None to go on."""
        if self.first_loss is None:
            self.first_loss = max(loss, self.floor)
        if math.isfinite(loss) and loss <= DIVERGENCE_FACTOR * self.first_loss:
            return None
        return (
            f"the loss became {loss:.4g} at epoch {epoch}, batch {batch} "
            f"(first batch: {self.first_loss:.4g}); try a smaller learning rate"
        )

    def weights(self, theta: Array, epoch: int) -> str | None:
        """Why the run must stop after an epoch that left ``theta`` non-finite, or None.

        A NaN or inf in theta shows in the very next batch's loss (0 * inf and 0 * NaN are NaN,
        and max(NaN, 0) is NaN), so the loss check stops such a run at once. This check is the
        guarantee for the last batch of an epoch; theta . theta is also inf when entries are so
        large that their squares overflow.
        """
        if np.isfinite(np.dot(theta, theta)):
            return None
        return f"the weights became non-finite in epoch {epoch}"


def _training_data(
    cfg: TrainConfig, data: Dataset, rng: np.random.Generator
) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    """The first ``cfg.limit`` training digits (0: all), less ``cfg.validation`` held out at random.

    Returns ``(x, y), (val_x, val_y)``. uint8 digits stay uint8: ``BatchSource`` scales them a
    batch at a time, ``augment_pieces`` a piece at a time.
    """
    limit = cfg.limit or None
    (x, y), validation = split_validation(
        data.train_x[:limit], data.train_y[:limit].astype(np.int64), cfg.validation, rng
    )
    if x.dtype != np.uint8:
        x = as_float(x, np.dtype(cfg.dtype))
    return (x, y), validation


def train(
    cfg: TrainConfig,
    data: Dataset,
    should_stop: Callable[[], bool] | None = None,
    net: Network | None = None,
) -> Iterator[Event]:
    """Train a network on ``data`` with the hyperparameters ``cfg``, yielding events.

    ``should_stop`` is polled between batches, and with augmentation before each piece of the
    epoch's distortions (so a cancel waits for one piece, not the whole set); when it returns True
    the run ends with ``Cancelled``. A bad loss or theta (see ``DivergenceCheck``) ends it at once
    with ``Diverged``. Every random draw comes from one generator seeded with ``cfg.seed``, in a fixed
    order (initial weights, validation split, then per epoch: distortions, shuffle), so the same
    config gives the same theta.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    dtype = np.dtype(cfg.dtype)
    if net is None:
        net = Network(cfg.architecture(data.train_x.shape[1]), dtype=dtype)
        net.initialize(rng)
    (clean_x, train_y), (val_x, val_y) = _training_data(cfg, data, rng)
    stop = should_stop or (lambda: False)
    # With augmentation each epoch distorts the clean digits into this one buffer, which the batches
    # read; in the network's dtype, as the batches' buffer is (floats are copied into it as they are).
    epoch_x = np.empty((len(train_y), clean_x.shape[1]), dtype) if cfg.augment else clean_x
    batches = BatchSource(epoch_x, cfg.batch_size, dtype)
    n, n_batches = len(train_y), batches.count(len(train_y))
    optimizer, lr_at = make_optimizer(cfg, net.theta), make_schedule(cfg)
    check = DivergenceCheck(net.arch.sizes[-1])
    predicted = np.empty(n, dtype=np.intp)  # an epoch's predicted digits, in the order it visits them
    for epoch in range(1, cfg.epochs + 1):
        epoch_start = time.perf_counter()
        for _ in augment_pieces(clean_x, rng, cfg.augment, epoch_x) if cfg.augment else ():
            if stop():
                yield Cancelled(epoch, 0)
                return
        order, loss_sum = rng.permutation(n), 0.0
        for b, (x, y) in enumerate(batches.epoch(epoch_x, train_y, order)):
            if stop():
                yield Cancelled(epoch, b)
                return
            loss, probs = net.loss_and_gradient(x, y, cfg.l2)
            if reason := check.loss(loss, epoch, b + 1):
                yield Diverged(reason, epoch, b + 1)
                return
            lr = lr_at(((epoch - 1) * n_batches + b) / (cfg.epochs * n_batches))
            optimizer.step(net.theta, net.grad, lr)
            loss_sum += loss * len(y)
            predicted[b * cfg.batch_size : b * cfg.batch_size + len(y)] = probs.argmax(axis=1)
            yield BatchEnd(epoch, b + 1, n_batches, loss, lr)
        # the training accuracy: each digit read as it was when its batch was seen (before the step)
        correct = np.count_nonzero(predicted == train_y[order])
        if reason := check.weights(net.theta, epoch):
            yield Diverged(reason, epoch, n_batches)
            return
        seconds = time.perf_counter() - epoch_start
        test_loss, test_acc, _ = evaluate(net, data.test_x, data.test_y.astype(np.int64))
        val_acc = evaluate(net, val_x, val_y)[1] if len(val_y) else None
        yield EpochEnd(epoch, cfg.epochs, loss_sum / n, correct / n, test_loss, test_acc,
                       val_acc, seconds, n / seconds)
    yield Finished(net, test_acc, time.perf_counter() - start)
