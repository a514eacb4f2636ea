"""POST /predict and /predict/batch: a drawing in, the digit and ten probabilities out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.deps import ServicesDep
from app.web.drawings import ERRORS, answer, body_doc, read_drawing, read_drawings
from app.web.schemas.predict import BatchRequest, BatchResponse, PredictRequest, PredictResponse

router = APIRouter(tags=["predict"])


def _json(answer: BaseModel) -> Response:
    """The answer, serialised once by its own model: built from our own dataclass, it needs no second
    validation against ``response_model`` (which still documents it; the schema tests check it)."""
    return Response(answer.model_dump_json(), media_type="application/json")


@router.post("/predict", response_model=PredictResponse, responses=ERRORS,
             openapi_extra=body_doc(PredictRequest), summary="Read one drawn digit")
async def predict_one(request: Request, services: ServicesDep) -> Response:
    """Send a drawing as a PNG/JPEG (raw body or multipart field ``file``), as JSON with a data URL
    in ``image``, or as JSON ``pixels`` already in MNIST form (784 numbers in [0, 1])."""
    predictor = services.holder.current  # taken once: the whole request is answered by it
    drawing = await read_drawing(request)
    answers = await answer(services, drawing, predictor.predict_images, predictor.predict_pixels)
    return _json(PredictResponse.model_validate(answers[0], from_attributes=True))


@router.post("/predict/batch", response_model=BatchResponse, responses=ERRORS,
             openapi_extra=body_doc(BatchRequest), summary="Read several digits at once")
async def predict_batch(request: Request, services: ServicesDep) -> Response:
    """Up to 64 drawings: JSON ``images`` (data URLs) or ``pixels`` (lists of 784 numbers), or a
    multipart form with several ``file`` fields. Answers in the same order."""
    predictor = services.holder.current  # taken once: the whole request is answered by it
    drawings = await read_drawings(request)
    answers = await answer(services, drawings, predictor.predict_images, predictor.predict_pixels,
                           costly=True)
    return _json(BatchResponse(predictions=[
        PredictResponse.model_validate(a, from_attributes=True) for a in answers
    ]))
