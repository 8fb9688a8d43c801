"""`/`: the operator console, a single page served from the package's `static` folder.

The page and its scripts, styles and vendored libraries (`coordinator/api/static/vendor/README.md`) ship
inside the package, so the console works without internet access. Assets are served from
a list of the files found in `static/` when first asked for: a path not on that list is a
404, whatever it holds (`..`, encoded slashes, absolute paths), so nothing outside the
folder can be read. The page's Content-Security-Policy allows scripts and styles from
this server only (the console writes API data as text, never as HTML); images may also
come from the configured map tile server (`console_tile_url`).

`GET /console/session` tells the page who the token belongs to and with which role, so
it can hide what a viewer may not do (the API enforces the roles anyway).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Annotated, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from coordinator.api.auth import Principal, Role, current_principal
from coordinator.errors import NotFound

router = APIRouter(tags=["console"])

STATIC_PACKAGE: Final = "coordinator.api"
STATIC_FOLDER: Final = "static"
MEDIA_TYPES: Final[dict[str, str]] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/markdown; charset=utf-8",
}
LICENCE_NAMES: Final = frozenset({"LICENSE", "LICENCE", "LICENSE.txt"})
SECURITY_HEADERS: Final[dict[str, str]] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
"""Sent with the console's page and assets: no sniffing, no referrer, no framing (also
`frame-ancestors 'none'` in the CSP), no cross-origin window or resource use, and none of
the powerful browser features."""
PrincipalDep = Annotated[Principal, Depends(current_principal)]


class SessionOut(BaseModel):
    """Who the console is signed in as, and what the map may use."""

    name: str
    role: Role
    tile_url: str


def _walk(folder: Traversable, prefix: str) -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    for entry in folder.iterdir():
        path = f"{prefix}{entry.name}"
        if entry.is_dir():
            found |= _walk(entry, f"{path}/")
        elif entry.name in LICENCE_NAMES or _suffix(entry.name) in MEDIA_TYPES:
            found[path] = entry
    return found


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


@lru_cache(maxsize=1)
def assets() -> dict[str, Traversable]:
    """Every servable file under `static/`, by its path relative to that folder."""
    return _walk(resources.files(STATIC_PACKAGE).joinpath(STATIC_FOLDER), "")


@lru_cache(maxsize=64)
def _read(path: str) -> bytes:
    return assets()[path].read_bytes()


def content_security_policy(tile_url: str) -> str:
    """Only this server's scripts and styles; images also from the tile server, if any."""
    images = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url)
        images += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


def _tile_url(request: Request) -> str:
    return str(getattr(request.app.state.settings, "console_tile_url", ""))


# The console's own routes are async and need no thread: they only read memory. A page
# load then never waits for a free worker thread behind slower API calls.


@router.get("/", summary="Operator console", response_class=HTMLResponse, include_in_schema=False)
async def console(request: Request) -> HTMLResponse:
    """The console's page; it signs in and loads its views from `/static/`."""
    return HTMLResponse(
        _read("console/index.html").decode("utf-8"),
        headers={
            "Content-Security-Policy": content_security_policy(_tile_url(request)),
            "Cache-Control": "no-cache",
            **SECURITY_HEADERS,
        },
    )


@router.get("/static/{path:path}", include_in_schema=False)
async def static_asset(path: str) -> Response:
    """One file of the console or its vendored libraries (read once, then kept); 404 for
    anything else."""
    if path not in assets():
        raise NotFound("console asset", path[:100])
    name = path.rsplit("/", 1)[-1]
    media = "text/plain; charset=utf-8" if name in LICENCE_NAMES else MEDIA_TYPES[_suffix(name)]
    return Response(
        _read(path),
        media_type=media,
        headers={"Cache-Control": "no-cache", **SECURITY_HEADERS},
    )


@router.get("/console/session", summary="Who the console is signed in as", tags=["console"])
async def session(request: Request, who: PrincipalDep) -> SessionOut:
    """The caller's name and role and the configured map tile URL."""
    return SessionOut(name=who.name, role=who.role, tile_url=_tile_url(request))


__all__ = ["SECURITY_HEADERS", "SessionOut", "assets", "content_security_policy", "router"]
