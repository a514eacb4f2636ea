"""A training run's own process (``python -m app.training_job HOME RUN_ID``): the run itself.

It reads the run's parameters from the store in HOME, trains, and writes what happens as events to
the store, where any web worker can stream them to any number of watchers. Watchers never talk to
this process, so a slow or vanished watcher cannot slow the run. A finished run becomes a new
immutable model version. SIGUSR1 stops the run between two batches; so does the cancel flag, read
twice a second, and a server that went away. The server's side (starting, cancelling, reaping,
watching heartbeats) is app.run_control.

Heartbeats: a thread of the run's process writes the run's heartbeat every HEARTBEAT_S seconds.
A host that dies takes its runs' processes with it, and their heartbeats stop; every host looks
for runs silent for DIGITNET_HEARTBEAT_TIMEOUT seconds (by the database's clock) and ends them as
interrupted. While the database is away the run trains on: progress events are dropped, its
outcome waits for the database, and a run that a host ended meanwhile stops at the next heartbeat.

The signal protocol: the server starts the process with SIGUSR1 blocked (a child inherits the signal
mask of the thread that starts it), and the run unblocks it once its handler is set. A cancel sent
while Python was still starting waits, instead of killing the process (SIGUSR1's default action).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from app import eval_sets, reports
from app.db import UnavailableError
from app.feedback import FeedbackStore
from app.settings import Settings
from app.store import Store
from app.training import FEEDBACK_COPIES, dataset, feedback_examples, run_meta
from model.config import TrainConfig
from model.data.mnist import Mnist, load_mnist
from model.network import Network
from model.serialize import save_model
from model.train import BatchEnd, Cancelled, Diverged, EpochEnd, Finished, train

BATCH_EVENTS_PER_S = 4.0  # batch losses are thinned to this rate
CANCEL_POLL_S = 0.5  # the database's cancel flag is read this often (the signal is immediate)
HEARTBEAT_S = 2.0  # the run's process says it is alive this often
FINAL_WAIT_S = 600.0  # how long the run's outcome waits for a database that went away
log = logging.getLogger("digitnet")
T = TypeVar("T")


class Run:
    """Turns trainer events into stored events, thinned and with progress and time left."""

    def __init__(self, store: Store, run_id: str, cfg: TrainConfig) -> None:
        self.store, self.run_id, self.cfg = store, run_id, cfg
        self.start = time.monotonic()
        self.last_batch_event = 0.0
        self.last_poll = 0.0
        self.stop = False
        self.parent = os.getppid()
        self.orphaned = False
        self.ended_elsewhere = False  # a host that heard no heartbeat ended the run meanwhile

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self.stop and now - self.last_poll > CANCEL_POLL_S:
            self.last_poll = now
            # a server that died (even by SIGKILL) leaves us re-parented: the run ends as interrupted
            self.orphaned = os.getppid() != self.parent
            try:
                cancelled = self.store.cancel_requested(self.run_id)
            except UnavailableError:  # the database is away: train on, the heartbeat keeps trying
                cancelled = False
            self.stop = self.orphaned or self.ended_elsewhere or cancelled
        return self.stop

    def progress(self, epoch: int, batch: int, n_batches: int) -> dict[str, float | None]:
        done = ((epoch - 1) * n_batches + batch) / (self.cfg.epochs * n_batches)
        elapsed = time.monotonic() - self.start
        return {"progress": round(done, 4), "elapsed_s": round(elapsed, 2),
                "eta_s": round(elapsed / done * (1 - done), 2) if done else None}

    def batch(self, e: BatchEnd) -> None:
        now = time.monotonic()
        if now - self.last_batch_event < 1.0 / BATCH_EVENTS_PER_S and e.batch != e.n_batches:
            return
        self.last_batch_event = now
        self.record("batch", {"epoch": e.epoch, "batch": e.batch, "n_batches": e.n_batches, "loss": e.loss,
                              "lr": e.lr, **self.progress(e.epoch, e.batch, e.n_batches)})

    def epoch(self, e: EpochEnd, n_batches: int) -> None:
        data = {k: v for k, v in dataclasses.asdict(e).items()}
        self.record("epoch", {**data, **self.progress(e.epoch, n_batches, n_batches)})

    def record(self, kind: str, data: dict[str, Any]) -> None:
        """Store one progress event; while the database is away, progress is not kept (the outcome
        is: ``end`` waits for the database)."""
        try:
            self.store.add_events(self.run_id, [(kind, data)])
        except UnavailableError as exc:
            log.warning("event not stored: %s", exc)


class Heartbeat(threading.Thread):
    """Writes the run's heartbeat every HEARTBEAT_S seconds, from a thread of normal priority (it is
    started before the run yields the CPU: app.training_job.yield_cpu changes only its own thread).
    When the run turns out to be ended already (a host heard no heartbeat for too long), it stops
    the run; ``done`` stops the beats once the run is over (in its own process that is the end
    anyway; a run executed inside another process, as tests do, leaves no thread behind)."""

    def __init__(self, store: Store, job: Run) -> None:
        super().__init__(daemon=True, name="heartbeat")
        self.store, self.job = store, job
        self.done = threading.Event()

    def run(self) -> None:
        while not self.job.ended_elsewhere:
            try:
                if not self.store.heartbeat(self.job.run_id):
                    self.job.ended_elsewhere = self.job.stop = True
            except Exception as exc:  # the database away or locked: the beat after this one may pass
                log.warning("heartbeat not stored: %s", exc)
            if self.done.wait(HEARTBEAT_S):
                return


def _feedback(store: Store, params: dict[str, Any], seed: int
              ) -> tuple[tuple[np.ndarray, np.ndarray], dict[str, Any] | None]:
    """The people's drawings the run was started with (their ids are in its parameters), drawn
    FEEDBACK_COPIES times each; and what to record of them (None when the run uses none)."""
    ids = params.get("feedback_ids")
    if not ids:
        return (np.empty((0, 784), np.float32), np.empty(0, np.uint8)), None
    drawings = FeedbackStore(store, 0, 0).drawings(ids)
    x, y = feedback_examples(drawings, FEEDBACK_COPIES, np.random.default_rng(seed))
    labelled = json.dumps(list(zip(drawings["ids"], drawings["labels"].tolist(), strict=True)))
    return (x, y), {"count": len(drawings["ids"]), "copies": FEEDBACK_COPIES, "ids": drawings["ids"],
                    "sha256": hashlib.sha256(labelled.encode()).hexdigest()}


def judged(store: Store, network: Network, mnist: Mnist, pendigits: str | None) -> dict[str, Any]:
    """What a new version is judged on, as its report (app.reports): MNIST's test digits, the held-out
    people's drawings and, when the server knows where they are, the pen digits drawn as the page
    draws them. Its scores (accuracy and count per set) are read from it."""
    mnist_test = eval_sets.mnist_test(mnist.test_images, mnist.test_labels)
    return reports.report(network, eval_sets.gather(store, mnist_test, pendigits))


def finish(store: Store, run_id: str, cfg: TrainConfig, event: Finished, mnist: Mnist,
           history: list[dict[str, Any]], feedback: dict[str, Any] | None = None,
           pendigits: str | None = None) -> str:
    """Save the trained network as a new version (atomic write) and record it with its scores, and
    its report beside them in the version's row (not in the file: it is the server's judgement)."""
    version_id = f"run-{run_id}"
    path = store.versions.folder / f"{version_id}.npz"
    report = _until_stored(lambda: judged(store, event.network, mnist, pendigits))
    meta = run_meta(cfg, event, history, mnist.checksums, run_id=run_id, feedback=feedback,
                    scores=reports.scores(report))
    save_model(path, event.network, meta)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _until_stored(lambda: store.versions.add(version_id, path, digest, event.test_accuracy,
                                             {**meta, "report": report}, run_id))
    return version_id


def execute(store: Store, run_id: str) -> None:
    params = store.get_run(run_id)["params"]
    cfg = TrainConfig.from_dict(params["config"])
    run = Run(store, run_id, cfg)
    heartbeat = Heartbeat(store, run)
    heartbeat.start()
    try:
        _train(store, run_id, run, params)
    finally:
        heartbeat.done.set()


def _train(store: Store, run_id: str, run: Run, params: dict[str, Any]) -> None:
    """The run, from the moment its heartbeat beats: train, and record the outcome."""
    cfg = run.cfg
    yield_cpu()
    signal.signal(signal.SIGUSR1, lambda *_: setattr(run, "stop", True))
    # blocked since the server started us (see the module docstring): a pending cancel arrives now
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    store.update_run(run_id, status="running", pid=os.getpid(), started_at=time.time())
    mnist = load_mnist(params.get("data"))
    feedback, used = _feedback(store, params, cfg.seed)
    data = dataset(mnist, *feedback) if used else dataset(mnist)
    history: list[dict[str, Any]] = []
    n_batches = 1
    for event in train(cfg, data, should_stop=run.should_stop):
        if isinstance(event, BatchEnd):
            n_batches = event.n_batches
            run.batch(event)
        elif isinstance(event, EpochEnd):
            history.append(dataclasses.asdict(event))
            run.epoch(event, n_batches)
        elif isinstance(event, Finished):
            version_id = finish(store, run_id, cfg, event, mnist, history, used,
                                params.get("pendigits"))
            end(store, run_id, "finished", None, version_id=version_id, test_accuracy=event.test_accuracy)
        elif isinstance(event, Diverged):
            end(store, run_id, "diverged", event.reason)
        elif isinstance(event, Cancelled) and run.ended_elsewhere:
            return  # its outcome is recorded already
        elif isinstance(event, Cancelled) and run.orphaned:
            end(store, run_id, "interrupted", "the server stopped during the run")
        elif isinstance(event, Cancelled):
            end(store, run_id, "cancelled", f"cancelled at epoch {event.epoch}, batch {event.batch}")


def end(store: Store, run_id: str, status: str, reason: str | None, **fields: Any) -> None:
    """The final status and the final event, together (unless the run was ended already)."""
    _until_stored(lambda: store.end_if_active(run_id, status, reason, **fields))


def _until_stored(use_database: Callable[[], T]) -> T:
    """What the run's outcome needs of the database (its scores, its version, its final status),
    tried again while the database is away (up to FINAL_WAIT_S): a run that trained for an hour is
    not lost to a database restart."""
    deadline = time.monotonic() + FINAL_WAIT_S
    while True:
        try:
            return use_database()
        except UnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def yield_cpu() -> None:
    """Predictions come first: the run takes the CPU time the server leaves.

    SCHED_IDLE (Linux) runs this process only on a CPU with nothing else to do, and a waking server
    takes the CPU back at once; with nice 10 alone the server waited for the run's time slices
    (docs/performance.md, Serving). A server saturated for long starves the run; that
    is the order we want. Where SCHED_IDLE is missing, nice 10.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(10)


def main(argv: list[str]) -> int:
    """``python -m app.training_job HOME RUN_ID``: train the run, end it with its outcome."""
    home, run_id = Path(argv[1]), argv[2]
    store = Store(home, Settings.from_env().database_url)
    try:
        execute(store, run_id)
    except Exception as exc:  # any failure ends the run with its reason, never a silent hang
        end(store, run_id, "failed", f"{type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
