"""Liveness and readiness, for operators and load balancers."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import StartingServicesDep
from app.web.schemas.common import Health

router = APIRouter(tags=["operations"])


@router.get("/livez", response_model=Health, summary="The process is up")
async def livez() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, response_model_exclude_none=True,
            summary="The promoted model is loaded and answers",
            responses={503: {"model": Health, "description": "no model loaded yet (loading), or this "
                             "worker serves another version than the promoted one (degraded)"}})
async def readyz(services: StartingServicesDep) -> Health | JSONResponse:
    if services is None:
        return JSONResponse({"status": "loading", "model_version": None}, status_code=503)
    holder = services.holder
    if holder.problem is not None:
        body = Health(status="degraded", model_version=holder.current.version, detail=holder.problem)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
    return Health(status="ready", model_version=holder.current.version)
