"""The officer's front page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from migrex.officers.api import CurrentOfficer
from migrex.ui.rendering import PageRoute, officer_page

router = APIRouter(route_class=PageRoute, tags=["console"])


@router.get("/ui/", summary="The officer's work", response_class=HTMLResponse)
def home(request: Request, officer: CurrentOfficer) -> HTMLResponse:
    return officer_page(request, officer, "ui/home.html", grants=sorted(officer.grants))
