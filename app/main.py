"""The web application: ``create_app`` puts the routers, the middlewares and the start-up together.

At start (the lifespan) each worker opens the store, recovers from a crash, reads the admin token,
loads the model that serves and starts following promotions: all of it in one ``Services`` that the
routes receive as typed dependencies (app.deps).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from app.deps import Services
from app.feedback.store import FeedbackStore
from app.reading.images import InputError
from app.reading.serving import ModelHolder
from app.reading.work import WorkPools
from app.reports import compute as reports
from app.runs import control as run_control
from app.settings import STATIC, Settings
from app.state.db import RefusedValueError, UnavailableError
from app.state.store import Store
from app.web.auth import load_or_create_token, require_admin
from app.web.limits import BodyLimitMiddleware, InFlightLimitMiddleware
from app.web.metrics import CLIENT_LEFT, Metrics, MetricsMiddleware
from app.web.routes import admin, feedback, health, number, pages, predict
from app.web.routes import reports as report_routes
from app.web.routes.explain import router as explain_router
from app.web.schemas.common import one_error_shape, validation_message
from app.web.security import SecurityHeadersMiddleware
from model.serialize import load_model


def check_can_start(settings: Settings) -> None:
    """What a worker needs at start, checked once before the server starts: the state directory and
    its database, the admin token, the shipped model and the extra ones. Raises StoreError,
    ModelFileError or OSError with a message naming the file and what to do."""
    Store(settings.home, settings.database_url)
    load_or_create_token(settings.home, settings.admin_token)
    for path in (settings.weights, *(path for _, path in settings.extra_models)):
        load_model(path)


def offer_extra_models(store: Store, settings: Settings) -> None:
    """Each of ``DIGITNET_EXTRA_MODELS`` (e.g. weights/conv.npz) as a version the admin may promote,
    once per file (``Versions.offer``)."""
    for name, path in settings.extra_models:
        saved = load_model(path)
        store.versions.offer(name, path, saved.meta.get("test_accuracy"), saved.meta)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for ``settings`` (default: read from the environment, once, here)."""
    settings = settings or Settings.from_env()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.home, settings.database_url)
        store.recover()
        offer_extra_models(store, settings)
        holder = ModelHolder(store, settings.weights)
        work = WorkPools.of(settings)
        app.state.services = Services(
            settings=settings, store=store, holder=holder,
            admin_token=load_or_create_token(settings.home, settings.admin_token),
            work=work, metrics=metrics,
            feedback=FeedbackStore(store, settings.feedback_max_count, settings.feedback_max_bytes)
            if settings.feedback else None,
            feedback_limiter=anyio.CapacityLimiter(feedback.FEEDBACK_THREADS) if settings.feedback else None,
        )
        metrics.watch(store, holder, app.state.services.feedback)
        reports.start_default(store, settings)  # the shipped model's report, once, not in start-up's way
        watchers = [asyncio.create_task(holder.watch()),
                    asyncio.create_task(run_control.watch_heartbeats(store, settings.heartbeat_timeout_s))]
        yield
        for watcher in watchers:
            watcher.cancel()
        work.close()

    app = FastAPI(
        title="digitnet",
        summary="Draw a digit; a neural network written from scratch in NumPy reads it.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # routes/pages.py serves it, Swagger UI from static/: offline, no inline script
        redoc_url=None,
        redirect_slashes=False,  # pages.SlashRedirect does it, with a path for Location
    )
    app.router.default = pages.SlashRedirect(app.router)
    app.add_exception_handler(InputError, input_error)
    app.add_exception_handler(UnavailableError, database_unavailable)
    app.add_exception_handler(RefusedValueError, input_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(ClientDisconnect, client_left)
    app.include_router(predict.router)
    app.include_router(explain_router)
    app.include_router(number.router)
    app.include_router(admin.router, dependencies=[Depends(require_admin)])
    app.include_router(report_routes.router, dependencies=[Depends(require_admin)])
    if settings.feedback:
        app.include_router(feedback.public)
        app.include_router(feedback.admin, dependencies=[Depends(require_admin)])
    app.include_router(health.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # each one added wraps the ones before: the security headers go on every answer, metrics count
    # every answer, and the body limit runs before a /predict request takes its in-flight slot
    app.add_middleware(InFlightLimitMiddleware, limit=settings.max_in_flight,
                       costly_limit=settings.max_costly_in_flight)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                       timeout_s=settings.receive_timeout_s)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware)  # on every answer, the refusals too
    return with_one_error_shape(app)


async def input_error(request: Request, exc: Exception) -> JSONResponse:
    """What the client sent cannot be read: its status (4xx) and the reason, as every error says it."""
    status = exc.status if isinstance(exc, InputError) else 422
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is away (PostgreSQL restarting, the network): what needs it answers 503 and
    says so; predictions go on with the model in memory."""
    return JSONResponse({"detail": f"the database is unavailable, try again shortly ({exc})"},
                        status_code=503, headers={"Retry-After": "5"})


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 in the API's one error shape, a ``detail`` string, without the offending input
    echoed back: an input may not even be JSON (a NaN would make the answer itself fail) and need
    not be repeated to the client that sent it."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": validation_message(errors)}, status_code=422)


def with_one_error_shape(app: FastAPI) -> FastAPI:
    """The app whose OpenAPI document says what its 422s are: ``ErrorResponse`` (schemas.common)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = one_error_shape(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def client_left(request: Request, exc: Exception) -> Response:
    """The client closed its connection before its body was whole: nothing went wrong here, so no
    traceback, and no answer can reach it; counted as CLIENT_LEFT (app.web.metrics)."""
    return Response(status_code=CLIENT_LEFT)
