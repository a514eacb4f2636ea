"""Feedback: a person's "No, it's a ..." with their drawing (app/feedback/store.py), and its review."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import BaseModel, Field, model_validator

from app.feedback.reader import STATUSES as FEEDBACK_STATUSES
from app.web.schemas.common import RequestBody, StoredId

# from the registry that defines it (app/web/schemas/__init__.py)
if TYPE_CHECKING:
    FeedbackStatus: TypeAlias = str
else:
    FeedbackStatus = Literal[tuple(FEEDBACK_STATUSES)]

MAX_STROKES = 64  # a digit drawn with more strokes than this is no digit
# In all strokes together: half a minute of drawing on the page; a run draws every point 20 times,
# so the points bound what one drawing costs a run (what 2,000 and 10,000 cost: docs/feedback.md, Limits)
MAX_POINTS = 2_000
Coordinate = Annotated[float, Field(ge=-100, le=400)]  # the canvas is 0..280; a stroke may run off it


def too_many_points(body: bytes) -> bool:
    """Whether a /feedback body holds more points than a request may, counted in its raw bytes,
    before anything is parsed: every point and every stroke opens a ``[``, and nothing else of a
    valid request does. Counting the brackets costs a small fraction of parsing the body
    (docs/feedback.md, Limits)."""
    return body.count(b"[") > MAX_POINTS + MAX_STROKES + 1


class FeedbackRequest(RequestBody):
    """A drawing with the digit it really is; kept to train the network on (the page says so)."""

    image: str = Field(max_length=1_500_000, description="the drawing as the page exported it (PNG data URL)")
    label: int = Field(ge=0, le=9, description="the digit the person drew")
    predicted: int | None = Field(None, ge=0, le=9, description="ignored: the server records what its "
                                  "serving version reads in the drawing, not what a client says it read")
    model_version: StoredId | None = Field(None, description="ignored, as `predicted` is")
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
    duplicate: bool = Field(description="the same drawing was sent before: it is kept once, with the label "
                                        "it was sent with first")
    label: int = Field(description="the label kept: this post's, or for a duplicate the earlier one's "
                                    "(which stands, whatever this post said)")


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
    strokes_image: str | None = Field(description="what a run learns from: the strokes drawn as the page "
                                      "drew them, in the same 28x28 form (null: no strokes, the run "
                                      "learns from the image)")


class FeedbackList(BaseModel):
    items: list[FeedbackItem]
    counts: dict[str, int] = Field(description="drawings by status")
    right: dict[str, dict[str, float]] = Field(
        description="per model version, over its last submissions: how many, and the share read right")
