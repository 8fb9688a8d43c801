"""The operator console as files over HTTP: the page and its assets are served from the
package with a strict CSP, every script the page loads and every API path it calls
exists, nothing outside `static/` can be read, the vendored libraries carry their
licences and are package data, and `/console/session` tells the role behind a token."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.api.routes.dashboard import assets, content_security_policy
from coordinator.errors import ConfigError
from coordinator.settings import load_settings
from tests.conftest import REPO_ROOT
from tests.coordinator.conftest import serve

STATIC = REPO_ROOT / "coordinator" / "api" / "static"
VIEWER = "viewer-token-for-console-01"
OPERATOR = "operator-token-for-console-01"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    """A dev-mode app (open API, acting as operator `dev`) without a broker."""
    settings = load_settings(
        dev_mode=True, db_path=tmp_path / "c.db", broker_url="mqtt://127.0.0.1:1"
    )
    with serve(create_app(settings, start_service=False)) as url, httpx.Client(base_url=url) as c:
        yield c


def _scripts() -> dict[str, str]:
    return {
        str(p.relative_to(STATIC)): p.read_text(encoding="utf-8")
        for p in STATIC.rglob("*.js")
        if "vendor" not in p.parts
    }


def test_page_is_served_with_a_strict_content_security_policy(client: httpx.Client) -> None:
    """`/` is the console page; scripts and styles may come only from this server."""
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>flexfleet console</title>" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"


def test_every_asset_the_page_loads_is_served(client: httpx.Client) -> None:
    """Each script and style of the page, and each module those scripts import, answers
    200 with its media type; no asset comes from another host."""
    page = client.get("/").text
    wanted = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page))
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
    for name, text in _scripts().items():
        folder = "/static/" + name.rsplit("/", 1)[0]
        for target in re.findall(r'from "(\./[^"]+|\.\./[^"]+)"', text):
            wanted.add(_join(folder, target))
    assert "/static/console/main.js" in wanted
    assert "/static/vendor/uplot/uPlot.iife.min.js" in wanted
    assert "/static/console/views/production.js" in wanted
    for path in sorted(wanted):
        response = client.get(path)
        assert response.status_code == 200, path
        kind = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
        assert response.headers["content-type"].startswith(kind[path.rsplit(".", 1)[1]]), path


def _join(folder: str, target: str) -> str:
    parts = folder.split("/")
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def test_every_api_path_the_console_calls_exists(client: httpx.Client) -> None:
    """Each `/api/v1/...` path in the console's scripts is a route of the API."""
    routes = client.get("/openapi.json").json()["paths"]
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for p in routes]
    called: set[str] = set()
    for text in _scripts().values():
        for literal in re.findall(r'"(/api/v1/[^"?]*)', text):
            called.add(literal + "x" if literal.endswith("/") else literal)
    assert {"/api/v1/alarms/stream", "/api/v1/plans/schedule", "/api/v1/nodes"} <= called
    missing = sorted(c for c in called if not any(p.match(c) for p in patterns))
    assert missing == []


def test_console_scripts_never_write_html() -> None:
    """API data reaches the page as text only: no HTML parsing or eval in the console."""
    for name, text in _scripts().items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, (name, sink)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../routes/dashboard.py",
        "/static/%2e%2e/routes/dashboard.py",
        "/static/console/..%2f..%2fapp.py",
        "/static/%2Fetc%2Fpasswd",
        "/static//etc/passwd",
        "/static/console/index.html%00.js",
        "/static/console",
        "/static/vendor/uplot/",
        "/static/" + "a/" * 3000 + "x.js",
        "/static/console/nope.js",
        "/static/console/../../__init__.py",
    ],
)
def test_nothing_outside_the_asset_list_is_served(client: httpx.Client, path: str) -> None:
    """Traversal, encoded separators, NUL bytes, folders, huge and unknown paths: 404."""
    response = client.get(path)
    assert response.status_code == 404, (path, response.text[:200])


def test_vendored_libraries_carry_their_licences_and_are_package_data() -> None:
    """Each vendored library has its licence beside it and a line in coordinator/api/static/vendor/README.md; the
    package-data globs in pyproject.toml take every file of `static/`."""
    vendor = STATIC / "vendor"
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    libraries = [p for p in vendor.iterdir() if p.is_dir()]
    assert [p.name for p in libraries] == ["uplot"]
    for library in libraries:
        assert (library / "LICENSE").read_text(encoding="utf-8").strip()
        assert f"`{library.name}/`" in readme
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["coordinator.api"]
    package = REPO_ROOT / "coordinator" / "api"
    packaged = {p for g in globs for p in package.glob(g) if p.is_file()}
    on_disk = {p for p in STATIC.rglob("*") if p.is_file()}
    assert packaged == on_disk
    assert {f"vendor/uplot/{n}" for n in ("LICENSE", "uPlot.iife.min.js")} <= set(assets())


def test_licence_files_are_served_as_text(client: httpx.Client) -> None:
    """A vendored licence can be read from the running console."""
    response = client.get("/static/vendor/uplot/LICENSE")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "MIT" in response.text


def test_session_names_the_caller_and_role(tmp_path: Path) -> None:
    """`/console/session`: 401 without a token, the viewer's and operator's role with theirs."""
    settings = load_settings(
        db_path=tmp_path / "s.db",
        broker_url="mqtt://127.0.0.1:1",
        viewer_tokens=[f"vera:{VIEWER}"],
        operator_tokens=[f"otto:{OPERATOR}"],
        console_tile_url="https://tiles.plant.example/{z}/{x}/{y}.png",
    )
    with serve(create_app(settings, start_service=False)) as url, httpx.Client(base_url=url) as c:
        assert c.get("/console/session").status_code == 401
        bad = c.get("/console/session", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        viewer = c.get("/console/session", headers={"Authorization": f"Bearer {VIEWER}"})
        assert viewer.json() == {
            "name": "vera",
            "role": "viewer",
            "tile_url": "https://tiles.plant.example/{z}/{x}/{y}.png",
        }
        operator = c.get("/console/session", headers={"Authorization": f"Bearer {OPERATOR}"})
        assert (operator.json()["name"], operator.json()["role"]) == ("otto", "operator")
        # The page itself needs no token; it lets images come from the tile server.
        page = c.get("/")
        assert page.status_code == 200
        assert (
            "img-src 'self' data: https://tiles.plant.example;"
            in (page.headers["content-security-policy"])
        )


@pytest.mark.parametrize(
    "tile_url",
    [
        "javascript:alert(1)//{z}",
        "https://tiles.example/{x}/{y}.png",  # no zoom placeholder
        'https://tiles.example/{z}/{x}/{y}.png" onerror="x',
        "https://tiles.example/{z}/{x}/{y}.png; script-src *",
        "https://tiles.example/{z}/" + "x" * 600,
        "//tiles.example/{z}/{x}/{y}.png",
    ],
)
def test_hostile_tile_urls_are_refused(tmp_path: Path, tile_url: str) -> None:
    """A tile URL must be http(s) with a `{z}` and nothing that could break out of the CSP."""
    with pytest.raises(ConfigError, match="console_tile_url"):
        load_settings(dev_mode=True, db_path=tmp_path / "t.db", console_tile_url=tile_url)


def test_csp_without_tiles_allows_no_other_image_host() -> None:
    """With no tile URL configured, images come only from this server."""
    assert "img-src 'self' data:;" in content_security_policy("")
