"""Request and response bodies of the HTTP API, as pydantic models (they make the OpenAPI schema)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.feedback import STATUSES as FEEDBACK_STATUSES
from app.store import RUN_STATUSES
from app.training import MAX_RUN_EPOCHS
from model.config import DEFAULT_PRESET, PRESETS
from model.functions import COSTS, HIDDEN_ACTIVATIONS
from model.optim import OPTIMIZERS, SCHEDULES

MAX_BATCH = 64

# The names a user can choose, each from the registry that defines it (Literal[("a", "b")] is
# Literal["a", "b"]): a name added there is accepted here and listed in the OpenAPI schema. A type
# checker cannot read a Literal built at run time: to it they are strings.
if TYPE_CHECKING:
    PresetName: TypeAlias = str
    ActivationName: TypeAlias = str
    CostName: TypeAlias = str
    OptimizerName: TypeAlias = str
    ScheduleName: TypeAlias = str
    RunStatus: TypeAlias = str
    FeedbackStatus: TypeAlias = str
else:
    PresetName = Literal[tuple(PRESETS)]
    ActivationName = Literal[tuple(HIDDEN_ACTIVATIONS)]
    CostName = Literal[tuple(COSTS)]
    OptimizerName = Literal[tuple(OPTIMIZERS)]
    ScheduleName = Literal[tuple(SCHEDULES)]
    RunStatus = Literal[tuple(RUN_STATUSES)]
    FeedbackStatus = Literal[tuple(FEEDBACK_STATUSES)]

EXAMPLE_IMAGE = "data:image/png;base64,iVBORw0KGgo..."


class RequestBody(BaseModel):
    """A request body: unknown fields and non-finite numbers (NaN, Infinity) are refused with 422."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PredictRequest(RequestBody):
    """One drawing: a PNG/JPEG data URL in ``image``, or 784 MNIST-form numbers in ``pixels``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"image": EXAMPLE_IMAGE}]})

    image: str | None = Field(None, description="data:image/png;base64,... (or image/jpeg)")
    pixels: list[float] | None = Field(
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
    pixels: list[list[float]] | None = Field(None, max_length=MAX_BATCH)

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

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "digit": 7, "probabilities": [0.0, 0.0, 0.001, 0.002, 0.0, 0.0, 0.0, 0.996, 0.0, 0.001],
        "model_version": "default", "input": "data:image/png;base64,iVBORw0KGgo...",
    }]})


class BatchResponse(BaseModel):
    predictions: list[PredictResponse]


# --- explanations: why the network read what it read (app/explain.py) ---
class LayerActivations(BaseModel):
    size: int = Field(description="how many units the hidden layer has")
    activations: list[float] = Field(description="each unit's activation a = f(z) for this input, "
                                                 "rounded to 4 decimals")


class SaliencyMap(BaseModel):
    digit: int = Field(description="the digit explained: the one read, or the one asked for with ?class")
    gradient: list[float] = Field(description=(
        "784 numbers, row by row: d log p_digit / dx for each of the network's inputs x (for 'pixels', "
        "the numbers as sent; for an image, the 28x28 input in 'input'). Positive: more ink on that "
        "pixel would make the digit more likely; negative: less likely"))
    image: str = Field(description="the gradient as a 28x28 PNG data URL: blue where it is positive, red "
                                   "where negative, white at 0, scaled by its largest magnitude")


class UnitContribution(BaseModel):
    index: int = Field(description="the unit's place in the first hidden layer, from 0")
    activation: float = Field(description="its activation a_j for this input, rounded to 4 decimals")
    contribution: float = Field(description=(
        "a_j * d log p_digit / d a_j: to first order, how much log p_digit would fall if this unit "
        "fell silent (a_j = 0); the units are listed largest first"))
    weights: str = Field(description="its incoming weights W[:, j] as a 28x28 PNG data URL: blue where ink "
                                     "excites the unit, red where it inhibits it, scaled by the largest")


class ExplainResponse(PredictResponse):
    """An answer as /predict gives it, and why; the explanation is null for a blank drawing."""

    model_config = ConfigDict(json_schema_extra=None)

    logits: list[float] | None = Field(description="the ten output pre-activations z (before softmax)")
    layers: list[LayerActivations] | None = Field(description="every hidden layer, first to last")
    saliency: SaliencyMap | None = Field(description="which input pixels push towards the digit, which away")
    units: list[UnitContribution] | None = Field(
        description="the first hidden layer's units that contribute most to the digit (none without one)")


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong with the request")


class Health(BaseModel):
    status: Literal["ok", "ready", "loading", "degraded"]
    model_version: str | None = None
    detail: str | None = Field(default=None, description="why the worker is degraded")


class TrainRequest(RequestBody):
    """Hyperparameters of a run: a preset, and any of its values to change."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"preset": "seed", "epochs": 2, "limit": 5000},
        {"preset": "default", "hidden": [256, 128], "optimizer": "adam", "lr": 0.001, "augment": True},
    ]})

    preset: PresetName = DEFAULT_PRESET
    hidden: list[Annotated[int, Field(ge=1, le=4096)]] | None = Field(None, min_length=1, max_length=4)
    activation: ActivationName | None = None
    cost: CostName | None = None
    optimizer: OptimizerName | None = None
    lr: float | None = Field(None, gt=0, le=10)
    schedule: ScheduleName | None = None
    epochs: int | None = Field(None, ge=1, le=MAX_RUN_EPOCHS)
    batch_size: int | None = Field(None, ge=1, le=4096)
    l2: float | None = Field(None, ge=0, lt=1)
    augment: bool | None = None
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    limit: int | None = Field(None, ge=0, le=60000, description="train on the first N digits (0: all)")
    feedback: bool | None = Field(None, description="also train on the accepted drawings people sent back "
                                                    "(all but the held-out share)")


