"""/predict/number: a number of several digits, each read as /predict reads one."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.predict import PredictResponse


class NumberDigitResponse(PredictResponse):
    """One digit of a number: what ``/predict`` answers for it, and where it was found."""

    digit: int = Field(description="the digit read")  # type: ignore[assignment]
    box: list[int] = Field(min_length=4, max_length=4,
                           description="[x0, y0, x1, y1] of the digit's ink in the image's pixels; x1 and "
                                       "y1 are just past it")


class NumberResponse(BaseModel):
    number: str = Field(description="the digits read, left to right; empty for a blank image")
    digits: list[NumberDigitResponse]
    model_version: str = Field(description="the model version that answered")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "number": "2026", "model_version": "default", "digits": [{
            "digit": 2, "probabilities": [0.0, 0.0, 0.998, 0.0, 0.0, 0.0, 0.0, 0.002, 0.0, 0.0],
            "model_version": "default", "input": "data:image/png;base64,iVBORw0KGgo...",
            "box": [12, 20, 70, 128]}],
    }]})
