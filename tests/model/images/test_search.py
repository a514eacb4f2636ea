"""Segmentation by recognition: the least costly path through the cuts, on hand-made cases."""

import numpy as np
import pytest

from model.images import search
from model.images.budget import Budget, OverBudgetError
from model.images.pieces import Page, Piece, cut_columns, vector
from model.images.search import (
    best_path,
    candidate_columns,
    cut_sheared,
    segment_piece,
    sheared_columns,
    spans,
)
from tests.model.images.test_segment import digit_shaped, draw, ring, sure_stub

LINE = 99.0  # the rings' height, pen included


def toy_cost(prices: dict[tuple[int, int], float], asked: list[tuple[int, int]]):
    """A scorer that prices the spans it knows and rules out the others; it notes what it is asked."""
    def cost(runs: list[tuple[int, int]]) -> np.ndarray:
        asked.extend(runs)
        return np.array([prices.get(run, np.inf) for run in runs])
    return cost


def test_the_path_is_the_one_the_scorer_prefers() -> None:
    asked: list[tuple[int, int]] = []
    prices = {(0, 4): 3.0, (0, 1): 1.0, (1, 4): 1.5, (0, 2): 0.5, (2, 4): 0.5}
    assert best_path(4, toy_cost(prices, asked)) == [0, 2, 4]
    assert sorted(asked) == spans(4) and len(set(asked)) == len(asked)  # each span asked once
    prices[(0, 4)] = 0.9  # the whole is now cheaper than any cut
    assert best_path(4, toy_cost(prices, [])) == [0, 4]


def test_no_span_longer_than_span_atoms_but_the_whole() -> None:
    assert spans(3, 2) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    long = [(i, j) for i, j in spans(9) if j - i > search.SPAN]
    assert long == [(0, 9)]
    # three digits of three atoms each cost 3.0 in all, the whole 2.5
    assert best_path(9, toy_cost({(0, 3): 1.0, (3, 6): 1.0, (6, 9): 1.0, (0, 9): 2.5}, [])) == [0, 9]


def test_when_every_path_is_ruled_out_the_piece_stays_whole() -> None:
    assert best_path(3, toy_cost({}, [])) == [0, 3]


def piece(ink: np.ndarray) -> Piece:
    mask = ink >= 0.5
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])
    return Piece(box, mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def test_two_touching_rings_are_cut_where_they_meet() -> None:
    ink = draw(ring(120), ring(180))  # their inks meet about x = 150, where a column holds least ink
    whole = piece(ink)
    cuts = candidate_columns(whole, LINE)
    assert 1 <= len(cuts) <= search.MAX_CUTS
    found = segment_piece(whole, LINE, Page(ink, digit_shaped, Budget(100, 10**7)))
    assert len(found) == 2
    assert 145 <= found[0].box[2] <= 155 and 145 <= found[1].box[0] <= 155
    # as sure of one digit as of two, with the energy of a digit for both: no cut pays
    as_digits = Page(ink, lambda x: sure_stub(x) + search.ENERGY_FLOOR, Budget(100, 10**7))
    assert len(segment_piece(whole, LINE, as_digits)) == 1


def test_one_wide_ring_stays_whole() -> None:
    ink = draw(ring(150, rx=40))  # wider than TRY of its height, not as wide as high
    found = segment_piece(piece(ink), LINE, Page(ink, digit_shaped, Budget(100, 10**7)))
    assert len(found) == 1


def test_each_candidate_is_read_once_within_the_budget() -> None:
    ink = draw(ring(100, rx=30), ring(160, rx=30), ring(220, rx=30))
    whole = piece(ink)
    counts = [len(candidate_columns(whole, LINE, sheared_columns(whole, s))) + 1 for s in search.SLANTS]
    budget = Budget(100, 10**7)
    segment_piece(whole, LINE, Page(ink, digit_shaped, budget))
    assert 0 < budget.steps <= sum(len(spans(c)) for c in counts)  # each candidate once a slant
    assert budget.steps <= len(search.SLANTS) * len(spans(search.MAX_CUTS + 1))
    with pytest.raises(OverBudgetError, match="more than 3 network inputs"):
        segment_piece(whole, LINE, Page(ink, digit_shaped, Budget(3, 10**7)))


def test_sheared_columns_lean_with_the_slant_and_slant_0_is_the_columns() -> None:
    mask = np.random.default_rng(0).random((5, 7)) < 0.5
    p = Piece(np.array([10, 20, 17, 25]), mask)
    np.testing.assert_array_equal(sheared_columns(p, 0.0), np.broadcast_to(np.arange(7), (5, 7)))
    leaned = sheared_columns(p, 0.5)  # x' = x - 0.5 (y - 2): the top row right of the bottom one
    assert leaned.min() == 0 and (leaned[0] - leaned[4] == 2).all() and (np.diff(leaned, axis=1) == 1).all()
    for lo, hi in [(0, 3), (2, 7), (6, 7)]:
        a, b = cut_sheared(p, sheared_columns(p, 0.0), lo, hi), cut_columns(p, lo, hi)
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            np.testing.assert_array_equal(a.box, b.box)
            np.testing.assert_array_equal(a.mask, b.mask)


def leaning(cx: float, lean: float) -> list[tuple[float, float]]:
    """A ring whose points move right by ``lean`` (y - 70): a 0 slanted as handwriting slants."""
    return [(x + lean * (y - 70), y) for x, y in ring(cx)]


def test_two_slanted_digits_that_share_columns_are_cut_along_their_slant(monkeypatch) -> None:
    """Two 0s leaning 0.3 that touch: every vertical column through their meeting crosses both, so
    a cut along a column takes part of each; cut along the lean, each 0 comes out whole. The
    "network" here knows these two 0s: the energy of a digit for an input like either's own (as
    each reads drawn alone), of a slice otherwise."""
    zeros = [leaning(cx, -0.3) for cx in (120, 178)]
    alone = [vector(piece(draw(z)), Page(draw(z), sure_stub, Budget(10, 10**7))) for z in zeros]
    known = np.stack([v / np.linalg.norm(v) for v in alone if v is not None])

    def knows_the_zeros(x: np.ndarray) -> np.ndarray:
        like = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ known.T  # cosine to each 0 alone
        return sure_stub(x) + np.where(like.max(axis=1) > 0.95, 12.0, 4.0)[:, None]

    ink = draw(*zeros)
    own = [draw(z) >= 0.5 for z in zeros]

    def each_zero_whole(found: list[Piece]) -> bool:
        """Two pieces, each holding 90% of one 0's pixels (the cut goes through where they touch)
        and nearly nothing of the other's."""
        masks = [np.zeros(ink.shape, dtype=bool) for _ in found]
        for m, p in zip(masks, found, strict=True):
            m[p.box[1] : p.box[3], p.box[0] : p.box[2]] = p.mask
        return len(found) == 2 and all((m & o).sum() >= 0.9 * o.sum() and (m & ~o).sum() <= 0.02 * o.sum()
                                       for m, o in zip(masks, own, strict=True))

    def read() -> list[Piece]:
        return segment_piece(piece(ink), LINE, Page(ink, knows_the_zeros, Budget(100, 10**7)))

    assert each_zero_whole(read())
    monkeypatch.setattr(search, "SLANTS", (0.0,))  # columns alone: no cut gives the two 0s
    assert not each_zero_whole(read())
