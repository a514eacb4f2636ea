"""Admin routes: start and cancel training runs, stream their events, list and promote versions.

The admin dependency (a bearer token) is attached where this router is included, in app.main.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import PlainTextResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.schemas import PromoteResponse, RunResponse, TrainRequest
from app.serving import VersionError
from app.store import ACTIVE, FINAL, NotFoundError, RunActiveError, Store
from model.config import PRESETS
from model.mnist import FILES, find_data_dir

router = APIRouter(tags=["admin"])
STREAM_POLL_S = 0.2


def _store(request: Request) -> Store:
    return request.app.state.store


def _config(body: TrainRequest) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True, exclude={"preset", "augment"})
    if "hidden" in changes:
        changes["hidden"] = tuple(changes["hidden"])
    base = PRESETS[body.preset]
    if body.augment is not None:
        changes["augment"] = (base.augment or PRESETS["default"].augment) if body.augment else None
    try:
        return dataclasses.replace(base, **changes).to_dict()
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


def _launch(request: Request, run_id: str) -> None:
    """Start the run's own process; a thread reaps it when it ends."""
    env = {**os.environ, "DIGITNET_HOME": str(request.app.state.store.home), "OPENBLAS_NUM_THREADS": "1"}
    log = open(request.app.state.store.home / f"run-{run_id}.log", "ab")  # noqa: SIM115
    # SIGUSR1 (cancel) stays blocked in the new process until its handler is set: a cancel sent in the
    # first half second must not kill it (a child inherits the signal mask of the thread that starts it)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        proc = subprocess.Popen([sys.executable, "-m", "app.training_job", run_id], env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        log.close()
    request.app.state.store.update_run(run_id, pid=proc.pid)
    threading.Thread(target=_reap, args=(request.app.state.store, run_id, proc), daemon=True).start()


def _reap(store: Store, run_id: str, proc: subprocess.Popen[bytes]) -> None:
    """Wait for the run's process. If it died without ending its run (killed, out of memory), end the
    run as failed, saying how: otherwise it would stay 'running' and refuse new runs until a restart."""
    code = proc.wait()
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    store.end_if_active(run_id, "failed", f"the training process {how} before the run ended")


@router.post("/train", status_code=202, response_model=RunResponse, summary="Start a training run",
             responses={409: {"description": "a run is already going"},
                        503: {"description": "the MNIST files are not there"}})
def start_training(body: TrainRequest, request: Request) -> dict[str, Any]:
    config = _config(body)
    data_dir = find_data_dir(request.app.state.data_dir)
    missing = [n for n in FILES if not (data_dir / n).is_file()
               and not (data_dir / n.removesuffix(".gz")).is_file()]
    if missing:
        raise HTTPException(503, f"MNIST is not in {data_dir} (missing {', '.join(missing)}); "
                                 "run 'digitnet data download' on the server")
    try:
        run_id = _store(request).create_run({"config": config, "data": str(data_dir)})
    except RunActiveError as exc:
        raise HTTPException(409, f"run {exc} is still going; cancel it or wait") from exc
    _launch(request, run_id)
    return _store(request).get_run(run_id)


def _run_or_404(request: Request, run_id: str) -> dict[str, Any]:
    try:
        return _store(request).get_run(run_id)
    except NotFoundError as exc:
        raise HTTPException(404, f"no run {run_id!r}") from exc


@router.get("/train/{run_id}", response_model=RunResponse, summary="One run")
def get_run(run_id: str, request: Request) -> dict[str, Any]:
    return _run_or_404(request, run_id)


@router.get("/runs", response_model=list[RunResponse], summary="Recent runs, newest first")
def list_runs(request: Request) -> list[dict[str, Any]]:
    return _store(request).list_runs()


@router.post("/train/{run_id}/cancel", status_code=202, response_model=RunResponse,
             summary="Stop a run between two batches")
def cancel_run(run_id: str, request: Request) -> dict[str, Any]:
    run = _run_or_404(request, run_id)
    if run["status"] not in ACTIVE:
        raise HTTPException(409, f"run {run_id} is already {run['status']}")
    run = _store(request).request_cancel(run_id)
    if run["pid"]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(run["pid"], signal.SIGUSR1)  # immediate; the database flag is the fallback
    return run


@router.get("/train/{run_id}/events", response_class=EventSourceResponse,
            summary="The run's events as Server-Sent Events, from the start (or after Last-Event-ID)")
async def run_events(run_id: str, request: Request,
                     last_event_id: str | None = Header(None)) -> AsyncIterator[ServerSentEvent]:
    _run_or_404(request, run_id)
    seq = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    store = _store(request)
    while True:
        events = await asyncio.to_thread(store.events_after, run_id, seq)
        for seq, kind, data in events:
            yield ServerSentEvent(data=data, event=kind, id=str(seq))
            if kind in FINAL:
                return
        if await request.is_disconnected():
            return
        await asyncio.sleep(STREAM_POLL_S)


@router.get("/versions", summary="Model versions with their metrics, and which one serves")
def list_versions(request: Request) -> dict[str, Any]:
    store = _store(request)
    return {"promoted": store.promoted(), "serving": request.app.state.holder.current.version,
            "worker_pid": os.getpid(), "versions": store.list_versions()}


@router.post("/versions/{version_id}/promote", response_model=PromoteResponse,
             summary="Serve this version (checked first; a bad file is refused)")
def promote(version_id: str, request: Request) -> dict[str, str]:
    try:
        previous = request.app.state.holder.promote(version_id)
    except VersionError as exc:
        raise HTTPException(404 if "no version" in str(exc) else 422, str(exc)) from exc
    return {"promoted": version_id, "previous": previous}


@router.post("/versions/rollback", response_model=PromoteResponse,
             summary="Serve the version that served before the last promotion")
def rollback(request: Request) -> dict[str, str]:
    previous = _store(request).previous()
    if previous is None:
        raise HTTPException(409, "nothing to roll back to: no version was promoted yet")
    return promote(previous, request)


@router.get("/metrics", response_class=PlainTextResponse,
            summary="Prometheus metrics: requests, latency, the serving version, runs by status")
def metrics(request: Request) -> PlainTextResponse:
    return PlainTextResponse(generate_latest(request.app.state.metrics.registry),
                             media_type=CONTENT_TYPE_LATEST)
