"""POST /explain: a drawing in, the answer /predict gives and why (app/reading/explain.py)."""

from __future__ import annotations

import functools

from fastapi import APIRouter, HTTPException, Request, Response

from app.deps import ServicesDep
from app.reading.explain import explain_images, explain_pixels
from app.web.drawings import ERRORS, answer, body_doc, read_drawing
from app.web.schemas.explain import ExplainResponse
from app.web.schemas.predict import PredictRequest

router = APIRouter(tags=["predict"])
DIGITS = [str(d) for d in range(10)]
# ?class is read here, not by FastAPI: a bad one is then a 422 with a text detail, as every other
# error of the drawing routes (FastAPI's own would be a list), and it is documented by hand
CLASS_PARAMETER = {"name": "class", "in": "query", "required": False,
                   "description": "the digit to explain (why 8, or why not 8?); the digit read when left out",
                   "schema": {"type": "integer", "minimum": 0, "maximum": 9}}


@router.post("/explain", response_model=ExplainResponse, responses=ERRORS,
             openapi_extra={**body_doc(PredictRequest), "parameters": [CLASS_PARAMETER]},
             summary="Read one drawn digit and show why")
async def explain_one(request: Request, services: ServicesDep) -> Response:
    """The same bodies as ``/predict``, the same answer, and why: the logits, every hidden layer's
    activations, the saliency (d log p_digit / dx for each input pixel, as numbers and as a picture)
    and the first hidden layer's units that contribute most to the digit, with their weights."""
    digit = _class(request)
    predictor = services.holder.current  # taken once: the whole request is answered by it
    drawing = await read_drawing(request)
    answers = await answer(services, drawing, functools.partial(explain_images, predictor, digit=digit),
                           functools.partial(explain_pixels, predictor, digit=digit), costly=True)
    # serialised once by its own model, as /predict does (app/web/routes/predict.py)
    body = ExplainResponse.model_validate(answers[0], from_attributes=True).model_dump_json()
    return Response(body, media_type="application/json")


def _class(request: Request) -> int | None:
    text = request.query_params.get("class")
    if text is None:
        return None
    if text not in DIGITS:
        raise HTTPException(422, f"class must be a digit from 0 to 9, got {text[:20]!r}")
    return int(text)
