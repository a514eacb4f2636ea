"""Where a network goes wrong on a labelled set: accuracy per digit, the confusion matrix, the misread.

With y_n the true digit of example n and r_n = argmax_k probs[n, k] the digit the network reads,
the confusion matrix counts every pair (true digit, digit read)::

    C[i, j] = #{n : y_n = i and r_n = j}        rows: the true digit, columns: what was read

so its diagonal is what was read right: accuracy = trace(C) / N, and digit i's accuracy is
C[i, i] / sum_j C[i, j] (undefined, NaN, for a digit the set has none of). The misread examples
are the n with r_n != y_n, each with how sure the network was of its wrong answer, probs[n, r_n].

Two networks judged on the same set differ example by example: ``compare`` gives the examples the
second reads right and the first wrong (gained), the reverse (lost), and each digit's change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.batches import as_float
from model.network import Network

Array = np.ndarray
K = 10  # digits


@dataclass(frozen=True)
class Evaluation:
    """One network on one set: ``confusion`` (K, K) counts; ``misread`` (m,) indices into the set,
    in order, with the true digit ``label`` (m,), the digit ``read`` (m,) and how ``sure`` (m,) the
    network was of it."""

    confusion: Array
    misread: Array
    label: Array
    read: Array
    sure: Array

    @property
    def count(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        """trace(C) / N; NaN for an empty set."""
        return float(np.trace(self.confusion) / self.count) if self.count else float("nan")

    @property
    def per_digit(self) -> Array:
        """(K,) C[i, i] / sum_j C[i, j]; NaN for a digit with no examples."""
        support = self.confusion.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.confusion) / support


def confusion_matrix(y: Array, read: Array, k: int = K) -> Array:
    """C (k, k) with C[i, j] = #{n : y_n = i, read_n = j}: pair (i, j) counted in bin i k + j."""
    y, read = np.asarray(y, np.int64), np.asarray(read, np.int64)
    return np.bincount(y * k + read, minlength=k * k).reshape(k, k)


def evaluate(probs: Array, y: Array) -> Evaluation:
    """The figures of ``probs`` (N, K), a network's probabilities, against the true digits ``y`` (N,)."""
    read = probs.argmax(axis=1)  # (N, K) -> (N,)
    misread = np.flatnonzero(read != y)
    return Evaluation(confusion=confusion_matrix(y, read, probs.shape[1]), misread=misread,
                      label=np.asarray(y, np.int64)[misread], read=read[misread],
                      sure=probs[misread, read[misread]].astype(np.float64))


def evaluate_network(net: Network, x: Array, y: Array) -> Evaluation:
    """``evaluate`` of the network's answers on ``x`` (N, 784): uint8 pixels or floats in [0, 1]."""
    if len(y) == 0:
        return evaluate(np.empty((0, K)), np.empty(0, np.int64))
    return evaluate(net.predict_proba(as_float(np.asarray(x), net.dtype)), np.asarray(y))


@dataclass(frozen=True)
class Comparison:
    """Network b beside network a on one set: ``gained`` (indices b reads right and a wrong),
    ``lost`` (a right, b wrong), and ``change`` (K,) b's per-digit accuracy minus a's."""

    gained: Array
    lost: Array
    change: Array


def compare(a: Evaluation, b: Evaluation) -> Comparison:
    """What changes from ``a`` to ``b``; both must be of the same set, in the same order."""
    if not np.array_equal(a.confusion.sum(axis=1), b.confusion.sum(axis=1)):
        raise ValueError("the two evaluations are not of the same set")
    return Comparison(gained=np.setdiff1d(a.misread, b.misread), lost=np.setdiff1d(b.misread, a.misread),
                      change=b.per_digit - a.per_digit)
