"""What a route needs, handed to it by FastAPI as typed dependencies.

The app's state is made once, at start (``app.main``'s lifespan), as one ``Services``; routes never
look into ``app.state`` themselves but ask for what they use::

    def promote(version_id: str, holder: HolderDep) -> ...

Every dependency here is ``async`` although it awaits nothing: FastAPI runs a plain ``def``
dependency in a worker thread, a hop that costs more than reading an attribute (and, on the
/predict path, more than the prediction: docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request

from app.feedback.store import FeedbackStore
from app.reading.serving import ModelHolder
from app.reading.work import WorkPools
from app.settings import Settings
from app.state.store import Store
from app.web.metrics import Metrics


@dataclass(frozen=True)
class Services:
    """Everything the routes share in one worker, made at start."""

    settings: Settings
    store: Store
    holder: ModelHolder
    admin_token: str
    work: WorkPools  # the worker threads, and their slots (app/reading/work.py)
    metrics: Metrics
    feedback: FeedbackStore | None = None  # None when feedback is off
    feedback_limiter: anyio.CapacityLimiter | None = None  # /feedback's own threads, with feedback


def services_of(app: FastAPI) -> Services | None:
    """The worker's services, or None while it is still starting."""
    return getattr(app.state, "services", None)


async def get_services(request: Request) -> Services:
    services = services_of(request.app)
    if services is None:
        raise HTTPException(503, "the server is still starting")
    return services


async def get_services_if_started(request: Request) -> Services | None:
    return services_of(request.app)


ServicesDep = Annotated[Services, Depends(get_services)]
StartingServicesDep = Annotated[Services | None, Depends(get_services_if_started)]


async def get_settings(services: ServicesDep) -> Settings:
    return services.settings


async def get_store(services: ServicesDep) -> Store:
    return services.store


async def get_holder(services: ServicesDep) -> ModelHolder:
    return services.holder


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
