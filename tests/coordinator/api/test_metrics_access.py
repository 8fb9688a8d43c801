"""`/metrics` needs a token of every site (a `metrics` token reads it and nothing else)
unless `metrics_public` opens it; `/healthz` stays open but names no node, and shows its
error texts only to a caller who may read the metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from coordinator.access.tokens import TokenFile
from coordinator.api.app import create_app
from coordinator.api.routes.health import HIDDEN
from coordinator.settings import CoordinatorSettings
from flexfleet.broker import free_port
from tests.coordinator.conftest import T0_MS, Node, feed, serve
from tests.waiting import wait_until

SITES = ("plant-a", "plant-b")
NODES = ("secret-press-a", "secret-shelf-b")


@dataclass
class Api:
    http: httpx.Client
    metrics: str  # a metrics-only token of every site
    viewer: str  # a viewer of every site
    scoped_admin: str  # an admin of plant-a only


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _tokens(path: Path) -> tuple[str, str, str]:
    tokens = TokenFile(path)
    _, metrics = tokens.add("prometheus", "metrics")
    _, viewer = tokens.add("vic", "viewer")
    _, scoped = tokens.add("alice", "admin", (SITES[0],))
    return metrics, viewer, scoped


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A coordinator with a node at each site, tokens in a file, and a broker URL where
    nothing listens (so `/healthz` has a broker error to show or hide); the tests only read."""
    tmp_path = tmp_path_factory.mktemp("metrics-access")
    metrics, viewer, scoped = _tokens(tmp_path / "tokens.json")
    settings = CoordinatorSettings(
        token_file=tmp_path / "tokens.json",
        db_path=tmp_path / "c.db",
        broker_url=f"mqtt://127.0.0.1:{free_port()}",
        reconnect_base_s=0.1,
        reconnect_cap_s=0.5,
    )
    app = create_app(settings)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        for site, name in zip(SITES, NODES, strict=True):
            node = Node(site=site, node=name)
            feed(app.state.coordinator, node.birth(), node.telemetry(("temp", T0_MS, 1.0)))
        yield Api(http, metrics, viewer, scoped)


def test_metrics_need_a_token_of_every_site(api: Api) -> None:
    """No token or an unknown one is 401, a site-scoped admin 403; a metrics token and a
    viewer of every site read the node-labelled metrics."""
    assert api.http.get("/metrics").status_code == 401
    assert api.http.get("/metrics", headers=_as("not-a-token-at-all")).status_code == 401
    refused = api.http.get("/metrics", headers=_as(api.scoped_admin))
    assert refused.status_code == 403
    assert NODES[1] not in refused.text
    for token in (api.metrics, api.viewer):
        response = api.http.get("/metrics", headers=_as(token))
        assert response.status_code == 200
        assert all(node in response.text for node in NODES)


def test_a_metrics_token_reads_nothing_else(api: Api) -> None:
    """The metrics-only token is refused (403) by the API's read and write routes and the
    console's session, and names no node there."""
    for method, path in (
        ("GET", "/api/v1/nodes"),
        ("GET", f"/api/v1/nodes/{NODES[0]}"),
        ("GET", "/api/v1/alarms"),
        ("GET", "/api/v1/sales-orders"),
        ("GET", "/console/session"),
        ("POST", f"/api/v1/nodes/{NODES[0]}/config?site={SITES[0]}&wait_s=0"),
    ):
        response = api.http.request(
            method, path, headers=_as(api.metrics), json={"sampling_interval_ms": 500}
        )
        assert response.status_code == 403, (path, response.text)
        assert not any(node in response.text for node in NODES[1:]), path


def test_healthz_names_no_node_and_hides_its_errors_from_strangers(api: Api) -> None:
    """Without a token (or with a site-scoped one) `/healthz` answers counts and flags, no
    node id and no error text; a metrics token reads why the broker is unreachable."""
    wait_until(lambda: api.http.get("/healthz", headers=_as(api.metrics)).json()["broker_error"])
    for headers in ({}, _as(api.scoped_admin), _as("wrong-token")):
        response = api.http.get("/healthz", headers=headers)
        assert response.status_code == 503
        body = response.json()
        assert body["broker_error"] == HIDDEN
        assert body["last_error"] in ("", HIDDEN)
        assert body["nodes_online"] == 2
        assert not any(node in response.text for node in NODES)
    shown = api.http.get("/healthz", headers=_as(api.metrics)).json()
    assert shown["broker_error"] not in ("", HIDDEN)
    assert not any(node in str(shown) for node in NODES)


def test_metrics_public_opens_metrics(tmp_path: Path) -> None:
    """With `metrics_public` a scraper with no token reads `/metrics`; the API itself
    still wants its tokens."""
    _tokens(tmp_path / "tokens.json")
    settings = CoordinatorSettings(
        token_file=tmp_path / "tokens.json", db_path=tmp_path / "c.db", metrics_public=True
    )
    with (
        serve(create_app(settings, start_service=False)) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        assert http.get("/metrics").status_code == 200
        assert "flexfleet_nodes_online" in http.get("/metrics").text
        assert http.get("/api/v1/nodes").status_code == 401


OPEN = {"/healthz", "/track/{token}", "/metrics"}  # no API role needed (docs/security.md)


def test_every_api_operation_refuses_a_metrics_token(api: Api) -> None:
    """Walking the OpenAPI document, every operation but the open ones answers the
    metrics-only token 403, reads and writes alike, and names no node."""
    doc = api.http.get("/openapi.json", headers=_as(api.viewer)).json()
    walked = 0
    for path, item in doc["paths"].items():
        if path in OPEN:
            continue
        for method in item:
            url = re.sub(r"\{\w+\}", NODES[0], path)
            body: dict[str, object] | None = {} if method in ("post", "put") else None
            response = api.http.request(method.upper(), url, headers=_as(api.metrics), json=body)
            assert response.status_code == 403, (method, path, response.text[:200])
            assert not any(node in response.text for node in NODES[1:]), path
            walked += 1
    assert walked > 40
