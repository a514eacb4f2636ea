"""Drawings in requests, and the work on them: shared by every route that reads drawings.

A drawing comes as a PNG/JPEG (the raw body, or a multipart field ``file``), as JSON with a data
URL in ``image`` (``images`` for several), or as JSON ``pixels`` already in MNIST form (784
numbers in [0, 1]). ``read_drawing`` and ``read_drawings`` turn a request into ``Drawings``;
``answer`` does a route's work on them, on the event loop when it is small and bounded, else in a
worker thread with the request timeout.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import orjson
from fastapi import HTTPException, Request
from PIL import Image
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from app.deps import Services
from app.images import decode_data_url, open_images, pixel_count
from app.schemas.common import ErrorResponse
from app.schemas.predict import MAX_BATCH, BatchRequest, PredictRequest

T = TypeVar("T")
IMAGE_TYPES = ("image/png", "image/jpeg")
# Requests with at most this many pixels to decode are answered on the event loop (see answer): the
# page sends 140x140 (about 2 KB), a client posting the page's whole canvas 280x280; files larger
# than INLINE_BYTES are read in the thread too (docs/performance.md, Serving)
INLINE_PIXELS = 280 * 280
INLINE_BYTES = 128 * 1024

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text} for code, text in {
        400: "the JSON body is malformed",
        408: "the request did not arrive in time",
        413: "the body is over 1 MiB, an image over 2048x2048 pixels, or the images over the pixel budget",
        415: "not a PNG, a JPEG, JSON or a multipart upload",
        422: "the image cannot be decoded, the base64 is broken, or the pixels are not 784 numbers in [0, 1]",
    }.items()
}


@dataclass(frozen=True)
class Drawings:
    """What a request holds: image files, or rows of 784 MNIST-form numbers (exactly one is set)."""

    images: list[bytes] | None = None
    pixels: list[list[float]] | None = None


def body_doc(json_schema: type[BaseModel], images: bool = True) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads drawings (JSON, and the image forms)."""
    binary = {"type": "string", "format": "binary"}
    content: dict[str, Any] = {"application/json": {"schema": json_schema.model_json_schema()}}
    if images:
        content |= {"multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                       "properties": {"file": binary}}},
                    "image/png": {"schema": binary}, "image/jpeg": {"schema": binary}}
    return {"requestBody": {"required": True, "content": content}}


async def read_drawing(request: Request, pixels: bool = True) -> Drawings:
    """One drawing, in any of the forms (``pixels=False``: an image only)."""
    media_type = _media_type(request)
    if media_type == "application/json":
        body = await json_body(request, PredictRequest)
        if body.pixels is not None:
            if not pixels:
                raise HTTPException(422, "send an image: this route does not read 'pixels'")
            return Drawings(pixels=[body.pixels])
        return Drawings(images=[decode_data_url(body.image or "")])
    if media_type in IMAGE_TYPES:
        return Drawings(images=[await request.body()])
    if media_type == "multipart/form-data":
        return Drawings(images=(await _uploads(request, 1))[:1])
    raise _unsupported(media_type)


async def read_drawings(request: Request) -> Drawings:
    """Up to MAX_BATCH drawings: JSON ``images`` or ``pixels``, or several multipart ``file`` fields."""
    media_type = _media_type(request)
    if media_type == "application/json":
        body = await json_body(request, BatchRequest)
        if body.pixels is not None:
            return Drawings(pixels=body.pixels)
        return Drawings(images=[decode_data_url(text) for text in body.images or []])
    if media_type == "multipart/form-data":
        return Drawings(images=await _uploads(request, MAX_BATCH))
    raise _unsupported(media_type)


async def answer(services: Services, drawings: Drawings,
                 on_images: Callable[[Sequence[Image.Image]], T],
                 on_pixels: Callable[[list[list[float]]], T] | None = None) -> T:
    """Do the work on the drawings: ``on_images`` gets the opened images (headers read, pixels not yet
    decoded), ``on_pixels`` the rows.

    Small drawings are worked on right here, on the event loop; larger images and batches in a
    thread. Handing a page's drawing to a worker thread and back costs about as much server time as
    reading it (wake-ups, the GIL passed back and forth), so work bounded by ``INLINE_PIXELS`` and
    ``INLINE_BYTES`` holds the event loop instead: a few ms at the very worst, far below the timeout
    (docs/performance.md, Serving). A small file's header is read first, on the loop: a large
    image's pixels are decoded in the thread; a large file is read there whole.
    """
    if drawings.pixels is not None:
        assert on_pixels is not None, "a route that reads pixels says what to do with them"
        if len(drawings.pixels) == 1:  # 784 numbers: little work
            return on_pixels(drawings.pixels)
        return await in_thread(services, on_pixels, drawings.pixels)
    images = drawings.images or []
    max_pixels = services.settings.max_request_pixels
    if sum(len(data) for data in images) > INLINE_BYTES:
        return await in_thread(services, functools.partial(_open_then, on_images, max_pixels), images)
    opened = open_images(images, max_pixels)
    if pixel_count(opened) <= INLINE_PIXELS:
        return on_images(opened)
    return await in_thread(services, on_images, opened)


def _open_then(work: Callable[[Sequence[Image.Image]], T], max_pixels: int, images: list[bytes]) -> T:
    return work(open_images(images, max_pixels))


async def in_thread(services: Services, fn: Callable[[Any], T], arg: Any) -> T:
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


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, schema: type[BaseModel]) -> Any:
    """The JSON body validated by ``schema``; errors as every error of the API: 400 or 422 with a
    message saying what (FastAPI's own 422 lists them instead)."""
    return validate_json(await json_bytes(request), schema)


async def json_bytes(request: Request) -> bytes:
    """The body of a request that must be JSON (415 if it says it is not), not parsed yet."""
    if _media_type(request) != "application/json":
        raise HTTPException(415, "send the body as application/json")
    return await request.body()


def validate_json(body: bytes, schema: type[BaseModel]) -> Any:
    """``body`` parsed and validated by ``schema``, or 400/422 saying why (``json_body``)."""
    try:
        return schema.model_validate(parse_json(body))
    except json.JSONDecodeError as exc:
        raise HTTPException(400, f"the body is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise HTTPException(400, "the body is not valid JSON (bad UTF-8 or nested too deep)") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise HTTPException(422, problems) from exc


def parse_json(body: bytes) -> Any:
    """The body's JSON value: orjson reads it (784 numbers: ~17 us against the standard library's
    ~165, docs/performance.md); what orjson refuses goes to ``json.loads``, which accepts a little
    more (NaN, a UTF-8 BOM, UTF-16) and words the errors, so both answer exactly as before. Integers
    past 64 bits come back as floats, the same value for the float fields that take numbers."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


async def _uploads(request: Request, limit: int) -> list[bytes]:
    form = await request.form(max_files=limit, max_fields=limit)
    files = [v for v in form.getlist("file") if isinstance(v, UploadFile)]
    if not files:
        raise HTTPException(422, "the multipart form needs a file field named 'file'")
    return [await f.read() for f in files]


def _unsupported(media_type: str) -> HTTPException:
    return HTTPException(415, f"unsupported content type {media_type or '(none)'}; send image/png, "
                              "image/jpeg, application/json or multipart/form-data")
