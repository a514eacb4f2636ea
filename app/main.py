"""The web application: the drawing page, /predict, and health checks for operators."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.inference import Predictor
from app.limits import BodyLimitMiddleware
from app.paths import SHIPPED_WEIGHTS, STATIC
from app.routes import health, pages, predict

DEFAULT_WEIGHTS = SHIPPED_WEIGHTS
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class Settings:
    """Where the model comes from and how much a request may carry."""

    weights: Path = DEFAULT_WEIGHTS
    max_body_bytes: int = MAX_BODY_BYTES

    @classmethod
    def from_env(cls) -> Settings:
        return cls(weights=Path(os.environ.get("DIGITNET_WEIGHTS", str(DEFAULT_WEIGHTS))))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the model is read once, here; requests share this immutable Predictor
        app.state.predictor = Predictor.from_file(settings.weights, version="default")
        yield

    app = FastAPI(
        title="digitnet",
        summary="Draw a digit; a neural network written from scratch in NumPy reads it.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.predictor = None
    app.include_router(predict.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app
