"""What the API's bodies share: a request body's rules, an id's form, an error, the health answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.state.versions import VERSION_ID

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


MAX_ERRORS_TOLD = 10  # a body of 50,000 wrong numbers is told so in one line, not in 4 MB


def validation_message(errors: Iterable[Mapping[str, Any]]) -> str:
    """Pydantic's or FastAPI's validation errors as one ``detail`` string, the API's one error shape:
    each problem as ``where: what``, joined by "; ". ``where`` is the field's path in dots
    (``pixels.783``, ``hidden.0``); a body field is named alone, a query or path parameter with its
    place (``query.limit``); the input itself is never echoed back; past MAX_ERRORS_TOLD problems,
    how many more."""
    def where(loc: Iterable[Any]) -> str:
        parts = [str(p) for p in loc]
        if parts[:1] == ["body"]:
            parts = parts[1:]
        return ".".join(parts) or "body"

    listed = list(errors)
    told = "; ".join(f"{where(e['loc'])}: {e['msg']}" for e in listed[:MAX_ERRORS_TOLD])
    more = len(listed) - MAX_ERRORS_TOLD
    return told + (f"; and {more:,} more" if more > 0 else "")


def one_error_shape(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with FastAPI's list-shaped 422 (``HTTPValidationError``) replaced by
    ``ErrorResponse``, which is what every 422 is (app.web.errors.invalid_request)."""
    listed = "#/components/schemas/HTTPValidationError"
    for operation in (op for path in schema.get("paths", {}).values() for op in path.values()):
        content = operation.get("responses", {}).get("422", {}).get("content", {})
        for media in content.values():
            if media.get("schema", {}).get("$ref") == listed:
                media["schema"] = {"$ref": "#/components/schemas/ErrorResponse"}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components.setdefault("ErrorResponse", ErrorResponse.model_json_schema())
    return schema


class Health(BaseModel):
    status: Literal["ok", "ready", "loading", "degraded"]
    model_version: str | None = None
    detail: str | None = Field(default=None, description="why the worker is degraded")
