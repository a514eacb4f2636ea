"""One training run, whichever way it was started: ``digitnet train`` or the server's ``/train``.

A run is a ``RunSpec`` (the config and where its data comes from: MNIST, a pen file, people's
drawings); ``build_data`` reads that data, and ``execute`` trains on it, hands every batch and epoch
to a ``Sink`` (the command line's progress bar, the server's stored events) and writes the model
file with the same metadata both ways. What only one way knows (the command typed, the run id, the
server's scores) is added by its caller as ``origin``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.feedback.accepted import AcceptedDrawings, read_export
from app.feedback.reader import FeedbackReader
from app.pen.digits import load_pen_data
from app.runs.training import FEEDBACK_COPIES, dataset, feedback_examples, run_meta
from app.state.store import Store
from model.config import TrainConfig
from model.data.mnist import Mnist, load_mnist
from model.network import Network
from model.serialize import save_model
from model.train import BatchEnd, Cancelled, Diverged, EpochEnd, Finished, train


@dataclass(frozen=True)
class RunSpec:
    """What to train and on what. ``pen_copies`` 0 trains on no pen digits; people's drawings come
    from an export file (the command line) or by id from the store (a server run), never both."""

    config: TrainConfig
    mnist_dir: str | None = None
    pen_file: str | None = None
    pen_copies: int = 0
    feedback_file: str | None = None
    feedback_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunData:
    mnist: Mnist
    examples: Any  # model.train.Dataset: MNIST with the extra digits joined to its training part
    meta: dict[str, Any] = field(default_factory=dict)  # pen_data and feedback, as the file records them


class Sink(Protocol):
    """Where a run's progress goes as it trains."""

    def batch(self, event: BatchEnd) -> None: ...

    def epoch(self, event: EpochEnd) -> None: ...


@dataclass(frozen=True)
class Saved:
    event: Finished
    path: Path
    meta: dict[str, Any]


def build_data(spec: RunSpec, store: Store | None = None) -> RunData:
    """MNIST, with the pen digits and people's drawings the spec names joined to its training part."""
    mnist = load_mnist(spec.mnist_dir)
    extra_x, extra_y = np.empty((0, 784), np.float32), np.empty(0, np.uint8)
    pen_meta = None
    if spec.pen_file and spec.pen_copies:
        pen = load_pen_data(spec.pen_file, spec.pen_copies, spec.config.seed)
        extra_x, extra_y, pen_meta = pen.images, pen.labels, pen.meta
    drawings, feedback_meta = _feedback(spec, store)
    if drawings is not None:
        x, y = feedback_examples(drawings, FEEDBACK_COPIES, np.random.default_rng(spec.config.seed))
        extra_x, extra_y = np.concatenate([extra_x, x]), np.concatenate([extra_y, y])
    examples = dataset(mnist, extra_x, extra_y) if len(extra_y) else dataset(mnist)
    return RunData(mnist, examples, {"pen_data": pen_meta, "feedback": feedback_meta})


def _feedback(spec: RunSpec, store: Store | None) -> tuple[AcceptedDrawings | None, dict[str, Any] | None]:
    """People's drawings the run trains on (never the held-out ones), and what the model file records
    of them (None, None if none)."""
    if spec.feedback_file:
        drawings = read_export(spec.feedback_file).training_part()
    elif spec.feedback_ids and store is not None:
        drawings = FeedbackReader(store).drawings(list(spec.feedback_ids))
    else:
        return None, None
    labelled = json.dumps(drawings.labelled())
    meta = {"file": Path(spec.feedback_file).name if spec.feedback_file else None,
            "count": len(drawings), "copies": FEEDBACK_COPIES, "ids": drawings.ids,
            "sha256": hashlib.sha256(labelled.encode()).hexdigest()}
    return drawings, meta


def execute(spec: RunSpec, data: RunData, sink: Sink, should_stop: Callable[[], bool], out: Path,
            origin: Callable[[Network], dict[str, Any]]) -> Saved | Diverged | Cancelled:
    """Train; on success write the model file at ``out`` with the run's metadata, ``origin``'s (given
    the trained network) on top, and return it as ``Saved``; else the event that ended the run."""
    history: list[dict[str, Any]] = []
    for event in train(spec.config, data.examples, should_stop=should_stop):
        if isinstance(event, BatchEnd):
            sink.batch(event)
        elif isinstance(event, EpochEnd):
            history.append(dataclasses.asdict(event))
            sink.epoch(event)
        elif isinstance(event, Finished):
            meta = run_meta(spec.config, event, history, data.mnist.checksums, **data.meta,
                            **origin(event.network))
            save_model(out, event.network, meta)
            return Saved(event, out, meta)
        elif isinstance(event, Diverged | Cancelled):
            return event
    raise RuntimeError("training ended without a final event")
