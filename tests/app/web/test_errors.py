"""Exceptions answer with the status their class maps to (app/web/errors.py), never by their message."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.reading.serving import UnknownVersionError, VersionError
from app.state.db import NotFoundError, UnavailableError
from app.web.errors import REFUSALS, add_handlers


def answer(exc: Exception) -> tuple[int, str | None, dict[str, str]]:
    app = FastAPI()
    add_handlers(app)

    @app.get("/")
    def fails() -> None:
        raise exc

    with TestClient(app, raise_server_exceptions=False) as client:
        got = client.get("/")
    return got.status_code, got.headers.get("retry-after"), got.json()


def test_a_subclass_has_its_own_status_and_a_message_picks_none() -> None:
    assert answer(UnknownVersionError("no version 'x'")) == (404, None, {"detail": "no version 'x'"})
    assert answer(VersionError("no version 'x'"))[0] == 422  # the same words, another class
    assert answer(NotFoundError("run", "r1")) == (404, None, {"detail": "no run 'r1'"})
    assert answer(UnavailableError("connection refused")) == (
        503, "5", {"detail": "the database is unavailable, try again shortly (connection refused)"})


def test_every_refusal_is_a_client_error_or_a_service_one_never_a_500() -> None:
    for kind, refusal in REFUSALS.items():
        assert 400 <= refusal.status < 600 and refusal.status != 500, kind
        assert refusal.detail.format(exc="x")  # the template takes the message alone
