"""Drawings in requests, and the work on them: shared by every route that reads drawings.

A drawing comes as a PNG/JPEG (the raw body, or a multipart field ``file``), as JSON with a data
URL in ``image`` (``images`` for several), or as JSON ``pixels`` already in MNIST form (784
numbers in [0, 1]). ``read_drawing`` and ``read_drawings`` turn a request into ``Drawings``;
``answer`` does a route's work on them, on the event loop when it is small and bounded, else in a
worker thread of the route's pool (app/reading/work.py), with the request timeout.
"""

from __future__ import annotations

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
from app.reading.images import decode_data_url, open_images, pixel_count
from app.reading.work import BusyError, TimedOutError, WorkPool
from app.web.schemas.common import ErrorResponse, validation_message
from app.web.schemas.predict import MAX_BATCH, BatchRequest, PredictRequest

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
        503: "the server is busy, or the work took longer than the request timeout (see Retry-After)",
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
    media_type = body_type(request)
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
    media_type = body_type(request)
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
                 on_pixels: Callable[[list[list[float]]], T] | None = None,
                 costly: bool = False, inline: bool = True) -> T:
    """Do the work on the drawings: ``on_images`` gets the opened images (headers read, pixels not yet
    decoded), ``on_pixels`` the rows. ``costly`` routes work in the costly pool (app/reading/work.py);
    ``inline=False`` for work that a small image does not bound (reading a number).

    Small drawings are worked on right here, on the event loop; larger images and batches in a
    thread. Handing a page's drawing to a worker thread and back costs about as much server time as
    reading it (wake-ups, the GIL passed back and forth), so work bounded by ``INLINE_PIXELS`` and
    ``INLINE_BYTES`` holds the event loop instead: a few ms at the very worst, far below the timeout
    (docs/performance.md, Serving). A small file's header is read first, on the loop: a large
    image's pixels are decoded in the thread; a large file is read there whole.
    """
    pool = services.work.costly if costly else services.work.predict
    if drawings.pixels is not None:
        assert on_pixels is not None, "a route that reads pixels says what to do with them"
        if len(drawings.pixels) == 1:  # 784 numbers: little work
            return on_pixels(drawings.pixels)
        return await _in_thread(pool, on_pixels, drawings.pixels)
    images = drawings.images or []
    max_pixels = services.settings.max_request_pixels
    if sum(len(data) for data in images) > INLINE_BYTES:
        return await _in_thread(pool, functools.partial(_open_then, on_images, max_pixels), images)
    opened = open_images(images, max_pixels)
    if inline and pixel_count(opened) <= INLINE_PIXELS:
        return on_images(opened)
    return await _in_thread(pool, on_images, opened)


async def _in_thread(pool: WorkPool, fn: Callable[[Any], T], arg: Any) -> T:
    """The work in one of the pool's threads (app/reading/work.py); a full pool or a timeout is a 503."""
    try:
        return await pool.run(fn, arg)
    except BusyError as exc:
        raise HTTPException(503, f"the server is busy ({exc}); retry in 1 s",
                            headers={"Retry-After": "1"}) from exc
    except TimedOutError as exc:
        raise HTTPException(503, f"{exc} and was cut off", headers={"Retry-After": "1"}) from exc


def _open_then(work: Callable[[Sequence[Image.Image]], T], max_pixels: int, images: list[bytes]) -> T:
    return work(open_images(images, max_pixels))


def body_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, schema: type[BaseModel]) -> Any:
    """The JSON body validated by ``schema``; errors as every error of the API: 400 or 422 with a
    message saying what. The page's drawings (a few KB) are read at once; a larger body in a thread,
    since 1 MiB of nested lists takes far longer to parse than a drawing (docs/security.md)."""
    body = await json_bytes(request)
    if len(body) <= INLINE_BYTES:
        return validate_json(body, schema)
    return await anyio.to_thread.run_sync(validate_json, body, schema)


async def json_bytes(request: Request) -> bytes:
    """The body of a request that must be JSON (415 if it says it is not), not parsed yet."""
    if body_type(request) != "application/json":
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
        raise HTTPException(422, validation_message(exc.errors())) from exc
    except ValueError as exc:  # Python reads no integer of more than 4,300 digits
        raise HTTPException(400, "the body is not valid JSON here: a number in it has more than 4,300 "
                                 "digits") from exc


def parse_json(body: bytes) -> Any:
    """The body's JSON value: orjson reads it (several times faster than the standard library
    on 784 numbers: docs/performance.md); what orjson refuses goes to ``json.loads``, which accepts a little
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
