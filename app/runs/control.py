"""Training runs, as the server sees them: starting a run's process, cancelling it, reaping it, and
ending the runs whose process went silent.

``start`` records nothing itself (the route created the run in the store); it starts ``python -m
app.runs.job HOME RUN_ID`` (the run itself) and a thread that reaps the process. ``cancel`` sets
the run's cancel flag in the store and sends SIGUSR1 to its process (when it runs on this host: a run
on another host reads the flag). ``watch_heartbeats`` runs in every worker of every host. The signal
protocol and the heartbeats are described in app.runs.job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from app.state.db import UnavailableError
from app.state.runs import RunRecord
from app.state.store import Store

log = logging.getLogger("digitnet")


async def watch_heartbeats(store: Store, timeout_s: float) -> None:
    """End as interrupted the runs whose process went silent, for as long as the app runs. Only
    once this worker has reached the database for a whole ``timeout_s``: after an outage every
    heartbeat is old, and the runs that lived through it need a moment to write a new one."""
    reachable_since: float | None = None
    reason = f"no heartbeat from the run's process for {timeout_s:g} s: its host stopped"
    while True:
        await asyncio.sleep(min(max(timeout_s / 4, 0.2), 5.0))
        try:
            silent = await asyncio.to_thread(store.silent_runs, timeout_s)
            now = time.monotonic()
            reachable_since = reachable_since or now
            if now - reachable_since < timeout_s:
                continue
            for run_id in silent:
                if await asyncio.to_thread(store.end_if_active, run_id, "interrupted", reason):
                    log.warning("run %s ended as interrupted: %s", run_id, reason)
        except UnavailableError:
            reachable_since = None
        except Exception:  # a locked database must not stop the watch
            log.exception("could not check the runs' heartbeats")


def start(store: Store, run_id: str) -> None:
    """Start the run's own process (the run is already recorded as starting); a thread reaps it."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "DIGITNET_DATABASE_URL": store.database_url or ""}
    output = open(store.home / f"run-{run_id}.log", "ab")  # noqa: SIM115
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})  # see the module docstring
    try:
        proc = subprocess.Popen([sys.executable, "-m", "app.runs.job", str(store.home), run_id],
                                env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        output.close()
    store.update_run(run_id, pid=proc.pid)
    threading.Thread(target=_reap, args=(store, run_id, proc), daemon=True).start()


def _reap(store: Store, run_id: str, proc: subprocess.Popen[bytes]) -> None:
    """Wait for the run's process. If it died without ending its run (killed, out of memory), end the
    run as failed, saying how: otherwise it would stay 'running' and refuse new runs until a restart."""
    code = proc.wait()
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    store.end_if_active(run_id, "failed", f"the training process {how} before the run ended")
    output = store.home / f"run-{run_id}.log"  # what the process printed: kept only if it said anything
    with contextlib.suppress(OSError):
        if output.stat().st_size == 0:
            output.unlink()


def cancel(store: Store, run_id: str) -> RunRecord:
    """Ask a run to stop between two batches: the flag in the store, and at once by signal."""
    run = store.request_cancel(run_id)
    if run.active and run.pid and run.host == store.host:  # a pid means nothing elsewhere
        with contextlib.suppress(ProcessLookupError):
            os.kill(run.pid, signal.SIGUSR1)
    return run
