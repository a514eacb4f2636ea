"""A version's report: on each set it is judged on (app.reports.eval_sets), its model/evaluate.py figures.

Computed once, when the version is made: a run's process computes it beside the scores and stores it
in the version's ``meta`` (``report``); the shipped model ``default`` is not a row, so each host looks
at start, in a thread of its own, for ``report:default`` in the ``settings`` table and computes it
if it is missing or of other weights (one host or worker does it: it claims the work first).

The held-out drawings change after a version is made. Its stored figures carry the set's key; when
the set has changed, the figures are computed again on the set as it is now, on demand, and kept in
``settings`` under ``report:held-out:<version>`` until it changes again (``current``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.reports import eval_sets
from app.reports.eval_sets import HELD_OUT, EvalSet
from app.settings import Settings
from app.state.store import Store
from app.state.versions import DEFAULT_VERSION
from model.evaluate import Evaluation, evaluate_network
from model.network import Network
from model.serialize import load_model

log = logging.getLogger("digitnet")
DEFAULT_KEY = "report:default"
_made: dict[tuple[str, ...], dict[str, Any]] = {}  # the shipped model's reports made in this process
CLAIM_S = 600.0  # a claim on the shipped model's report older than this was left by a host that died


def figures(evaluation: Evaluation, key: str) -> dict[str, Any]:
    """An evaluation as stored (JSON): the set's key, C, and the misread by index in the set."""
    return {"key": key, "confusion": evaluation.confusion.tolist(), "misread": evaluation.misread.tolist(),
            "label": evaluation.label.tolist(), "read": evaluation.read.tolist(),
            "sure": [round(s, 4) for s in evaluation.sure.tolist()]}


def from_figures(stored: dict[str, Any]) -> Evaluation:
    return Evaluation(confusion=np.array(stored["confusion"], np.int64),
                      misread=np.array(stored["misread"], np.int64),
                      label=np.array(stored["label"], np.int64),
                      read=np.array(stored["read"], np.int64), sure=np.array(stored["sure"], np.float64))


def report(network: Network, sets: list[EvalSet]) -> dict[str, Any]:
    """The figures of ``network`` on each set, by the set's name."""
    return {s.name: figures(evaluate_network(network, s.x, s.y), s.key) for s in sets}


def scores(stored: dict[str, Any]) -> dict[str, Any]:
    """A report's accuracy and count per set, as a version's ``scores`` have them (MNIST's is the
    version's test_accuracy already)."""
    result = {}
    for name, figs in stored.items():
        if name != eval_sets.MNIST_TEST:
            evaluation = from_figures(figs)
            result[name] = {"accuracy": evaluation.accuracy if evaluation.count else None,
                            "count": evaluation.count}
    return result


def _get(store: Store, key: str) -> str | None:
    with store.db.connect() as db:
        row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _upsert(db: Any, key: str, value: str) -> None:
    db.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
               (key, value))


def _set(store: Store, key: str, value: str) -> None:
    with store.db.write() as db:
        _upsert(db, key, value)


def _sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256_of(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _sha256_of(path: Path, mtime_ns: int, size: int) -> str:
    """Read once for each (path, modification time, size): GET /versions asks every time."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_row(store: Store, weights: Path) -> dict[str, Any]:
    """The shipped model as GET /versions lists a version, with the scores of its report (none
    while it is computed). Its MNIST test accuracy is the report's, else (no MNIST here, or not
    computed yet) the one its file records, as a shipped extra model is listed with."""
    made = stored(store, DEFAULT_VERSION, weights) or {}
    mnist = from_figures(made[eval_sets.MNIST_TEST]) if eval_sets.MNIST_TEST in made else None
    stat = weights.stat()
    return {"id": DEFAULT_VERSION, "created_at": None, "run_id": None, "sha256": _sha256(weights),
            "test_accuracy": mnist.accuracy if mnist is not None and mnist.count
            else _recorded_accuracy(weights, stat.st_mtime_ns, stat.st_size),
            "scores": scores(made)}


@functools.lru_cache(maxsize=4)
def _recorded_accuracy(path: Path, mtime_ns: int, size: int) -> float | None:
    """The MNIST test accuracy a model file's metadata records; read once for each (path, time, size)."""
    value = load_model(path).meta.get("test_accuracy")
    return float(value) if value is not None else None


