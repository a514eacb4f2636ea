"""Admin routes: start and cancel training runs, stream their events, list and promote versions.

The admin dependency (a bearer token) is attached where this router is included, in app.main. The
run's process is started, cancelled and reaped by app.runs.control; these routes only call it. What
they raise (no such run, a run already going, a version that cannot serve) answers with the status
app/web/errors.py gives its class.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.deps import HolderDep, ServicesDep, StoreDep
from app.reading.predictor import Predictor
from app.reports import compute as reports
from app.reports import eval_sets
from app.reports.eval_sets import HELD_OUT
from app.reports.views import summary_line
from app.runs import control as run_control
from app.runs.training import require_mnist, server_config
from app.state.db import UnavailableError
from app.state.runs import FINAL, RunRecord
from app.state.store import Store
from app.state.versions import DEFAULT_VERSION
from app.web.schemas.common import StoredId
from app.web.schemas.training import PromoteResponse, RunResponse, TrainRequest
from model.evaluate import evaluate_network

router = APIRouter(tags=["admin"])
STREAM_POLL_S = 0.2
MAX_EVENT_DIGITS = 18  # event numbers are SQLite integers: 64 bits
PROMOTE_MARGIN = 0.02  # a version may read the held-out drawings this much worse and still be promoted


@router.post("/train", status_code=202, response_model=RunResponse, summary="Start a training run",
             responses={409: {"description": "a run is already going"},
                        503: {"description": "the MNIST files are not there"}})
def start_training(body: TrainRequest, store: StoreDep, services: ServicesDep) -> RunRecord:
    changes = body.model_dump(exclude_none=True, exclude={"preset", "augment", "feedback"})
    config = server_config(body.preset, changes, body.augment)
    data_dir = require_mnist(services.settings.data_dir)
    params: dict[str, Any] = {"config": config.to_dict(), "data": str(data_dir),
                              "pendigits": services.settings.pendigits}
    if body.feedback:
        if services.feedback is None:
            raise HTTPException(422, "feedback is off on this server (DIGITNET_FEEDBACK)")
        params["feedback_ids"] = services.feedback.training_ids()
        if not params["feedback_ids"]:
            raise HTTPException(422, "there are no accepted drawings to train on yet (the held-out "
                                     "share is never trained on)")
    run_id = store.create_run(params)
    run_control.start(store, run_id)
    return store.get_run(run_id)


@router.get("/train/{run_id}", response_model=RunResponse, summary="One run")
def get_run(run_id: StoredId, store: StoreDep) -> RunRecord:
    return store.get_run(run_id)


@router.get("/runs", response_model=list[RunResponse], summary="Recent runs, newest first")
def list_runs(store: StoreDep) -> list[RunRecord]:
    return store.list_runs()


@router.post("/train/{run_id}/cancel", status_code=202, response_model=RunResponse,
             summary="Stop a run between two batches")
def cancel_run(run_id: StoredId, store: StoreDep) -> RunRecord:
    run = store.get_run(run_id)
    if not run.active:
        raise HTTPException(409, f"run {run_id} is already {run.status}")
    return run_control.cancel(store, run_id)


async def streamed_run(run_id: StoredId, store: StoreDep) -> str:
    """The run whose events are asked for: a 404 here, before the stream's 200, if there is none."""
    store.get_run(run_id)
    return run_id


async def resume_after(last_event_id: Annotated[str | None, Header()] = None) -> int:
    """The number of the last event the client has (a reconnecting EventSource sends it); 0: none."""
    if not last_event_id:
        return 0
    if not (last_event_id.isascii() and last_event_id.isdigit() and len(last_event_id) <= MAX_EVENT_DIGITS):
        raise HTTPException(400, f"Last-Event-ID must be an event number (at most {MAX_EVENT_DIGITS} digits)")
    return int(last_event_id)


@router.get("/train/{run_id}/events", response_class=EventSourceResponse,
            summary="The run's events as Server-Sent Events, from the start (or after Last-Event-ID)",
            responses={400: {"description": "Last-Event-ID is not an event number"},
                       404: {"description": "no such run"}})
