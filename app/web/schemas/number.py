"""/predict/number: a number of several digits, each read as /predict reads one."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.reading.numbers import RUNNER_UP
from app.web.schemas.common import EXAMPLE_IMAGE
from app.web.schemas.feedback import MAX_POINTS, MAX_STROKES
from app.web.schemas.predict import PredictRequest, PredictResponse

# canvas coordinates: the page's pad is 0..700 x 0..280; a stroke may run off it, and an API
# client's canvas may be larger, up to the 2048 px of an image sent at the canvas' own size
LOWEST, HIGHEST = -2048, 4096
Coordinate = Annotated[float, Field(ge=LOWEST, le=HIGHEST)]
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

    @model_validator(mode="before")
    @classmethod
    def few_enough_points(cls, data: Any) -> Any:
        """The points are counted, and checked, before pydantic reads them one by one: each bad point of
        a 1 MiB body was an error of its own, in an answer of megabytes (docs/numbers.md, Limits); now
        one error."""
        strokes = data.get("strokes") if isinstance(data, dict) else None
        if not isinstance(strokes, list) or len(strokes) > MAX_STROKES:
            return data  # not a list, or too many strokes: pydantic's own single error
        points = sum(len(s) if isinstance(s, list) else 1 for s in strokes)
        if points > MAX_POINTS:
            raise ValueError(f"the strokes hold more than {MAX_POINTS:,} points ({points:,})")
        for k, stroke in enumerate(strokes):
            bad = next((p for p in stroke if not _is_point(p)), None) if isinstance(stroke, list) else None
            if bad is not None:
                raise ValueError(f"stroke {k} holds {str(bad)[:40]}, not a point [x, y] of numbers from "
                                 f"{LOWEST} to {HIGHEST}")
        return data


def _is_point(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and all(type(v) in (int, float) and LOWEST <= v <= HIGHEST for v in value))


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
    confidence: float = Field(ge=0, le=1, description=(
        "how sure the reading is: the product of each digit's probability (the chance that every digit "
        "is read right, were the network's probabilities exact); 1 for a blank image"))
    runner_up: str | None = Field(None, description=(
        f"the next likeliest number (one digit changed to its second choice) when it is close: at least "
        f"{RUNNER_UP:.0%} as likely as ``number``; null otherwise. A client may ask the user which"))
    runner_up_confidence: float | None = Field(None, ge=0, le=1, description="the runner-up's confidence")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "number": "2026", "model_version": "default", "confidence": 0.93, "runner_up": "2028",
        "runner_up_confidence": 0.05, "digits": [{
            "digit": 2, "probabilities": [0.0, 0.0, 0.998, 0.0, 0.0, 0.0, 0.0, 0.002, 0.0, 0.0],
            "model_version": "default", "input": "data:image/png;base64,iVBORw0KGgo...",
            "box": [12, 20, 70, 128]}],
    }]})
