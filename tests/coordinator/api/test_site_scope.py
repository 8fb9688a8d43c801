"""Site-scoped tokens over real HTTP: walking every route of the OpenAPI document, a token
of site A gets nothing of site B back (404, 403 or lists without it), reading or writing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from coordinator.access.tokens import TokenFile
from coordinator.api.app import create_app
from coordinator.service import Coordinator
from coordinator.settings import CoordinatorSettings
from protocol import Birth, SignalSpec
from tests.coordinator.api.test_alarm_stream import read_events
from tests.coordinator.conftest import T0_MS, Node, feed, serve

A, B = "plant-a", "plant-b"
B_MARKERS = (B, "b-press", "b-shelf")
STREAM = "/api/v1/alarms/stream"
PUBLIC = {"/healthz", "/track/{token}"}  # no token at all (docs/security.md)


@dataclass
class Fleet:
    http: httpx.Client
    coordinator: Coordinator
    root: str  # an admin of every site
    scoped: str  # an admin of site A only
    scoped_viewer: str
    viewer: str  # a viewer of every site
    operator: str  # an operator of every site
    b_alarm: str
    b_command: str


def _machine(site: str, node: str) -> Birth:
    return Birth(
        site=site,
        node=node,
        bd_seq=0,
        seq=0,
        ts=T0_MS,
        node_kind="machine",
        signals=(SignalSpec(name="temp", unit="C"),),
        capabilities=("config",),
    )


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Two sites, each with a machine, a shelf with stock, samples, an alarm and a command."""
    work: Path = tmp_path_factory.mktemp("site-scope")
    tokens = TokenFile(work / "tokens.json")
    _, root = tokens.add("root", "admin")
    _, scoped = tokens.add("alice", "admin", (A,))
    _, scoped_viewer = tokens.add("avery", "viewer", (A,))
    _, viewer = tokens.add("vic", "viewer")
    _, operator = tokens.add("otto", "operator")
    settings = CoordinatorSettings(token_file=work / "tokens.json", db_path=work / "c.db")
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        coordinator: Coordinator = app.state.coordinator
        shelves = [Node(site=A, node="a-shelf"), Node(site=B, node="b-shelf")]
        presses = [Node(site=A, node="a-press"), Node(site=B, node="b-press")]
        for site, shelf, press in zip((A, B), shelves, presses, strict=True):
            press.seq = 1
            feed(
                coordinator,
                _machine(site, press.node),
                press.telemetry(("temp", T0_MS, 20.0)),
                shelf.birth(),
                shelf.stock("snapshot", {"CUP": 5}),
            )
        alarms = app.state.alarms
        for site in (A, B):
            alarms.raise_alarm(
                site=site, source=f"{site[-1]}-press", alarm_type="t", severity="MAJOR",
                message="hot", ts_ms=T0_MS,
            )  # fmt: skip
        b_alarm = next(a.alarm_id for a in alarms.list_alarms() if a.site == B)
        for site, node in ((A, "a-press"), (B, "b-press")):
            sent = http.post(
                f"/api/v1/nodes/{node}/config?site={site}&wait_s=0",
                json={"sampling_interval_ms": 500},
                headers=_as(root),
            )
            assert sent.status_code == 202, sent.text
        b_command = next(c.cmd_id for c in coordinator.commands.query(site=B))  # type: ignore[union-attr]
        yield Fleet(
            http, coordinator, root, scoped, scoped_viewer, viewer, operator, b_alarm, b_command
        )