# --- feedback: a person's "No, it's a ..." (app/feedback.py) ---
MAX_STROKES = 64  # a digit drawn with more strokes than this is no digit
MAX_POINTS = 10_000  # in all strokes together: the page records ~60 points a second of drawing
Coordinate = Annotated[float, Field(ge=-100, le=400)]  # the canvas is 0..280; a stroke may run off it


class FeedbackRequest(RequestBody):
    """A drawing with the digit it really is; kept to train the network on (the page says so)."""

    image: str = Field(max_length=1_500_000, description="the drawing as the page exported it (PNG data URL)")
    label: int = Field(ge=0, le=9, description="the digit the person drew")
    predicted: int | None = Field(None, ge=0, le=9, description="the digit the model answered (null: none)")
    model_version: str = Field(min_length=1, max_length=64, description="the version that answered")
    strokes: list[Annotated[list[Annotated[list[Coordinate], Field(min_length=2, max_length=2)]],
                            Field(min_length=1)]] | None = Field(
        None, max_length=MAX_STROKES, description="the strokes, lists of [x, y] in the canvas' 0..280")

    @model_validator(mode="after")
    def bounded(self) -> FeedbackRequest:
        if self.strokes is not None and sum(len(s) for s in self.strokes) > MAX_POINTS:
            raise ValueError(f"the strokes hold more than {MAX_POINTS} points")
        return self


class FeedbackCreated(BaseModel):
    id: str
    status: FeedbackStatus
    duplicate: bool = Field(description="the same drawing was sent before: it is kept once")


class FeedbackReview(RequestBody):
    status: FeedbackStatus | None = None
    label: int | None = Field(None, ge=0, le=9)

    @model_validator(mode="after")
    def something(self) -> FeedbackReview:
        if self.status is None and self.label is None:
            raise ValueError("send a status, a label or both")
        return self


class FeedbackItem(BaseModel):
    id: str
    created_at: float
    label: int
    predicted: int | None
    model_version: str
    status: FeedbackStatus
    held_out: bool = Field(description="never trained on: it scores the versions")
    reviewed_at: float | None
    image: str = Field(description="the 28x28 the network saw, as a PNG data URL")


class FeedbackList(BaseModel):
    items: list[FeedbackItem]
    counts: dict[str, int] = Field(description="drawings by status")
    right: dict[str, dict[str, float]] = Field(
        description="per model version, over its last submissions: how many, and the share read right")


class RunResponse(BaseModel):
    id: str
    status: RunStatus
    params: dict[str, Any]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    reason: str | None = None
    version_id: str | None = None
    test_accuracy: float | None = None
    cancel_requested: bool = False
    pid: int | None = Field(None, description="the training process, while it runs")
    host: str | None = Field(None, description="the host it trains on (several hosts share one database)")
    heartbeat_at: float | None = Field(None, description="the last sign of life from its process "
                                                         "(seconds since 1970, the database's clock)")


class PromoteResponse(BaseModel):
    promoted: str
    previous: str


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
