"""The drawing page."""

from fastapi import APIRouter, Request
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
