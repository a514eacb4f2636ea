"""The pages: the drawing page, the admin page and the API page (Swagger UI, vendored in static/)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.deps import SettingsDep
from app.feedback import RIGHT_OVER
from app.settings import TEMPLATES
from app.store import FINAL
from app.training import MAX_RUN_EPOCHS
from model.config import DEFAULT_PRESET, PRESETS, TrainConfig
from model.functions import HIDDEN_ACTIVATIONS
from model.optim import OPTIMIZERS, SCHEDULES

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES)


def describe(cfg: TrainConfig) -> str:
    """A preset in a few words, e.g. '784-128-10, sgd'."""
    sizes = "-".join(str(n) for n in cfg.architecture().sizes)
    return f"{sizes}, {cfg.optimizer}" + (", distortions" if cfg.augment else "")


# The admin form's choices, from the registries that define them
ADMIN_CHOICES = {
    "presets": [(name, describe(cfg)) for name, cfg in PRESETS.items()],
    "default_preset": DEFAULT_PRESET,
    "activations": list(HIDDEN_ACTIVATIONS),
    "optimizers": list(OPTIMIZERS),
    "schedules": list(SCHEDULES),
    "final_statuses": list(FINAL),
    "max_epochs": MAX_RUN_EPOCHS,
}


@router.get("/", response_class=HTMLResponse)
def index(request: Request, settings: SettingsDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {"feedback": settings.feedback})


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The admin page: a static shell that asks for the token; its data comes from the admin API."""
    # a copy: TemplateResponse stores the request in the context it is given
    return templates.TemplateResponse(request, "admin.html", {**ADMIN_CHOICES, "feedback": settings.feedback,
                                                               "right_over": RIGHT_OVER})


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI page: Swagger UI vendored in static/vendor (no CDN), started by static/swagger-init.js.

    Not FastAPI's get_swagger_ui_html, whose inline start-up script the CSP (app/security.py) forbids.
    """
    return templates.TemplateResponse(request, "docs.html", {"openapi_url": request.app.openapi_url})
