"""A run's process: started with its signal mask, cancelled by flag and signal, reaped when it dies."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.runs import control as run_control
from app.runs import job as training_job
from app.state.runs import RunRecord
from app.state.store import Store
from tests.waiting import wait_until

# A stand-in for a run's process: exits 7 when SIGUSR1 arrives, 0 after 20 s otherwise
WAITS_FOR_SIGUSR1 = """
import signal, sys, time
signal.signal(signal.SIGUSR1, lambda *_: sys.exit(7))
print("ready", flush=True)
time.sleep(20)
"""


def wait_until_ended(store: Store, run_id: str, timeout: float = 60) -> RunRecord:
    return wait_until(lambda: (run := store.get_run(run_id)).status not in ("starting", "running") and run,
                      timeout, f"run {run_id} ending")


def test_cancel_sets_the_flag_and_signals_the_process(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run_id = store.create_run({})
    proc = subprocess.Popen([sys.executable, "-c", WAITS_FOR_SIGUSR1], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    store.update_run(run_id, status="running", pid=proc.pid)
    run = run_control.cancel(store, run_id)
    assert run.cancel_requested and store.cancel_requested(run_id)
    assert proc.wait(timeout=10) == 7


def test_a_run_that_cannot_read_its_data_ends_as_failed_saying_why(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run_id = store.create_run({"config": {"hidden": [8], "epochs": 1, "limit": 100},
                               "data": str(tmp_path / "no-mnist")})
    run_control.start(store, run_id)
    run = wait_until_ended(store, run_id)
    assert run.status == "failed" and "DataError" in run.reason and "no-mnist" in run.reason
    assert store.events_after(run_id, 0)[-1][1] == "failed"
    output = tmp_path / f"run-{run_id}.log"  # what the process printed: kept only if it said anything
    wait_until(lambda: not output.exists() or output.stat().st_size > 0, 30, "no empty run log")


def test_a_run_executed_in_process_leaves_no_heartbeat_thread_behind(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_job, "HEARTBEAT_S", 60.0)  # a thread left beating would sleep on
    store = Store(tmp_path)
    run_id = store.create_run({"config": {"hidden": [8], "epochs": 1, "limit": 100},
                               "data": str(tmp_path / "no-mnist")})
    # the run fails reading its data, after its heartbeat thread started
    assert training_job.main(["training_job", str(tmp_path), run_id]) == 1
    beats = [t for t in threading.enumerate() if t.name == "heartbeat"]
    for thread in beats:
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in beats)


def test_a_process_that_dies_without_ending_its_run_is_reaped_as_failed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run_id = store.create_run({})
    proc = subprocess.Popen([sys.executable, "-c", "import os; os._exit(3)"])
    run_control._reap(store, run_id, proc)
    run = store.get_run(run_id)
    assert run.status == "failed" and "exited with code 3" in run.reason


def test_a_run_ended_by_another_host_stops_and_keeps_that_outcome(tmp_path: Path, mnist_dir: Path) -> None:
    """A host that heard no heartbeat ended the run (say the database was away for long): the run's
    process learns it at its next heartbeat, stops, and writes nothing over the outcome."""
    store = Store(tmp_path)
    run_id = store.create_run({"config": {"hidden": [16], "epochs": 100, "limit": 20000},
                               "data": str(mnist_dir)})
    run_control.start(store, run_id)
    pid = wait_until(lambda: (run := store.get_run(run_id)).status == "running" and run.pid, 60,
                     "the run starting")
    assert store.end_if_active(run_id, "interrupted", "no heartbeat for 30 s: its host stopped")
    wait_until(lambda: not Path(f"/proc/{pid}").exists()
               or Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] == "Z",
               training_job.HEARTBEAT_S + 30, "the run's process stopping")
    run = store.get_run(run_id)
    assert (run.status, run.reason) == ("interrupted", "no heartbeat for 30 s: its host stopped")
    assert [kind for _, kind, _ in store.events_after(run_id, 0)].count("interrupted") == 1


def test_the_run_beats_while_it_trains(tmp_path: Path, mnist_dir: Path) -> None:
    store = Store(tmp_path)
    run_id = store.create_run({"config": {"hidden": [16], "epochs": 100, "limit": 20000},
                               "data": str(mnist_dir)})
    run_control.start(store, run_id)

    def beat_after(previous: float) -> float:
        """The run's next heartbeat (the database's time) while it runs."""
        return wait_until(lambda: (run := store.get_run(run_id)).status == "running"
                          and (run.heartbeat_at or 0.0) > previous and run.heartbeat_at,
                          training_job.HEARTBEAT_S + 60, "the run's next heartbeat")

    try:
        started = beat_after(0)
        beat_after(beat_after(started))  # a beat, then another: the beats go on while it trains
        assert store.get_run(run_id).status == "running"
        assert store.silent_runs(training_job.HEARTBEAT_S + 1) == []
    finally:
        run_control.cancel(store, run_id)
        wait_until_ended(store, run_id)
