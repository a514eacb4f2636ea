"""The pages: the drawing page, the admin page and the API page (Swagger UI, vendored in static/).

Every URL they and their redirects carry is a path: an absolute URL would be built from the request's
Host header, which is whatever the client sent (`<script src="http://evil.example/...">` in a page a
cache may keep and serve to others).
"""

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.routing import Match, Router
from starlette.types import Receive, Scope, Send

from app.deps import SettingsDep
from app.feedback.reader import RIGHT_OVER
from app.runs.training import MAX_RUN_EPOCHS
from app.settings import TEMPLATES
from app.state.runs import FINAL
from model.config import PRESETS, TrainConfig
from model.names import DEFAULT_PRESET, HIDDEN_ACTIVATIONS, LAYER_PRESETS, OPTIMIZERS, SCHEDULES

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES)


@pass_context
def url_path_for(context: dict[str, Any], name: str, /, **path_params: Any) -> str:
    """The templates' ``url_for``: Starlette's, less the scheme and the host (its path keeps the
    root path a proxy may serve us under)."""
    return context["request"].url_for(name, **path_params).path


templates.env.globals["url_for"] = url_path_for


class SlashRedirect:
    """The router's answer to a path no route takes: a 307 to the same path with its final slash
    added or taken away, where that path is a route (what Starlette's ``redirect_slashes`` does, with
    a path in Location instead of a URL built from the Host header); else 404.

    A Location that starts with "//" names another host, so such paths are never redirected.
    """

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        other = self._other_form(scope) if scope["type"] == "http" else None
        if other is None:
            await self.router.not_found(scope, receive, send)
            return
        query = scope["query_string"].decode("latin-1")
        location = quote(other) + (f"?{query}" if query else "")
        await RedirectResponse(location, status_code=307)(scope, receive, send)

    def _other_form(self, scope: Scope) -> str | None:
        """The path with its final slash added or taken away, if a route takes it."""
        path = scope["path"]
        other = path.rstrip("/") if path.endswith("/") else f"{path}/"
        if not other.startswith("/") or other.startswith("//"):
            return None
        moved = {**scope, "path": other}
        taken = any(route.matches(moved)[0] is not Match.NONE for route in self.router.routes)
        return other if taken else None


def describe(cfg: TrainConfig) -> str:
    """A preset in a few words, e.g. '784-128-10, sgd' or 'conv5x5x16 pool conv5x5x32 pool 128-10, adam'."""
    arch = cfg.architecture()
    sizes = "-".join(str(n) for n in arch.sizes)
    if arch.image_layers:
        sizes = " ".join(arch.image_layers) + " " + sizes.split("-", 1)[1]
    return f"{sizes}, {cfg.optimizer}" + (", distortions" if cfg.augment else "")


# The admin form's choices, from the registries that define them
ADMIN_CHOICES = {
    "presets": [(name, describe(cfg)) for name, cfg in PRESETS.items()],
    "default_preset": DEFAULT_PRESET,
    "layer_presets": list(LAYER_PRESETS),
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

    Not FastAPI's get_swagger_ui_html, whose inline start-up script the CSP (app/web/security.py) forbids.
    """
    return templates.TemplateResponse(request, "docs.html", {"openapi_url": request.app.openapi_url})
