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

from model.augment import augment
from model.config import TrainConfig
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


def as_float(images: Array, dtype: np.dtype) -> Array:
    """uint8 pixels 0..255 -> floats 0..1 (floats are passed through in the wanted dtype)."""
    if images.dtype == np.uint8:
        return (images / np.float32(255.0)).astype(dtype)
    return np.asarray(images, dtype=dtype)


def evaluate(net: Network, x: Array, y: Array, batch: int = 5000) -> tuple[float, float, Array]:
    """The network's own mean cost (without any L2 term), accuracy and predicted digits on (x, y)."""
    predictions = np.empty(len(y), dtype=np.int64)
    total = 0.0
    for start in range(0, len(y), batch):
        xb = as_float(x[start : start + batch], net.dtype)
        yb = y[start : start + batch]
        loss, probs = net.loss_and_probs(xb, yb)
        total += loss * len(yb)
        predictions[start : start + len(yb)] = probs.argmax(axis=1)
    return total / len(y), float((predictions == y).mean()), predictions


def train(
    cfg: TrainConfig,
    data: Dataset,
    should_stop: Callable[[], bool] | None = None,
    net: Network | None = None,
) -> Iterator[Event]:
    """Train a network on ``data`` with the hyperparameters ``cfg``, yielding events.

    ``should_stop`` is polled between batches; when it returns True the run ends with
    ``Cancelled``. A non-finite loss or theta, or a batch loss over ``DIVERGENCE_FACTOR`` times the
    first batch's (or ln K, whichever is larger), ends it at once with ``Diverged``.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    dtype = np.dtype(cfg.dtype)
    if net is None:
        net = Network(cfg.architecture(data.train_x.shape[1]), dtype=dtype)
        net.initialize(rng)
    train_x, train_y = data.train_x, data.train_y.astype(np.int64)
    if cfg.limit:
        train_x, train_y = train_x[: cfg.limit], train_y[: cfg.limit]
    val_x, val_y = train_x[:0], train_y[:0]
    if cfg.validation:
        order = rng.permutation(len(train_y))
        val_idx, train_idx = order[: cfg.validation], order[cfg.validation :]
        val_x, val_y = train_x[val_idx], train_y[val_idx]
        train_x, train_y = train_x[train_idx], train_y[train_idx]
    # uint8 digits stay uint8 (a quarter of the memory) and are scaled batch by batch, unless the
    # augmentation needs the whole set as floats every epoch
    clean_x = as_float(train_x, dtype) if cfg.augment or train_x.dtype != np.uint8 else train_x
    test_y = data.test_y.astype(np.int64)
    n, B = len(train_y), cfg.batch_size
    n_batches = -(-n // B)
    optimizer = make_optimizer(cfg, net.theta)
    lr_at = make_schedule(cfg)
    x_buf = np.empty((B, clean_x.shape[1]), dtype=dtype)  # each batch is gathered into this
    raw_buf = np.empty((B, clean_x.shape[1]), dtype=np.uint8) if clean_x.dtype == np.uint8 else None
    total_steps = cfg.epochs * n_batches
    first_loss: float | None = None
    log_classes = math.log(net.arch.sizes[-1])
    for epoch in range(1, cfg.epochs + 1):
        epoch_start = time.perf_counter()
        epoch_x = augment(clean_x, rng, cfg.augment) if cfg.augment else clean_x
        order = rng.permutation(n)
        loss_sum, correct = 0.0, 0
        for b in range(n_batches):
            if should_stop is not None and should_stop():
                yield Cancelled(epoch, b)
                return
            idx = order[b * B : (b + 1) * B]
            xb = x_buf[: len(idx)]
            if raw_buf is not None:
                raw = raw_buf[: len(idx)]
                np.take(epoch_x, idx, axis=0, out=raw)
                np.divide(raw, dtype.type(255), out=xb)  # the same numbers as as_float, per batch
            else:
                np.take(epoch_x, idx, axis=0, out=xb)
            yb = train_y[idx]
            loss, probs = net.loss_and_gradient(xb, yb, cfg.l2)
            # the floor ln K (chance level) keeps a run that starts from a good network from tripping
            first_loss = max(loss, log_classes) if first_loss is None else first_loss
            if not np.isfinite(loss) or loss > DIVERGENCE_FACTOR * first_loss:
                yield Diverged(
                    f"the loss became {loss:.4g} at epoch {epoch}, batch {b + 1} "
                    f"(first batch: {first_loss:.4g}); try a smaller learning rate",
                    epoch, b + 1,
                )
                return
            lr = lr_at(((epoch - 1) * n_batches + b) / total_steps)
            optimizer.step(net.theta, net.grad, lr)
            loss_sum += loss * len(idx)
            correct += int((probs.argmax(axis=1) == yb).sum())
            yield BatchEnd(epoch, b + 1, n_batches, loss, lr)
        # A NaN or inf in theta shows in the very next batch's loss (0 * inf and 0 * NaN are NaN, and
        # max(NaN, 0) is NaN), so the per-batch loss check stops such a run at once. This check is
        # the guarantee for the last batch of the epoch.
        if not np.isfinite(np.dot(net.theta, net.theta)):
            yield Diverged(f"the weights became non-finite in epoch {epoch}", epoch, n_batches)
            return
        seconds = time.perf_counter() - epoch_start
        test_loss, test_acc, _ = evaluate(net, data.test_x, test_y)
        val_acc = evaluate(net, val_x, val_y)[1] if len(val_y) else None
        yield EpochEnd(epoch, cfg.epochs, loss_sum / n, correct / n, test_loss, test_acc,
                       val_acc, seconds, n / seconds)
    yield Finished(net, test_acc, time.perf_counter() - start)