def stored(store: Store, version_id: str, weights: Path) -> dict[str, Any] | None:
    """The report made with the version (NotFoundError if there is no such version), or None: for
    ``default`` until it is computed (or when it was of other weights); for a version made before
    versions had reports, until ``make_late`` made it."""
    if version_id != DEFAULT_VERSION:
        made = store.versions.get(version_id)["meta"].get("report")
        late = _get(store, f"report:{version_id}") if made is None else None
        return json.loads(late) if late else made
    value = _get(store, DEFAULT_KEY)
    row = json.loads(value) if value else {}
    return row.get("report") if row.get("sha256") == _sha256(weights) else None


def current(store: Store, version_id: str, load: Callable[[], Network], made: dict[str, Any],
            held_out: EvalSet) -> dict[str, Any]:
    """The report ``made`` with the version, its held-out figures of the set as it is now (kept
    under report:held-out:<version> when they had to be computed again, by the network ``load``
    gives: loaded only then)."""
    if made.get(HELD_OUT, {}).get("key") == held_out.key:
        return made
    cache_key = f"report:held-out:{version_id}"
    cached = json.loads(_get(store, cache_key) or "{}")
    if cached.get("key") != held_out.key:
        cached = figures(evaluate_network(load(), held_out.x, held_out.y), held_out.key)
        _set(store, cache_key, json.dumps(cached))
    return {**made, HELD_OUT: cached}


def make_late(store: Store, version_id: str, network: Network, settings: Settings) -> dict[str, Any]:
    """The report of a version made before versions had one, on the sets this server has, made on
    the first ask and kept under report:<version> (the version's row stays as it was made)."""
    sets = eval_sets.gather(store, eval_sets.mnist_test_from(settings.data_dir), settings.pendigits)
    made = report(network, sets)
    _set(store, f"report:{version_id}", json.dumps(made))
    return made


def _claim_default(store: Store, sha256: str) -> bool:
    """True if this process should compute the shipped model's report: none is stored for these
    weights, and no other process claimed the work in the last CLAIM_S seconds."""
    value = _get(store, DEFAULT_KEY)
    if value and json.loads(value).get("sha256") == sha256:
        return False
    with store.db.write() as db:  # the look and the claim in one transaction
        row = db.execute("SELECT value FROM settings WHERE key = ?", (f"{DEFAULT_KEY}:claim",)).fetchone()
        claim = json.loads(row[0]) if row else {}
        if claim.get("sha256") == sha256 and time.time() - claim.get("at", 0) < CLAIM_S:
            return False
        _upsert(db, f"{DEFAULT_KEY}:claim", json.dumps({"sha256": sha256, "at": time.time()}))
    return True


def compute_default(store: Store, settings: Settings) -> bool:
    """Compute and store the shipped model's report unless it is there or claimed; True if it did."""
    sha256 = _sha256(settings.weights)
    if not _claim_default(store, sha256):
        return False
    started = time.monotonic()
    sets = eval_sets.gather(store, eval_sets.mnist_test_from(settings.data_dir), settings.pendigits)
    memo = (sha256, *(s.key for s in sets))  # a process that starts many apps (the tests) computes once
    if memo not in _made:
        _made[memo] = report(load_model(settings.weights).network, sets)
    made = _made[memo]
    _set(store, DEFAULT_KEY, json.dumps({"sha256": sha256, "report": made}))
    log.info("the shipped model's report is computed (%s) in %.1f s", ", ".join(made),
             time.monotonic() - started)
    return True


def start_default(store: Store, settings: Settings) -> threading.Thread:
    """``compute_default`` in a thread, so that start-up does not wait for it. Asked again (by a
    request for the report) after a failure, it tries again: the failure gives the claim back."""
    def run() -> None:
        try:
            compute_default(store, settings)
        except Exception as exc:  # a report is worth a log line, never a worker
            log.warning("could not compute the shipped model's report (%s: %s)", type(exc).__name__, exc)
            try:
                with store.db.write() as db:
                    db.execute("DELETE FROM settings WHERE key = ?", (f"{DEFAULT_KEY}:claim",))
            except Exception:  # the database is away: the claim runs out after CLAIM_S
                pass

    thread = threading.Thread(target=run, name="digitnet-report", daemon=True)
    thread.start()
    return thread
