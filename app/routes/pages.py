"""The drawing page."""

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.paths import TEMPLATES

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {})


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> HTMLResponse:
    """The admin page: a static shell that asks for the token; its data comes from the admin API."""
    return templates.TemplateResponse(request, "admin.html", {})


docs_router = APIRouter(include_in_schema=False)


@docs_router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    """The OpenAPI page, with Swagger UI vendored in static/vendor (no CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="digitnet API",
        swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css", swagger_favicon_url="data:,",
    )
