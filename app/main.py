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
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app.deps import Services
from app.feedback.store import FeedbackStore
from app.reading.serving import ModelHolder
from app.reading.work import WorkPools
from app.reports import compute as reports
from app.runs import control as run_control
from app.settings import STATIC, Settings
from app.state.store import Store
from app.web import errors
from app.web.auth import load_or_create_token, require_admin
from app.web.limits import BodyLimitMiddleware, InFlightLimitMiddleware
from app.web.metrics import Metrics, MetricsMiddleware
from app.web.routes import admin, feedback, health, number, pages, predict
from app.web.routes import reports as report_routes
from app.web.routes.explain import router as explain_router
from app.web.schemas.common import one_error_shape
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
    """Each of ``DIGITNET_EXTRA_MODELS`` (e.g. weights/dense.npz) as a version the admin may promote,
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
    errors.add_handlers(app)  # each exception's status, by its class
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


def with_one_error_shape(app: FastAPI) -> FastAPI:
    """The app whose OpenAPI document says what its 422s are: ``ErrorResponse`` (schemas.common)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = one_error_shape(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