def _operations(http: httpx.Client) -> list[tuple[str, str, dict[str, Any]]]:
    doc = http.get("/openapi.json").json()
    return [
        (method.upper(), path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if path not in PUBLIC and path != STREAM
    ]


def _fill(path: str, fleet: Fleet) -> str:
    """The path with each parameter naming one of site B's things."""
    values = {
        "node": "b-press",
        "alarm_id": fleet.b_alarm,
        "cmd_id": fleet.b_command,
        "job_id": "b-job",
        "order_id": "b-order",
        "stream_id": "b-stream",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _site_b_in(response: httpx.Response, fleet: Fleet) -> list[str]:
    """Site B's names in the answer, but those the request itself named (a 404 repeats
    the id it did not find)."""
    asked = str(response.request.url)
    text = response.text
    return [m for m in (*B_MARKERS, fleet.b_alarm, fleet.b_command) if m in text and m not in asked]


def test_the_unscoped_admin_sees_site_b(fleet: Fleet) -> None:
    """The walk's markers are real: an every-site token does get site B's things back."""
    telemetry = "/api/v1/nodes/b-press/telemetry?signal=temp&resolution=raw&start=0"
    for path in ("/api/v1/nodes", "/api/v1/stock", "/api/v1/alarms", "/api/v1/commands", telemetry):
        response = fleet.http.get(path, headers=_as(fleet.root))
        assert response.status_code == 200
        assert _site_b_in(response, fleet), path


def test_a_site_scoped_token_reads_nothing_of_another_site(fleet: Fleet) -> None:
    """Every read route, with and without `site=plant-b`, answers 403, 404 or nothing of B;
    the site's own nodes, stock, alarms and commands are still listed."""
    walked = 0
    for token in (fleet.scoped, fleet.scoped_viewer):
        for method, path, op in _operations(fleet.http):
            if method != "GET":
                continue
            params = [p for p in op.get("parameters", []) if p["in"] == "query"]
            names = {p["name"] for p in params}
            needed = {p["name"]: REQUIRED[p["name"]] for p in params if p.get("required")}
            queries = [needed, {**needed, "site": B}] if "site" in names else [needed]
            if "location" in names:
                queries.append({"location": f"{B}/b-shelf"})
            for query in queries:
                response = fleet.http.get(_fill(path, fleet), params=query, headers=_as(token))
                assert response.status_code in (200, 403, 404), (path, response.text)
                assert _site_b_in(response, fleet) == [], (path, query, response.text[:300])
                walked += 1
        for path in ("/api/v1/nodes", "/api/v1/stock", "/api/v1/alarms", "/api/v1/commands"):
            own = fleet.http.get(path, headers=_as(token))
            assert A in own.text, path
    assert walked > 40


REQUIRED = {"signal": "temp"}
"""Values of the required query parameters."""

WRITE_BODIES: dict[str, Any] = {
    "/api/v1/alarms/{alarm_id}/comments": {"text": "mine now"},
    "/api/v1/alarms/{alarm_id}/assign": {"assignee": "alice"},
    "/api/v1/alarms/{alarm_id}/feedback": {"verdict": "false"},
    "/api/v1/nodes/{node}/config": {"sampling_interval_ms": 900},
}


def test_a_site_scoped_admin_acts_on_nothing_of_another_site(fleet: Fleet) -> None:
    """Every write route aimed at site B (or fleet-wide) is refused with 403 or 404, and
    site B's alarm and commands are left as they were."""
    before_alarm = fleet.http.get(f"/api/v1/alarms/{fleet.b_alarm}", headers=_as(fleet.root))
    before_commands = fleet.coordinator.commands.query(site=B)  # type: ignore[union-attr]
    writes = [(m, p) for m, p, _ in _operations(fleet.http) if m in {"POST", "PUT", "DELETE"}]
    assert len(writes) >= 15
    for method, path in writes:
        body = WRITE_BODIES.get(path, {})
        url = _fill(path, fleet) + ("?site=plant-b&wait_s=0" if path.endswith("/config") else "")
        response = fleet.http.request(method, url, json=body, headers=_as(fleet.scoped))
        assert response.status_code in (403, 404), (method, path, response.text)
    after_alarm = fleet.http.get(f"/api/v1/alarms/{fleet.b_alarm}", headers=_as(fleet.root))
    assert after_alarm.json() == before_alarm.json()
    assert fleet.coordinator.commands.query(site=B) == before_commands  # type: ignore[union-attr]


def test_a_scoped_config_without_site_finds_only_its_own_node(fleet: Fleet) -> None:
    """Without `site`, a scoped admin's config for `a-press` goes to site A's node."""
    sent = fleet.http.post(
        "/api/v1/nodes/a-press/config?wait_s=0",
        json={"sampling_interval_ms": 700},
        headers=_as(fleet.scoped),
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["site"] == A


def test_the_alarm_stream_carries_only_the_token_sites(fleet: Fleet) -> None:
    """The SSE snapshot and live events of a scoped token hold only its site's alarms."""
    alarms = fleet.coordinator.alarms
    assert alarms is not None
    with fleet.http.stream("GET", STREAM, headers=_as(fleet.scoped_viewer)) as stream:
        lines = stream.iter_lines()
        [(_, hello), (_, snapshot)] = read_events(lines, 2)
        assert hello["principal"] == "avery"
        assert {a["site"] for a in snapshot} == {A}
        for site in (B, A):
            alarms.raise_alarm(
                site=site, source="live", alarm_type="t2", severity="MINOR", message="m",
                ts_ms=T0_MS + 1,
            )  # fmt: skip
        [(name, event)] = read_events(lines, 1)
    assert name == "alarm"
    assert orjson.dumps(event).decode().count(B) == 0
    assert event["alarm"]["site"] == A


ADMIN_WRITES = {
    ("PUT", "/api/v1/network"),
    ("PUT", "/api/v1/plans/products"),
    ("POST", "/api/v1/nodes/{node}/config"),
}


def test_no_write_route_lets_a_viewer_act_nor_an_operator_change_configuration(
    fleet: Fleet,
) -> None:
    """Every write operation refuses a viewer (403); network, products and node
    configuration refuse an operator too."""
    writes = [(m, p) for m, p, _ in _operations(fleet.http) if m in {"POST", "PUT", "DELETE"}]
    assert set(writes) >= ADMIN_WRITES
    for method, path in writes:
        body = WRITE_BODIES.get(path, {})
        url = _fill(path, fleet).replace("b-", "a-").replace(fleet.b_alarm, "x")
        answer = fleet.http.request(method, url, json=body, headers=_as(fleet.viewer))
        assert answer.status_code == 403, (method, path, answer.text)
        if (method, path) in ADMIN_WRITES:
            answer = fleet.http.request(method, url, json=body, headers=_as(fleet.operator))
            assert answer.status_code == 403, (method, path, answer.text)
            assert "admin role" in answer.json()["detail"]
