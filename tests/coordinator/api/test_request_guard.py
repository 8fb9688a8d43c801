"""The request guard and the browser-facing headers over real HTTP: body size on every
route, writes per token (429 with Retry-After), CORS off unless configured, and the
console's security headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coordinator.access.rate_limit import RateLimiter
from coordinator.api.app import create_app
from coordinator.settings import CoordinatorSettings
from tests.coordinator.conftest import serve

OPERATOR = "operator-token-for-guard-01"
OTHER = "operator-token-for-guard-02"
VIEWER = "viewer-token-for-guard-0001"
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
AS_OTHER = {"Authorization": f"Bearer {OTHER}"}
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
LIMIT = 4096


def _served(tmp: Path, **settings: Any) -> Iterator[httpx.Client]:
    app = create_app(
        CoordinatorSettings(
            viewer_tokens=VIEWER,
            operator_tokens=(f"olga:{OPERATOR}", f"oscar:{OTHER}"),
            db_path=tmp / "c.db",
            max_body_bytes=LIMIT,
            **settings,
        ),
        start_service=False,
    )
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The app with a 4 KiB body limit and 3 writes per token at once, 6 a minute."""
    yield from _served(tmp_path_factory.mktemp("guard"), write_rate_per_minute=6.0, write_burst=3)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/orders"),
        ("PUT", "/api/v1/network"),
        ("POST", "/api/v1/alarms/a1/comments"),
        ("GET", "/api/v1/nodes"),
        ("GET", "/healthz"),
    ],
)
def test_a_body_over_the_limit_is_413_on_every_route(
    api: httpx.Client, method: str, path: str
) -> None:
    """Declared or streamed without a length, a body over the limit is refused unread."""
    big = b"[" + b"1," * LIMIT + b"1]"
    declared = api.request(method, path, content=big, headers=AS_VIEWER)
    assert declared.status_code == 413
    assert declared.json()["type"] == "urn:flexfleet:problem:body-too-large"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    streamed = api.request(method, path, content=chunks(), headers=AS_VIEWER)
    assert streamed.status_code == 413


def test_writes_over_the_rate_are_429_with_retry_after(api: httpx.Client) -> None:
    """The fourth write at once with one token is 429 with Retry-After; another token and
    reads go on."""
    close = {"jobs": ["nothing-held"], "deliveries": []}
    answers = [
        api.post("/api/v1/orders/close", json=close, headers=AS_OPERATOR).status_code
        for _ in range(4)
    ]
    assert 429 not in answers[:3]
    assert answers[3] == 429
    refused = api.post("/api/v1/orders/close", json=close, headers=AS_OPERATOR)
    assert refused.status_code == 429
    assert refused.json()["type"] == "urn:flexfleet:problem:too-many-requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert api.post("/api/v1/orders/close", json=close, headers=AS_OTHER).status_code != 429
    assert api.get("/api/v1/orders", headers=AS_OPERATOR).status_code == 200


def test_the_openapi_document_declares_429_and_413_on_writes(api: httpx.Client) -> None:
    """Every write operation documents 429 (with Retry-After) and 413; reads do not 429."""
    doc = api.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in {"post", "put"}:
                assert {"413", "429"} <= set(op["responses"]), (method, path)
                assert "Retry-After" in op["responses"]["429"]["headers"]
            else:
                assert "429" not in op["responses"], (method, path)


def test_cors_is_off_unless_configured(api: httpx.Client, tmp_path: Path) -> None:
    """No CORS headers by default; with `cors_origins` only the listed origin is allowed."""
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    assert (
        "access-control-allow-origin" not in api.options("/api/v1/nodes", headers=preflight).headers
    )
    got = api.get("/api/v1/nodes", headers={**AS_VIEWER, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in got.headers
    for http in _served(tmp_path, cors_origins=("https://console.example",)):
        ok = http.get("/api/v1/nodes", headers={**AS_VIEWER, "Origin": "https://console.example"})
        assert ok.headers["access-control-allow-origin"] == "https://console.example"
        other = http.get("/api/v1/nodes", headers={**AS_VIEWER, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_the_console_and_tracking_pages_send_security_headers(api: httpx.Client) -> None:
    """The console page, its assets and the tracking page forbid framing and sniffing."""
    for path in ("/", "/static/console/main.js", "/track/unknown-token"):
        response = api.get(path, headers={"Accept": "text/html"})
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert "camera=()" in response.headers["permissions-policy"], path
    for path in ("/", "/track/unknown-token"):
        csp = api.get(path, headers={"Accept": "text/html"}).headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp


def test_the_rate_limiter_refills_and_bounds_its_keys() -> None:
    """A bucket refills at its rate; at most `max_keys` callers are remembered."""
    limiter = RateLimiter(rate_per_minute=60, burst=2, max_keys=3)
    assert limiter.take("a", 0.0) is None
    assert limiter.take("a", 0.0) is None
    assert limiter.take("a", 0.0) == 1
    assert limiter.take("a", 1.0) is None
    for key in "bcdef":
        limiter.take(key, 2.0)
    assert len(limiter._buckets) == 3
    assert RateLimiter(rate_per_minute=0, burst=1).take("x", 0.0) is None
