"""What the API's bodies share: a request body's rules, an error, the health answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_IMAGE = "data:image/png;base64,iVBORw0KGgo..."


class RequestBody(BaseModel):
    """A request body: unknown fields and non-finite numbers (NaN, Infinity) are refused with 422."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong with the request")


class Health(BaseModel):
    status: Literal["ok", "ready", "loading", "degraded"]
    model_version: str | None = None
    detail: str | None = Field(default=None, description="why the worker is degraded")
