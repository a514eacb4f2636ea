"""POST /predict/number: a row of handwritten digits in one image, read left to right."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, HTTPException, Request, Response
from PIL import Image

from app.deps import ServicesDep
from app.reading.images import decode_data_url
from app.reading.numbers import CANVAS_HEIGHT, NumberReading, read_number
from app.web.drawings import ERRORS, Drawings, answer, body_doc, body_type, json_body, read_drawing
from app.web.schemas.number import NumberDigitResponse, NumberRequest, NumberResponse

router = APIRouter(tags=["predict"])


@router.post("/predict/number", response_model=NumberResponse, responses=ERRORS,
             openapi_extra=body_doc(NumberRequest), summary="Read a whole number written on one image")
async def predict_number(request: Request, services: ServicesDep) -> Response:
    """Send one image of a row of digits (a year, a price), any width up to 2048 pixels: as a
    PNG/JPEG (raw body or multipart field ``file``) or as JSON with a data URL in ``image``
    (``pixels`` hold one digit only: 422). With JSON, ``strokes`` (the canvas' strokes, as
    ``/feedback`` takes them) say which ink belongs to which digit. Each digit is found in the ink and
    read as ``/predict`` reads one (docs/numbers.md); the answer lists them left to right with their
    boxes."""
    predictor = services.holder.current  # taken once: the whole request is answered by it
    drawing, body = await _read_request(request)
    strokes, height = (body.strokes, body.canvas_height) if body else (None, CANVAS_HEIGHT)

    def read(images: Sequence[Image.Image]) -> NumberReading:
        return read_number(predictor, images[0], strokes, height)

    reading = await answer(services, drawing, read, costly=True, inline=False)
    return Response(_response(reading).model_dump_json(), media_type="application/json")


async def _read_request(request: Request) -> tuple[Drawings, NumberRequest | None]:
    """The image, and the JSON body when it came as JSON (it may hold strokes)."""
    if body_type(request) != "application/json":
        return await read_drawing(request, pixels=False), None
    body: NumberRequest = await json_body(request, NumberRequest)
    if body.image is None:
        raise HTTPException(422, "send an image: this route does not read 'pixels'")
    return Drawings(images=[decode_data_url(body.image)]), body


def _response(reading: NumberReading) -> NumberResponse:
    digits = [NumberDigitResponse.model_validate(
        {**vars(d.prediction), "box": list(d.box)}) for d in reading.digits]
    return NumberResponse(number=reading.number, digits=digits, model_version=reading.model_version,
                          confidence=reading.confidence, runner_up=reading.runner_up,
                          runner_up_confidence=reading.runner_up_confidence)
