"""POST /feedback (anyone: a drawing and the digit it really is) and the admin's review of them.

Both routers are included only when feedback is on (``DIGITNET_FEEDBACK``); otherwise every path
here is a 404. The admin dependency is attached where ``admin`` is included, in app.main. A post
past its sender's rate, a full store or no such drawing answer by their classes (app/web/errors.py).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from app.deps import Services, ServicesDep
from app.feedback.intake import admit, keep, sender_of
from app.feedback.store import RIGHT_OVER, FeedbackStore
from app.pen.digits import page_digit
from app.reading.drawings import body_doc, json_bytes, validate_json
from app.reading.predictor import BLANK_PNG, input_png
from app.web.schemas.common import ErrorResponse, StoredId
from app.web.schemas.feedback import (
    FeedbackCreated,
    FeedbackList,
    FeedbackRequest,
    FeedbackReview,
    FeedbackStatus,
)

public = APIRouter(tags=["feedback"])
admin = APIRouter(tags=["admin"])
# /feedback's own places in worker threads (Services.feedback_limiter, feedback_thread): posts wait
# on the database there, never on the event loop, and never in the prediction threads
FEEDBACK_THREADS = 2
FEEDBACK_QUEUE = 32


async def get_feedback(services: ServicesDep) -> FeedbackStore:
    assert services.feedback is not None, "the feedback routes are only included when feedback is on"
    return services.feedback


FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]


def client_of(request: Request, services: Services) -> str:
    """Who sent it, for the rate limit: a keyed hash of the address (the address is never kept)."""
    sender = sender_of(request.client.host if request.client else "unknown")
    return hashlib.sha256(f"{services.admin_token}:{sender}".encode()).hexdigest()[:16]


@public.post("/feedback", status_code=201, response_model=FeedbackCreated,
             summary="Send a drawing and the digit it really is (kept to train the network on)",
             openapi_extra=body_doc(FeedbackRequest, images=False),
             responses={200: {"model": FeedbackCreated, "description": "the same drawing was kept before"},
                        400: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
                        415: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
                        429: {"model": ErrorResponse}, 503: {"model": ErrorResponse},
                        507: {"model": ErrorResponse}})
async def send_feedback(request: Request, services: ServicesDep, feedback: FeedbackDep) -> Any:
    """Only the body is read here; everything else (reading it, the drawing, the database) is done in
    one of /feedback's own threads, so that the event loop, and with it every prediction, never waits
    on the database (docs/feedback.md, Limits)."""
    raw = await json_bytes(request)
    client = client_of(request, services)
    async with feedback_thread(services):
        status, kept = await anyio.to_thread.run_sync(take, services, feedback, raw, client)
    return JSONResponse(kept, status_code=status)


@asynccontextmanager
async def feedback_thread(services: Services) -> AsyncIterator[None]:
    """One of /feedback's FEEDBACK_THREADS places, held while the post's work runs in a thread:
    503 at once past FEEDBACK_QUEUE posts waiting, and 503 to a post that has waited the request
    timeout (its work never starts). Work that has started is bounded by the database's timeouts."""
    places = services.feedback_limiter
    assert places is not None, "made with the feedback store"
    busy = HTTPException(503, "too many drawings are being kept right now; try again shortly",
                         headers={"Retry-After": "1"})
    if places.statistics().tasks_waiting >= FEEDBACK_QUEUE:
        raise busy
    try:
        with anyio.fail_after(services.settings.request_timeout_s):
            await places.acquire()
    except TimeoutError as exc:
        raise busy from exc
    try:
        yield
    finally:
        places.release()


def take(services: Services, feedback: FeedbackStore, raw: bytes, client: str) -> tuple[int, dict[str, Any]]:
    """One post, in a worker thread (app/feedback/intake.py): its status and answer."""
    admit(feedback, services.settings.feedback_rate, raw, client)
    body: FeedbackRequest = validate_json(raw, FeedbackRequest)
    feedback_id, new = keep(services, feedback, body, client)
    kept = feedback.get(feedback_id)  # for a duplicate, the drawing sent before: its label stands
    return (201 if new else 200), {"id": feedback_id, "status": kept["status"], "duplicate": not new,
                                   "label": kept["label"]}


@admin.get("/feedback", response_model=FeedbackList, summary="Drawings sent back, disagreements first")
def list_feedback(feedback: FeedbackDep, status: FeedbackStatus | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 60,
                  offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    items = [_with_image(item) for item in feedback.page(status, limit, offset)]
    return {"items": items, "counts": feedback.counts(), "right": feedback.right_share(RIGHT_OVER)}


@admin.get("/feedback/export", summary="The accepted drawings as a file to train on (.npz)",
           response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def export_feedback(feedback: FeedbackDep) -> Response:
    """``digits`` (n, 28, 28) uint8 as MNIST, ``labels`` (n,), ``ids``, ``held_out`` (never train on
    those), ``strokes`` (JSON text, a list with null where none were sent). ``digitnet train
    --feedback FILE`` reads it."""
    kept = feedback.accepted()
    buf = io.BytesIO()
    np.savez_compressed(buf, digits=kept["digits"].reshape(-1, 28, 28), labels=kept["labels"],
                        ids=np.array(kept["ids"], dtype=str), held_out=kept["held_out"],
                        strokes=np.array(json.dumps(kept["strokes"])))
    return Response(buf.getvalue(), media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="digitnet-feedback.npz"'})


@admin.patch("/feedback/{feedback_id}", summary="Accept, reject or relabel a drawing")
def review_feedback(feedback_id: StoredId, body: FeedbackReview, feedback: FeedbackDep) -> dict[str, Any]:
    item = feedback.review(feedback_id, body.status, body.label)
    return _with_image({k: v for k, v in item.items() if k != "image"})


@admin.delete("/feedback", summary="Erase every rejected drawing at once",
              responses={200: {"content": {"application/json": {"example": {"deleted": 12}}}}})
def clear_rejected(feedback: FeedbackDep,
                   status: Annotated[Literal["rejected"], Query(description="only rejected drawings "
                                                                            "are erased in bulk")]
                   ) -> dict[str, int]:
    return {"deleted": feedback.clear_rejected()}


@admin.delete("/feedback/{feedback_id}", status_code=204, summary="Erase a drawing")
def delete_feedback(feedback_id: StoredId, feedback: FeedbackDep) -> None:
    feedback.delete(feedback_id)


def _with_image(item: dict[str, Any]) -> dict[str, Any]:
    """The 28x28 the admin reviews, and beside it what a run learns from: the strokes drawn as the
    page drew them (both as PNG data URLs; no strokes: the run learns from the 28x28 itself)."""
    digit, strokes = item.pop("digit28"), item.pop("strokes", None)
    item["image"] = input_png(np.frombuffer(digit, np.uint8) / 255.0) if digit else BLANK_PNG
    drawn = page_digit([[(x, y) for x, y in stroke] for stroke in strokes]) if strokes else None
    item["strokes_image"] = input_png(drawn) if drawn is not None else None
    return item
