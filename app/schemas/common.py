"""What the API's bodies share: a request body's rules, an id's form, an error, the health answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.version_store import VERSION_ID

EXAMPLE_IMAGE = "data:image/png;base64,iVBORw0KGgo..."

# A run's, a version's or a drawing's id, in a path or a body: checked before it reaches the
# database, so a NUL (which PostgreSQL refuses in text), a newline or a slash is a 422 saying so.
# Anchored at both ends: pydantic's patterns search, and its "$" is the end of the text only.
StoredId = Annotated[str, Field(pattern=f"^{VERSION_ID.pattern}$",
                                description="letters, digits, '-' and '_', at most 64")]


class RequestBody(BaseModel):
    """A request body: unknown fields and non-finite numbers (NaN, Infinity) are refused with 422."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong with the request")


class Health(BaseModel):
    status: Literal["ok", "ready", "loading", "degraded"]
    model_version: str | None = None
    detail: str | None = Field(default=None, description="why the worker is degraded")
