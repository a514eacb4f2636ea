"""/predict and /predict/batch: drawings in, the digits and their probabilities out."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.reading.predictor import N_PIXELS
from app.web.schemas.common import EXAMPLE_IMAGE, RequestBody

MAX_BATCH = 64
# One drawing in MNIST form. The length is checked before the numbers are: 150,000 strings in its
# place were 150,000 errors, a 12 MB answer built on the event loop.
Pixels = Annotated[list[float], Field(min_length=N_PIXELS, max_length=N_PIXELS)]


class PredictRequest(RequestBody):
    """One drawing: a PNG/JPEG data URL in ``image``, or 784 MNIST-form numbers in ``pixels``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"image": EXAMPLE_IMAGE}]})

    image: str | None = Field(None, description="data:image/png;base64,... (or image/jpeg)")
    pixels: Pixels | None = Field(
        None, description="784 numbers in [0, 1], row by row, 0 = background, as MNIST"
    )

    @model_validator(mode="after")
    def exactly_one(self) -> PredictRequest:
        if (self.image is None) == (self.pixels is None):
            raise ValueError("send exactly one of 'image' or 'pixels'")
        return self


class BatchRequest(RequestBody):
    """Several drawings in one call: a list of data URLs, or a list of 784-number lists."""

    images: list[str] | None = Field(None, max_length=MAX_BATCH)
    pixels: list[Pixels] | None = Field(None, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def exactly_one(self) -> BatchRequest:
        if (self.images is None) == (self.pixels is None):
            raise ValueError("send exactly one of 'images' or 'pixels'")
        if not (self.images or self.pixels):
            raise ValueError("the batch is empty")
        return self


class PredictResponse(BaseModel):
    digit: int | None = Field(description="the digit read, or null when the drawing is blank")
    probabilities: list[float] = Field(description="ten probabilities, for digits 0 to 9; they sum to 1")
    model_version: str = Field(description="the model version that answered")
    input: str = Field(description="the 28x28 image the network saw, as a PNG data URL: 8-bit gray, "
                                   "light ink on black as in MNIST (pixel / 255 is the network's input)")
    looks_like_a_digit: bool | None = Field(None, description=(
        "false when the drawing does not look like a digit at all (a scribble, a blob, most letters): "
        "the network still names the closest digit, but its evidence for every digit is weak (the "
        "log-sum-exp of its logits is below a threshold calibrated on real digits, docs/not-a-digit.md); "
        "null for a blank drawing or a model without that threshold"))

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "digit": 7, "probabilities": [0.0, 0.0, 0.001, 0.002, 0.0, 0.0, 0.0, 0.996, 0.0, 0.001],
        "model_version": "default", "input": "data:image/png;base64,iVBORw0KGgo...",
        "looks_like_a_digit": True,
    }]})


class BatchResponse(BaseModel):
    predictions: list[PredictResponse]
