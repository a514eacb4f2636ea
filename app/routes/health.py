"""Liveness and readiness, for operators and load balancers."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/livez", response_model=Health, summary="The process is up")
def livez() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, summary="A model is loaded and answers",
            responses={503: {"model": Health, "description": "no model loaded yet"}})
def readyz(request: Request) -> Health | JSONResponse:
    holder = getattr(request.app.state, "holder", None)
    if holder is None:
        return JSONResponse({"status": "loading", "model_version": None}, status_code=503)
    return Health(status="ready", model_version=holder.current.version)