async def run_events(run_id: Annotated[str, Depends(streamed_run)], request: Request, store: StoreDep,
                     seq: Annotated[int, Depends(resume_after)]) -> AsyncIterator[ServerSentEvent]:
    while True:
        try:
            events = await asyncio.to_thread(store.events_after, run_id, seq)
        except UnavailableError:  # the database is away: the stream waits for it, as the run does
            events = []
        for seq, kind, data in events:
            yield ServerSentEvent(data=data, event=kind, id=str(seq))
            if kind in FINAL:
                return
        if await request.is_disconnected():
            return
        await asyncio.sleep(STREAM_POLL_S)


@router.get("/versions", summary="Model versions with their metrics (the shipped 'default' last), and "
                                 "which one serves")
def list_versions(store: StoreDep, holder: HolderDep, services: ServicesDep) -> dict[str, Any]:
    return {"promoted": store.versions.promoted(), "serving": holder.current.version,
            "rollback_to": store.versions.previous(), "worker_pid": os.getpid(),
            "versions": [*store.versions.list(), reports.default_row(store, services.settings.weights)]}


@router.post("/versions/{version_id}/promote", response_model=PromoteResponse,
             summary="Serve this version (checked first; a bad file is refused)",
             responses={409: {"description": "worse than the serving version on the held-out drawings"}})
def promote(version_id: StoredId, holder: HolderDep, services: ServicesDep,
            force: Annotated[bool, Query(description="promote even if it reads the held-out drawings "
                                                     "worse than the serving version")] = False
            ) -> dict[str, str]:
    candidate = holder.load(version_id)
    if services.feedback is not None and not force:
        _check_held_out(services.store, candidate, holder.current)
    return {"promoted": version_id, "previous": holder.promote(version_id, candidate)}


def _check_held_out(store: Store, candidate: Predictor, serving: Predictor) -> None:
    """409 when the candidate reads the held-out drawings worse than the serving model, by more than
    PROMOTE_MARGIN: people's own drawings are the test that matters most. The message says what
    would change, as GET /versions/compare does."""
    held = eval_sets.held_out(store)
    now, new = (evaluate_network(p.network, held.x, held.y) for p in (serving, candidate))
    if new.count and new.accuracy < now.accuracy - PROMOTE_MARGIN:
        raise HTTPException(409, f"version {candidate.version} reads {new.accuracy:.1%} of the {new.count} "
                                 f"held-out drawings, the serving {serving.version} {now.accuracy:.1%} "
                                 f"({summary_line(HELD_OUT, now, new)}); promote with force=true to serve "
                                 "it anyway")


@router.delete("/versions/{version_id}", status_code=204,
               summary="Delete a version that does not serve (its file too)",
               responses={404: {"description": "no such version"},
                          409: {"description": "the shipped model, or the promoted version"}})
def delete_version(version_id: StoredId, store: StoreDep) -> None:
    if version_id == DEFAULT_VERSION:
        raise HTTPException(409, "the shipped model 'default' cannot be deleted")
    store.versions.delete(version_id)


@router.post("/versions/rollback", response_model=PromoteResponse,
             summary="Serve again the version that served before the promoted one; again: further back",
             responses={409: {"description": "no earlier version left to go back to"}})
def rollback(holder: HolderDep) -> dict[str, str]:
    """Going back is the admin's call: no held-out check. Each rollback takes one step back through
    the promotions, never forward again."""
    promoted, replaced = holder.roll_back()
    return {"promoted": promoted, "previous": replaced}


@router.get("/metrics", response_class=PlainTextResponse,
            summary="Prometheus metrics: requests, latency, the serving version, runs by status")
def metrics(services: ServicesDep) -> PlainTextResponse:
    return PlainTextResponse(generate_latest(services.metrics.registry),
                             media_type=CONTENT_TYPE_LATEST)
