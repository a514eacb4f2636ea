"""Per-digit accuracy, the confusion matrix, the misread and a comparison, against loops written out."""

from __future__ import annotations

import numpy as np
import pytest

from model.architecture import Architecture
from model.evaluate import compare, confusion_matrix, evaluate, evaluate_network
from model.network import Network


def random_probs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(10), size=n)
    return probs, rng.integers(0, 10, size=n)


def test_the_figures_agree_with_a_direct_count() -> None:
    probs, y = random_probs(500, 0)
    y[y == 3] = 4  # a digit the set has none of
    got = evaluate(probs, y)
    confusion = np.zeros((10, 10), np.int64)
    misread = []
    for n in range(len(y)):
        read = int(np.argmax(probs[n]))
        confusion[y[n], read] += 1
        if read != y[n]:
            misread.append((n, int(y[n]), read, probs[n, read]))
    assert np.array_equal(got.confusion, confusion) and got.count == 500
    assert got.accuracy == pytest.approx(sum(confusion[i, i] for i in range(10)) / 500)
    for digit in range(10):
        of_digit = [n for n in range(len(y)) if y[n] == digit]
        if of_digit:
            right = sum(int(np.argmax(probs[n])) == digit for n in of_digit)
            assert got.per_digit[digit] == pytest.approx(right / len(of_digit))
        else:
            assert np.isnan(got.per_digit[digit])
    got_misread = zip(got.misread, got.label, got.read, got.sure, strict=True)
    assert [(int(n), int(y), int(r), float(s)) for n, y, r, s in got_misread] \
        == [(n, y, r, pytest.approx(s)) for n, y, r, s in misread]


def test_a_small_case_by_hand() -> None:
    # true 0 0 1 1, read 0 1 1 1: the second 0 is read as 1, with probability 0.6
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])
    got = evaluate(probs, np.array([0, 0, 1, 1]))
    assert got.confusion.tolist() == [[1, 1], [0, 2]] and got.accuracy == 0.75
    assert got.per_digit.tolist() == [0.5, 1.0]
    assert got.misread.tolist() == [1] and got.read.tolist() == [1] and got.sure.tolist() == [0.6]
    assert got.label.tolist() == [0]
    assert confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], k=2).tolist() == [[1, 1], [0, 2]]


def test_a_network_is_judged_on_its_own_answers_and_an_empty_set_is_no_error() -> None:
    net = Network(Architecture((784, 16, 10)), dtype=np.float64)
    net.initialize(np.random.default_rng(1))
    pixels = np.random.default_rng(2).integers(0, 256, size=(30, 784), dtype=np.uint8)
    y = np.arange(30) % 10
    got = evaluate_network(net, pixels, y)
    read = net.predict_proba(pixels / 255.0).argmax(axis=1)
    assert np.array_equal(got.misread, np.flatnonzero(read != y))
    empty = evaluate_network(net, np.empty((0, 784), np.uint8), np.empty(0, np.uint8))
    assert empty.count == 0 and np.isnan(empty.accuracy) and len(empty.misread) == 0


def test_compare_gives_what_each_reads_right_that_the_other_does_not() -> None:
    probs_a, y = random_probs(300, 3)
    probs_b, _ = random_probs(300, 4)
    a, b = evaluate(probs_a, y), evaluate(probs_b, y)
    right_a, right_b = probs_a.argmax(axis=1) == y, probs_b.argmax(axis=1) == y
    got = compare(a, b)
    assert got.gained.tolist() == [n for n in range(300) if right_b[n] and not right_a[n]]
    assert got.lost.tolist() == [n for n in range(300) if right_a[n] and not right_b[n]]
    assert np.allclose(got.change, b.per_digit - a.per_digit)
    # b's right count is a's, plus what it gained, less what it lost
    assert right_b.sum() == right_a.sum() + len(got.gained) - len(got.lost)
    with pytest.raises(ValueError, match="same set"):
        compare(a, evaluate(probs_b[:200], y[:200]))
