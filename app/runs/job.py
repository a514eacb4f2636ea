"""A training run's own process (``python -m app.runs.job HOME RUN_ID``): the run itself.

It reads the run's parameters from the store in HOME, trains, and writes what happens as events to
the store, where any web worker can stream them to any number of watchers. Watchers never talk to
this process, so a slow or vanished watcher cannot slow the run. A finished run becomes a new
immutable model version. SIGUSR1 stops the run between two batches; so does the cancel flag, read
twice a second, and a server that went away. The server's side (starting, cancelling, reaping,
watching heartbeats) is app.runs.control.

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
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from app.reports import compute as reports
from app.reports import eval_sets
from app.runs import pipeline
from app.runs.pipeline import RunData, RunSpec, Saved, build_data
from app.settings import Settings
from app.state.db import UnavailableError
from app.state.store import Store
from model.config import TrainConfig
from model.data.mnist import Mnist
from model.network import Network
from model.train import BatchEnd, Cancelled, Diverged, EpochEnd

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
        self.n_batches = 1
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
        self.n_batches = e.n_batches
        now = time.monotonic()
        if now - self.last_batch_event < 1.0 / BATCH_EVENTS_PER_S and e.batch != e.n_batches:
            return
        self.last_batch_event = now
        self.record("batch", {"epoch": e.epoch, "batch": e.batch, "n_batches": e.n_batches, "loss": e.loss,
                              "lr": e.lr, **self.progress(e.epoch, e.batch, e.n_batches)})

    def epoch(self, e: EpochEnd) -> None:
        data = {k: v for k, v in dataclasses.asdict(e).items()}
        self.record("epoch", {**data, **self.progress(e.epoch, self.n_batches, self.n_batches)})

    def record(self, kind: str, data: dict[str, Any]) -> None:
        """Store one progress event; while the database is away, progress is not kept (the outcome
        is: ``end`` waits for the database)."""
        try:
            self.store.add_events(self.run_id, [(kind, data)])
        except UnavailableError as exc:
            log.warning("event not stored: %s", exc)


class Heartbeat(threading.Thread):
    """Writes the run's heartbeat every HEARTBEAT_S seconds, from a thread of normal priority (it is
    started before the run yields the CPU: app.runs.job.yield_cpu changes only its own thread).
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


def judged(store: Store, network: Network, mnist: Mnist, pendigits: str | None) -> dict[str, Any]:
    """What a new version is judged on, as its report (app.reports.compute): MNIST's test digits, the held-out
    people's drawings and, when the server knows where they are, the pen digits drawn as the page
    draws them. Its scores (accuracy and count per set) are read from it."""
    mnist_test = eval_sets.mnist_test(mnist.test_images, mnist.test_labels)
    return reports.report(network, eval_sets.gather(store, mnist_test, pendigits))


def spec_of(params: dict[str, Any]) -> RunSpec:
    """A server run's spec, from the parameters its route stored. The pen file the server knows
    (DIGITNET_PENDIGITS) judges the new version; it is not trained on, as before the pipeline was shared."""
    return RunSpec(TrainConfig.from_dict(params["config"]), params.get("data"),
                   feedback_ids=tuple(params.get("feedback_ids") or ()))


def finish(store: Store, run_id: str, spec: RunSpec, data: RunData, run: Run,
           pendigits: str | None = None) -> Saved | Diverged | Cancelled:
    """Train; save the trained network as a new version (atomic write) and record it with its
    scores, and its report beside them in the version's row (not in the file: it is the server's
    judgement)."""
    version_id = f"run-{run_id}"
    judgement: dict[str, Any] = {}

    def origin(network: Network) -> dict[str, Any]:
        judgement["report"] = _until_stored(lambda: judged(store, network, data.mnist, pendigits))
        return {"run_id": run_id, "scores": reports.scores(judgement["report"])}

    out = store.versions.folder / f"{version_id}.npz"
    ended = pipeline.execute(spec, data, run, run.should_stop, out, origin)
    if isinstance(ended, Saved):
        digest = hashlib.sha256(ended.path.read_bytes()).hexdigest()
        _until_stored(lambda: store.versions.add(version_id, ended.path, digest, ended.event.test_accuracy,
                                                 {**ended.meta, "report": judgement["report"]}, run_id))
    return ended


def execute(store: Store, run_id: str) -> None:
    params = store.get_run(run_id).params
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
    yield_cpu()
    signal.signal(signal.SIGUSR1, lambda *_: setattr(run, "stop", True))
    # blocked since the server started us (see the module docstring): a pending cancel arrives now
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    store.update_run(run_id, status="running", pid=os.getpid(), started_at=time.time())
    spec = spec_of(params)
    ended = finish(store, run_id, spec, build_data(spec, store), run, params.get("pendigits"))
    if isinstance(ended, Saved):
        end(store, run_id, "finished", None, version_id=f"run-{run_id}",
            test_accuracy=ended.event.test_accuracy)
    elif isinstance(ended, Diverged):
        end(store, run_id, "diverged", ended.reason)
    elif run.ended_elsewhere:
        return  # its outcome is recorded already
    elif run.orphaned:
        end(store, run_id, "interrupted", "the server stopped during the run")
    else:
        end(store, run_id, "cancelled", f"cancelled at epoch {ended.epoch}, batch {ended.batch}")


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
    """``python -m app.runs.job HOME RUN_ID``: train the run, end it with its outcome."""
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
