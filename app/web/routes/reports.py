"""Admin routes for what a version gets wrong: its report, and two versions compared (app.reports.views).

The admin dependency is attached where this router is included, in app.main. The figures are
stored with each version; a request computes only the held-out drawings' figures again, and only
when the drawings changed since (app.reports.compute). No such version answers 404, a file that
fails its checks 422, the shipped model's report still being made 503 (app/web/errors.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.deps import ServicesDep
from app.reports.views import Reports
from app.state.versions import VERSION_ID
from app.web.schemas.common import StoredId
from app.web.schemas.reports import VersionComparison, VersionReport

router = APIRouter(tags=["admin"])
MAX_SHOWN = 200  # misread examples sent with their 28x28 (784 bytes each, 1 KB in base64)
Shown = Annotated[int, Query(ge=0, le=MAX_SHOWN, description="how many of the misread (or changed) "
                                                               "examples come with their 28x28")]
VersionQuery = Annotated[str, Query(pattern=f"^{VERSION_ID.pattern}$")]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such version"},
    422: {"description": "the version's file fails its checks (its held-out figures were computed again)"},
    503: {"description": "the shipped model's report is still being computed (at start)"}}


@router.get("/versions/compare", response_model=VersionComparison, responses=ERRORS,
            summary="Version b beside version a: per digit, and what one reads right and the other wrong")
def compare_versions(services: ServicesDep, b: VersionQuery, a: VersionQuery | None = None,
                     shown: Shown = 24) -> dict[str, Any]:
    """``a`` defaults to the version this worker serves: what would change if b were promoted."""
    return _reports(services).comparison(a or services.holder.current.version, b, shown)


@router.get("/versions/{version_id}/report", response_model=VersionReport, responses=ERRORS,
            summary="A version's report: per digit, the confusion matrix, the misread examples")
def version_report(version_id: StoredId, services: ServicesDep, shown: Shown = 24) -> dict[str, Any]:
    return _reports(services).report(version_id, shown)


def _reports(services: ServicesDep) -> Reports:
    return Reports(services.store, services.holder, services.settings)
