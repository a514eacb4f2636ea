"""Reports as the API shows them (app.web.schemas.reports): one version's, or two versions compared.

A version's figures are the ones stored when it was made (app.reports.compute), on the sets as they are on
this server now: the held-out figures are computed again when the drawings changed since. Two
versions are compared on the sets both were judged on with the same contents.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from app.reading.serving import ModelHolder
from app.reports import compute as reports
from app.reports import eval_sets
from app.reports.eval_sets import HELD_OUT, MNIST_TEST, PENDIGITS, SET_NAMES, EvalSet
from app.settings import Settings
from app.state.store import Store
from app.state.versions import DEFAULT_VERSION
from model.evaluate import Evaluation, compare

LABELS = {MNIST_TEST: "MNIST test digits", HELD_OUT: "held-out drawings", PENDIGITS: "pen digits"}


class NotReadyError(Exception):
    """The shipped model's report is still being computed at start."""


def _number(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 6)


def _same(evaluation_set: EvalSet | None, key: str) -> EvalSet | None:
    """The set as this server has it, if it is the one the figures were computed on."""
    return evaluation_set if evaluation_set is not None and evaluation_set.key == key else None


def _pixels(evaluation_set: EvalSet | None, index: int, key: str) -> str | None:
    named = _same(evaluation_set, key)
    return base64.b64encode(named.digit28(index)).decode() if named is not None else None


class Reports:
    """The reports of a server's versions: ``settings`` says where MNIST and the pen digits are."""

    def __init__(self, store: Store, holder: ModelHolder, settings: Settings) -> None:
        self.store, self.holder, self.settings = store, holder, settings

    def sets(self, names: set[str]) -> dict[str, EvalSet]:
        """The sets named, as this server has them (those it lacks are left out)."""
        found: dict[str, EvalSet | None] = {HELD_OUT: eval_sets.held_out(self.store)}
        if MNIST_TEST in names:
            found[MNIST_TEST] = eval_sets.mnist_test_from(self.settings.data_dir)
        if PENDIGITS in names and self.settings.pendigits:
            found[PENDIGITS] = eval_sets.pendigits_from(self.settings.pendigits)
        return {name: s for name, s in found.items() if s is not None}

    def figures(self, version_id: str) -> dict[str, Any]:
        """The version's stored figures by set, the held-out ones of the drawings as they are now.
        NotFoundError for no such version, NotReadyError while the shipped model's is computed."""
        made = reports.stored(self.store, version_id, self.settings.weights)
        if made is None and version_id == DEFAULT_VERSION:
            reports.start_default(self.store, self.settings)  # nothing to do if it is under way
            raise NotReadyError(version_id)
        if made is None:
            return reports.make_late(self.store, version_id, self.holder.load(version_id).network,
                                     self.settings)
        return reports.current(self.store, version_id, lambda: self.holder.load(version_id).network, made,
                               eval_sets.held_out(self.store))

    def report(self, version_id: str, shown: int) -> dict[str, Any]:
        made = self.figures(version_id)
        sets = self.sets(set(made))
        return {"version": version_id, "sets": [self._set(name, made[name], sets.get(name), shown)
                                                 for name in SET_NAMES if name in made]}

    @staticmethod
    def _set(name: str, figures: dict[str, Any], evaluation_set: EvalSet | None, shown: int
             ) -> dict[str, Any]:
        e = reports.from_figures(figures)
        support = e.confusion.sum(axis=1)
        order = np.argsort(-e.sure, kind="stable")  # the surest mistakes first
        named = _same(evaluation_set, figures["key"])
        misread = [{"item": named.item(int(e.misread[k])) if named else int(e.misread[k]),
                    "label": int(e.label[k]), "read": int(e.read[k]),
                    "sure": float(e.sure[k]),
                    "digit28": _pixels(named, int(e.misread[k]), figures["key"]) if rank < shown else None}
                   for rank, k in enumerate(order)]
        return {"name": name, "count": e.count, "accuracy": _number(e.accuracy) if e.count else None,
                "per_digit": [{"digit": d, "count": int(support[d]), "accuracy": _number(e.per_digit[d])}
                              for d in range(len(support))],
                "confusion": e.confusion.tolist(), "misread": misread}

    def comparison(self, a: str, b: str, shown: int) -> dict[str, Any]:
        """Version b beside version a on every set both were judged on with the same contents."""
        figures_a, figures_b = self.figures(a), self.figures(b)
        names = [n for n in SET_NAMES if n in figures_a and n in figures_b
                 and figures_a[n]["key"] == figures_b[n]["key"]]
        sets = self.sets(set(names))
        compared = [_compared(n, figures_a[n], figures_b[n], sets.get(n), shown) for n in names]
        first = next((c for c in compared if c["name"] == HELD_OUT and c["count"]), None) or \
            next((c for c in compared if c["name"] == MNIST_TEST), None)
        return {"a": a, "b": b, "sets": compared,
                "summary": first["summary"] if first else "no set both were judged on"}


def summary_line(name: str, a: Evaluation, b: Evaluation) -> str:
    """What b does better and worse than a on one set, in one line: "reads 14 more of the 52
    held-out drawings right, 3 fewer; 7s: -1.2 points" (the digit that lost most, else gained most)."""
    change = compare(a, b)
    line = f"reads {len(change.gained)} more of the {a.count} {LABELS[name]} right, {len(change.lost)} fewer"
    points = np.nan_to_num(change.change * 100.0)
    digit = int(np.argmin(points)) if points.min() < 0 else int(np.argmax(points))
    if abs(points[digit]) >= 0.05:  # shown to one decimal: a smaller change would read +0.0
        line += f"; {digit}s: {points[digit]:+.1f} points"
    return line


def _compared(name: str, figures_a: dict[str, Any], figures_b: dict[str, Any],
              evaluation_set: EvalSet | None, shown: int) -> dict[str, Any]:
    a, b = reports.from_figures(figures_a), reports.from_figures(figures_b)
    change = compare(a, b)
    named = _same(evaluation_set, figures_a["key"])
    read_a = dict(zip(a.misread.tolist(), a.read.tolist(), strict=True))
    read_b = dict(zip(b.misread.tolist(), b.read.tolist(), strict=True))
    labels = dict(zip(a.misread.tolist(), a.label.tolist(), strict=True)) | \
        dict(zip(b.misread.tolist(), b.label.tolist(), strict=True))

    def changed(indices: np.ndarray) -> list[dict[str, Any]]:
        return [{"item": named.item(n) if named else n, "label": labels[n],
                 "read_a": read_a.get(n, labels[n]), "read_b": read_b.get(n, labels[n]),
                 "digit28": _pixels(named, n, figures_a["key"]) if rank < shown else None}
                for rank, n in enumerate(indices.tolist())]

    support = a.confusion.sum(axis=1)
    return {"name": name, "count": a.count, "accuracy_a": _number(a.accuracy) if a.count else None,
            "accuracy_b": _number(b.accuracy) if b.count else None,
            "per_digit": [{"digit": d, "count": int(support[d]), "a": _number(a.per_digit[d]),
                           "b": _number(b.per_digit[d]), "difference": _number(change.change[d])}
                          for d in range(len(support))],
            "gained": changed(change.gained), "lost": changed(change.lost),
            "summary": summary_line(name, a, b)}
