"""The web application: the drawing page, /predict, and health checks for operators."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app.auth import load_or_create_token, require_admin
from app.limits import BodyLimitMiddleware, InFlightLimitMiddleware
from app.metrics import Metrics, MetricsMiddleware
from app.paths import SHIPPED_WEIGHTS, STATIC
from app.routes import admin, health, pages, predict
from app.serving import ModelHolder
from app.store import Store, default_home

DEFAULT_WEIGHTS = SHIPPED_WEIGHTS
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class Settings:
    """Where the model, the state and the data are, and how much a request may carry."""

    weights: Path = DEFAULT_WEIGHTS
    home: Path = field(default_factory=default_home)
    data_dir: str | None = None  # MNIST for training runs (None: $DIGITNET_DATA, else the cache)
    max_body_bytes: int = MAX_BODY_BYTES
    inference_threads: int = 1  # threads decoding and predicting at once, per worker (1 measured best)
    max_in_flight: int = 64  # more /predict requests than this at once get 503 + Retry-After
    request_timeout_s: float = 10.0  # a prediction taking longer is cut off with 503

    @classmethod
    def from_env(cls) -> Settings:
        return cls(weights=Path(os.environ.get("DIGITNET_WEIGHTS", str(DEFAULT_WEIGHTS))),
                   home=default_home(), data_dir=os.environ.get("DIGITNET_DATA"),
                   inference_threads=int(os.environ.get("DIGITNET_INFERENCE_THREADS", "1")),
                   max_in_flight=int(os.environ.get("DIGITNET_MAX_IN_FLIGHT", "64")),
                   request_timeout_s=float(os.environ.get("DIGITNET_REQUEST_TIMEOUT", "10")))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # state is read once, here: the store, the admin token, and the model that serves
        store = Store(settings.home)
        store.recover()
        app.state.store = store
        app.state.admin_token = load_or_create_token(settings.home)
        app.state.holder = ModelHolder(store, settings.weights)
        app.state.inference_limiter = anyio.CapacityLimiter(settings.inference_threads)
        watcher = asyncio.create_task(app.state.holder.watch())
        yield
        watcher.cancel()

    app = FastAPI(
        title="digitnet",
        summary="Draw a digit; a neural network written from scratch in NumPy reads it.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from static/, so the API page works offline too
        redoc_url=None,
    )
    app.state.holder = None
    app.state.data_dir = settings.data_dir
    app.include_router(predict.router)
    app.include_router(admin.router, dependencies=[Depends(require_admin)])
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(pages.docs_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.request_timeout_s = settings.request_timeout_s
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.state.metrics = Metrics()
    app.state.metrics.watch_state(app)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(InFlightLimitMiddleware, limit=settings.max_in_flight)  # outermost: first to refuse
    return app
