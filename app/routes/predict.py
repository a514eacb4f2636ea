"""POST /predict and /predict/batch: a drawing in, the digit and ten probabilities out."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from app.deps import Services, ServicesDep
from app.images import decode_data_url, open_images, pixel_count
from app.predictor import Prediction, Predictor
from app.schemas import (
    MAX_BATCH,
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    PredictRequest,
    PredictResponse,
)

T = TypeVar("T")
router = APIRouter(tags=["predict"])
IMAGE_TYPES = ("image/png", "image/jpeg")
# Requests with at most this many pixels to decode are answered on the event loop (see _answer_images):
# the page sends 140x140 (about 2 KB); files larger than INLINE_BYTES are read in the thread too
INLINE_PIXELS = 160 * 160
INLINE_BYTES = 128 * 1024

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text} for code, text in {
        400: "the JSON body is malformed",
        413: "the body is over 1 MiB, or the image over 2048x2048 pixels",
        415: "not a PNG, a JPEG, JSON or a multipart upload",
        422: "the image cannot be decoded, the base64 is broken, or the pixels are not 784 numbers in [0, 1]",
    }.items()
}


def _body_doc(json_schema: type[BaseModel], multipart_field: str) -> dict[str, Any]:
    binary = {"type": "string", "format": "binary"}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": json_schema.model_json_schema()},
        "multipart/form-data": {"schema": {"type": "object", "required": [multipart_field],
                                           "properties": {multipart_field: binary}}},
        "image/png": {"schema": binary},
        "image/jpeg": {"schema": binary},
    }}}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _json_body(request: Request, schema: type[BaseModel]) -> Any:
    try:
        return schema.model_validate(json.loads(await request.body()))
    except json.JSONDecodeError as exc:
        raise HTTPException(400, f"the body is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise HTTPException(400, "the body is not valid JSON (bad UTF-8 or nested too deep)") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise HTTPException(422, problems) from exc


async def _uploads(request: Request, limit: int) -> list[bytes]:
    form = await request.form(max_files=limit, max_fields=limit)
    files = [v for v in form.getlist("file") if isinstance(v, UploadFile)]
    if not files:
        raise HTTPException(422, "the multipart form needs a file field named 'file'")
    return [await f.read() for f in files]


async def _answer_images(services: Services, predictor: Predictor, images: list[bytes]) -> list[Prediction]:
    """Answer small drawings right here, on the event loop; larger images and batches in a thread.

    Handing a page's drawing to a worker thread and back costs about as much server time as reading
    it (wake-ups, the GIL passed back and forth), so work bounded by ``INLINE_PIXELS`` and
    ``INLINE_BYTES`` holds the event loop instead: a few ms at the very worst, far below the timeout
    (docs/performance.md, Serving). A small file's header is read first, on the loop: a large
    image's pixels are decoded in the thread; a large file is read there whole.
    """
    max_pixels = services.settings.max_request_pixels
    if sum(len(data) for data in images) > INLINE_BYTES:
        return await _in_thread(services, functools.partial(_read, predictor, max_pixels), images)
    opened = open_images(images, max_pixels)
    if pixel_count(opened) <= INLINE_PIXELS:
        return predictor.predict_images(opened)
    return await _in_thread(services, predictor.predict_images, opened)


def _read(predictor: Predictor, max_pixels: int, images: list[bytes]) -> list[Prediction]:
    return predictor.predict_images(open_images(images, max_pixels))


async def _answer_pixels(services: Services, predictor: Predictor,
                         rows: list[list[float]]) -> list[Prediction]:
    """One 784-number vector is little work: answered on the event loop; batches in a thread."""
    if len(rows) == 1:
        return predictor.predict_pixels(rows)
    return await _in_thread(services, predictor.predict_pixels, rows)


async def _in_thread(services: Services, fn: Callable[[Any], T], arg: Any) -> T:
    """Run the CPU work in a worker thread, at most ``inference_threads`` at once (default 1: more
    threads only contend for the GIL, docs/performance.md).

    Past the request timeout the client gets a 503 at once, but work already running in a thread
    cannot be stopped: it keeps its thread (the limiter's token) until it ends, so the next work
    waits instead of running beside it, and CPU use stays within ``inference_threads``. Work still
    waiting for a thread when its time is up never starts.
    """
    timeout = services.settings.request_timeout_s
    work = asyncio.ensure_future(anyio.to_thread.run_sync(fn, arg, limiter=services.inference_limiter))
    work.add_done_callback(_retrieve)
    try:
        return await asyncio.wait_for(asyncio.shield(work), timeout)
    except TimeoutError as exc:
        work.cancel()  # waiting for a thread: it never runs; running: it is cancelled when it ends
        raise HTTPException(503, f"the prediction took longer than {timeout:g} s and was cut off",
                            headers={"Retry-After": "1"}) from exc


def _retrieve(work: asyncio.Future[Any]) -> None:
    """Work whose request gave up on it may still fail: its error was answered already, or nobody
    is left to answer; mark it seen so that asyncio does not log it as lost."""
    if not work.cancelled():
        work.exception()


def _json(answer: BaseModel) -> Response:
    """The answer, serialised once by its own model: built from our own dataclass, it needs no second
    validation against ``response_model`` (which still documents it; the schema tests check it)."""
    return Response(answer.model_dump_json(), media_type="application/json")


def _unsupported(media_type: str) -> HTTPException:
    return HTTPException(415, f"unsupported content type {media_type or '(none)'}; send image/png, "
                              "image/jpeg, application/json or multipart/form-data")


@router.post("/predict", response_model=PredictResponse, responses=ERRORS,
             openapi_extra=_body_doc(PredictRequest, "file"), summary="Read one drawn digit")
async def predict_one(request: Request, services: ServicesDep) -> Response:
    """Send a drawing as a PNG/JPEG (raw body or multipart field ``file``), as JSON with a data URL
    in ``image``, or as JSON ``pixels`` already in MNIST form (784 numbers in [0, 1])."""
    predictor = services.holder.current  # taken once: the whole request is answered by it
    media_type = _media_type(request)
    if media_type == "application/json":
        body = await _json_body(request, PredictRequest)
        if body.pixels is not None:
            answers = await _answer_pixels(services, predictor, [body.pixels])
        else:
            answers = await _answer_images(services, predictor, [decode_data_url(body.image or "")])
    elif media_type in IMAGE_TYPES:
        answers = await _answer_images(services, predictor, [await request.body()])
    elif media_type == "multipart/form-data":
        answers = await _answer_images(services, predictor, (await _uploads(request, 1))[:1])
    else:
        raise _unsupported(media_type)
    return _json(PredictResponse.model_validate(answers[0], from_attributes=True))


@router.post("/predict/batch", response_model=BatchResponse, responses=ERRORS,
             openapi_extra=_body_doc(BatchRequest, "file"), summary="Read several digits at once")
async def predict_batch(request: Request, services: ServicesDep) -> Response:
    """Up to 64 drawings: JSON ``images`` (data URLs) or ``pixels`` (lists of 784 numbers), or a
    multipart form with several ``file`` fields. Answers in the same order."""
    predictor = services.holder.current  # taken once: the whole request is answered by it
    media_type = _media_type(request)
    if media_type == "application/json":
        body = await _json_body(request, BatchRequest)
        if body.pixels is not None:
            answers = await _answer_pixels(services, predictor, body.pixels)
        else:
            images = [decode_data_url(text) for text in body.images or []]
            answers = await _answer_images(services, predictor, images)
    elif media_type == "multipart/form-data":
        answers = await _answer_images(services, predictor, await _uploads(request, MAX_BATCH))
    else:
        raise _unsupported(media_type)
    return _json(BatchResponse(predictions=[
        PredictResponse.model_validate(a, from_attributes=True) for a in answers
    ]))
