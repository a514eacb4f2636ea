"""POST /predict/number: a row of handwritten digits in one image, read left to right."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from PIL import Image

from app.deps import ServicesDep
from app.numbers import NumberReading, read_number
from app.predictor import Predictor
from app.routes.drawings import ERRORS, answer, body_doc, read_drawing
from app.schemas.number import NumberDigitResponse, NumberResponse
from app.schemas.predict import PredictRequest

router = APIRouter(tags=["predict"])


@router.post("/predict/number", response_model=NumberResponse, responses=ERRORS,
             openapi_extra=body_doc(PredictRequest), summary="Read a whole number written on one image")
async def predict_number(request: Request, services: ServicesDep) -> Response:
    """Send one image of a row of digits (a year, a price), any width up to 2048 pixels: as a
    PNG/JPEG (raw body or multipart field ``file``) or as JSON with a data URL in ``image``
    (``pixels`` hold one digit only: 422). Each digit is found in the ink and read as ``/predict``
    reads one (docs/numbers.md); the answer lists them left to right with their boxes."""
    predictor = services.holder.current  # taken once: the whole request is answered by it
    drawing = await read_drawing(request, pixels=False)
    reading = await answer(services, drawing, lambda images: _read(predictor, images), costly=True,
                           inline=False)
    return Response(_response(reading).model_dump_json(), media_type="application/json")


def _read(predictor: Predictor, images: Sequence[Image.Image]) -> NumberReading:
    return read_number(predictor, images[0])


def _response(reading: NumberReading) -> NumberResponse:
    digits = [NumberDigitResponse.model_validate(
        {**vars(d.prediction), "box": list(d.box)}) for d in reading.digits]
    return NumberResponse(number=reading.number, digits=digits, model_version=reading.model_version)
