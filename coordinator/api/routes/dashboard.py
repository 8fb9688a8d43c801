"""`/`: a minimal HTML page listing the fleet's nodes (data fetched from the API)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["dashboard"])


@lru_cache(maxsize=1)
def _page() -> str:
    return resources.files("coordinator.api").joinpath("dashboard.html").read_text(encoding="utf-8")


@router.get("/", summary="Dashboard page", response_class=HTMLResponse, include_in_schema=False)
def dashboard() -> HTMLResponse:
    """The dashboard page."""
    return HTMLResponse(_page())


__all__ = ["router"]
