"""Liveness and readiness, for operators and load balancers."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import StartingServicesDep
from app.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/livez", response_model=Health, summary="The process is up")
async def livez() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, summary="A model is loaded and answers",
            responses={503: {"model": Health, "description": "no model loaded yet"}})
async def readyz(services: StartingServicesDep) -> Health | JSONResponse:
    if services is None:
        return JSONResponse({"status": "loading", "model_version": None}, status_code=503)
    return Health(status="ready", model_version=services.holder.current.version)
