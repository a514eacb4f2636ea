"""/predict/number: a number of several digits, each read as /predict reads one."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas.common import EXAMPLE_IMAGE
from app.schemas.feedback import MAX_POINTS, MAX_STROKES
from app.schemas.predict import PredictRequest, PredictResponse

# canvas coordinates: the page's pad is 0..700 x 0..280; a stroke may run off it, and an API
# client's canvas may be larger, up to the 2048 px of an image sent at the canvas' own size
Coordinate = Annotated[float, Field(ge=-2048, le=4096)]
Point = Annotated[list[Coordinate], Field(min_length=2, max_length=2)]


class NumberRequest(PredictRequest):
    """A number's image, and the strokes that drew it when the client has them."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "image": EXAMPLE_IMAGE, "strokes": [[[60, 40], [62, 230]], [[120, 60], [180, 60], [140, 230]]]}]})

    strokes: list[Annotated[list[Point], Field(min_length=1)]] | None = Field(
        None, max_length=MAX_STROKES,
        description=f"the strokes, lists of [x, y] in the canvas' pixels (at most {MAX_STROKES} strokes, "
                    f"{MAX_POINTS:,} points in all): they say which ink belongs to which digit")
    canvas_height: float = Field(280, gt=0, le=4096, description=(
        "the canvas' height in the strokes' pixels; the image is the canvas scaled to its own height "
        "(the page's pad: 280, sent 140 high)"))

    @model_validator(mode="after")
    def bounded(self) -> NumberRequest:
        if self.strokes is not None and sum(len(s) for s in self.strokes) > MAX_POINTS:
            raise ValueError(f"the strokes hold more than {MAX_POINTS:,} points")
        return self


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
