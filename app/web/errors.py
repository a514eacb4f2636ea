"""What each refusal is in HTTP: the status (and message) an exception answers with, by its class.

The parts below the web raise exceptions that say what went wrong in their own words; this table is
the one place that says which status each one is. Every answer has the API's one error shape, a
``detail`` string (app/web/schemas/common.py), and never a 500 for what a client can cause. A class
not here is a bug, and answers 500.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from app.feedback.intake import RATE_WINDOW_S, RateError
from app.feedback.store import FullError
from app.reading.images import InputError
from app.reading.serving import UnknownVersionError, VersionError
from app.reports.views import NotReadyError
from app.runs.training import RunConfigError
from app.state.db import NotFoundError, RefusedValueError, UnavailableError
from app.state.store import RunActiveError
from app.state.versions import HistoryChangedError, NothingToRollBackError, VersionInUseError
from app.web.metrics import CLIENT_LEFT
from app.web.schemas.common import validation_message
from model.data.mnist import DataError

NOTHING_TO_ROLL_BACK = ("nothing to roll back to: no earlier version served, or those that did were "
                        "deleted since")


@dataclass(frozen=True)
class Refusal:
    """An exception's answer: ``status``, and ``detail`` with ``{exc}`` standing for its message;
    ``retry_after_s`` says when to try again, where that is known."""

    status: int
    detail: str = "{exc}"
    retry_after_s: int | None = None

    async def answer(self, request: Request, exc: Exception) -> JSONResponse:
        headers = {"Retry-After": str(self.retry_after_s)} if self.retry_after_s is not None else None
        return JSONResponse({"detail": self.detail.format(exc=exc)}, status_code=self.status, headers=headers)


# a class's own entry wins over its base's (UnknownVersionError is a VersionError)
REFUSALS: dict[type[Exception], Refusal] = {
    RunConfigError: Refusal(422),
    RefusedValueError: Refusal(422),
    VersionError: Refusal(422),
    NotFoundError: Refusal(404),
    UnknownVersionError: Refusal(404),
    RunActiveError: Refusal(409, "run {exc} is still going; cancel it or wait"),
    VersionInUseError: Refusal(409, "version {exc} is promoted; promote another one first"),
    NothingToRollBackError: Refusal(409, NOTHING_TO_ROLL_BACK),
    HistoryChangedError: Refusal(409, "another promotion came first; look again and retry"),
    RateError: Refusal(429, retry_after_s=RATE_WINDOW_S),
    DataError: Refusal(503),
    NotReadyError: Refusal(503, "the shipped model's report is still being computed; try again shortly",
                           retry_after_s=5),
    # the database is away (PostgreSQL restarting, the network): what needs it answers 503 and says
    # so; predictions go on with the model in memory
    UnavailableError: Refusal(503, "the database is unavailable, try again shortly ({exc})", retry_after_s=5),
    FullError: Refusal(507, "{exc}: nothing was kept; the admin can delete or export drawings"),
}


def add_handlers(app: FastAPI) -> None:
    """Answer every exception in REFUSALS as it says, and the three that need more than a table."""
    for kind, refusal in REFUSALS.items():
        app.add_exception_handler(kind, refusal.answer)
    app.add_exception_handler(InputError, input_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(ClientDisconnect, client_left)


async def input_error(request: Request, exc: Exception) -> JSONResponse:
    """What the client sent cannot be read: the status the reader chose (4xx) and the reason."""
    status = exc.status if isinstance(exc, InputError) else 422
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 in the API's one error shape, a ``detail`` string, without the offending input
    echoed back: an input may not even be JSON (a NaN would make the answer itself fail) and need
    not be repeated to the client that sent it."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": validation_message(errors)}, status_code=422)


async def client_left(request: Request, exc: Exception) -> Response:
    """The client closed its connection before its body was whole: nothing went wrong here, so no
    traceback, and no answer can reach it; counted as CLIENT_LEFT (app.web.metrics)."""
    return Response(status_code=CLIENT_LEFT)
