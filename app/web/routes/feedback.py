"""POST /feedback (anyone: a drawing and the digit it really is) and the admin's review of them.

Both routers are included only when feedback is on (``DIGITNET_FEEDBACK``); otherwise every path
here is a 404. The admin dependency is attached where ``admin`` is included, in app.main. The
drawings, their checks and their export file belong to app/feedback/; a post past its sender's
rate, a full store or no such drawing answer by their classes (app/web/errors.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from app.deps import Services, ServicesDep
from app.feedback.accepted import EXPORT_NAME, export_file
from app.feedback.intake import admit, keep, sender_of
from app.feedback.reader import RIGHT_OVER, STATUSES, KeptDrawing, pictures
from app.feedback.store import FeedbackStore
from app.web.drawings import body_doc, json_bytes, validate_json
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
    return (201 if new else 200), {"id": feedback_id, "status": kept.status, "duplicate": not new,
                                   "label": kept.label}


@admin.get("/feedback", response_model=FeedbackList, summary="Drawings sent back, disagreements first")
def list_feedback(feedback: FeedbackDep, status: FeedbackStatus | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 60,
                  offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    statuses = STATUSES if status is None else (status,)  # no status asked for: every status
    items = [_shown(drawing) for drawing in feedback.page(statuses, limit, offset)]
    return {"items": items, "counts": feedback.counts(), "right": feedback.right_share(RIGHT_OVER)}


@admin.get("/feedback/export", summary="The accepted drawings as a file to train on (.npz)",
           response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def export_feedback(feedback: FeedbackDep) -> Response:
    """``digits`` (n, 28, 28) uint8 as MNIST, ``labels`` (n,), ``ids``, ``held_out`` (never train on
    those), ``strokes`` (JSON text, a list with null where none were sent). ``digitnet train
    --feedback FILE`` reads it."""
    return Response(export_file(feedback.accepted()), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{EXPORT_NAME}"'})


@admin.patch("/feedback/{feedback_id}", summary="Accept, reject or relabel a drawing")
def review_feedback(feedback_id: StoredId, body: FeedbackReview, feedback: FeedbackDep) -> dict[str, Any]:
    return _shown(feedback.review(feedback_id, body.status, body.label))


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


def _shown(drawing: KeptDrawing) -> dict[str, Any]:
    """A drawing as the admin's list shows it (``FeedbackItem``), its pictures as PNG data URLs."""
    image, strokes_image = pictures(drawing)
    return {"id": drawing.id, "created_at": drawing.created_at, "label": drawing.label,
            "predicted": drawing.predicted, "model_version": drawing.model_version, "status": drawing.status,
            "held_out": drawing.held_out, "reviewed_at": drawing.reviewed_at, "image": image,
            "strokes_image": strokes_image}
