"""The command routes over real HTTP on a real store (no broker: answers are fed to the
ingest writer as an agent's acks would arrive): roles, hostile config bodies, node checks,
the wait for the answer, and the tracked commands list."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.service import Coordinator
from coordinator.settings import CoordinatorSettings
from protocol import Birth, CommandAck, Death, Message
from tests.coordinator.conftest import T0_MS, raw, serve

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
ADMIN = "admin-token-0123456789abc"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
CONFIG = "/api/v1/nodes/m1/config"


@dataclass
class Api:
    http: httpx.Client
    coordinator: Coordinator


def _feed(coordinator: Coordinator, *messages: Message) -> None:
    before = coordinator.writer.stats.messages
    for message in messages:
        coordinator.writer.enqueue(raw(message))
    deadline = time.monotonic() + 10
    while coordinator.writer.stats.messages < before + len(messages):
        assert time.monotonic() < deadline, "the writer did not take the messages"
        time.sleep(0.01)


def _birth(node: str, capabilities: tuple[str, ...]) -> Birth:
    return Birth(
        site="s1",
        node=node,
        bd_seq=0,
        seq=0,
        ts=T0_MS,
        node_kind="machine",
        capabilities=capabilities,
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app with viewer and operator tokens, not connected to a broker; m1 takes config,
    m2 does not, m3 takes it but died."""
    settings = CoordinatorSettings(
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        admin_tokens=ADMIN,
        db_path=tmp_path_factory.mktemp("command-api") / "c.db",
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        coordinator: Coordinator = app.state.coordinator
        _feed(
            coordinator,
            _birth("m1", ("rebirth", "config")),
            _birth("m2", ("rebirth",)),
            _birth("m3", ("config",)),
            Death(site="s1", node="m3", bd_seq=0),
        )
        yield Api(http, coordinator)


def _answer_next(api: Api, *, ok: bool, reason: str = "") -> threading.Thread:
    """Answer the next config command sent to m1 as its agent would, from another thread."""
    known = {c.cmd_id for c in api.coordinator.commands.query(limit=1000)}  # type: ignore[union-attr]

    def run() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            fresh = [
                c
                for c in api.coordinator.commands.query(node="m1", limit=10)  # type: ignore[union-attr]
                if c.cmd_id not in known
            ]
            if fresh:
                ack = CommandAck(
                    site="s1", node="m1", name="config", cmd_id=fresh[0].cmd_id, ts=T0_MS,
                    ok=ok, reason=reason,
                )  # fmt: skip
                api.coordinator.writer.enqueue(raw(ack))
                return
            time.sleep(0.01)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_config_and_commands_need_their_roles(api: Api) -> None:
    """Sending config needs an admin; reading commands needs a viewer."""
    body = {"sampling_interval_ms": 200}
    assert api.http.post(f"{CONFIG}?wait_s=0", json=body).status_code == 401
    assert api.http.post(f"{CONFIG}?wait_s=0", json=body, headers=AS_VIEWER).status_code == 403
    assert api.http.post(f"{CONFIG}?wait_s=0", json=body, headers=AS_OPERATOR).status_code == 403
    assert api.http.get("/api/v1/commands").status_code == 401
    assert api.http.get("/api/v1/commands", headers=AS_VIEWER).status_code == 200
    assert api.http.get("/api/v1/commands/x", headers=AS_VIEWER).status_code == 404


def test_an_answered_config_is_200_and_a_nack_is_422(api: Api) -> None:
    """The route waits for the node's answer: ok is 200, a nack a 422 `command-rejected`
    problem with the node's reason and the command's members; both are tracked. An interval
    written 200.0 is the JSON Schema integer it is."""
    answering = _answer_next(api, ok=True)
    response = api.http.post(
        f"{CONFIG}?site=s1&wait_s=10", json={"sampling_interval_ms": 200.0}, headers=AS_ADMIN
    )
    answering.join()
    assert response.status_code == 200, response.text
    ok = response.json()
    assert (ok["state"], ok["name"], ok["node"], ok["args"]) == (
        "ok",
        "config",
        "m1",
        {"sampling_interval_ms": 200},
    )
    answering = _answer_next(api, ok=False, reason="deadbands: no signal 'nope'")
    response = api.http.post(
        f"{CONFIG}?wait_s=10", json={"deadbands": {"nope": 1.0}}, headers=AS_ADMIN
    )
    answering.join()
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    nack = response.json()
    assert (nack["type"], nack["error"]) == (
        "urn:flexfleet:problem:command-rejected",
        "CommandRejected",
    )
    assert (nack["state"], nack["reason"], nack["detail"]) == (
        "rejected",
        "deadbands: no signal 'nope'",
        "deadbands: no signal 'nope'",
    )
    listed = api.http.get("/api/v1/commands?node=m1&limit=2", headers=AS_VIEWER).json()
    assert [c["cmd_id"] for c in listed] == [nack["cmd_id"], ok["cmd_id"]]
    one = api.http.get(f"/api/v1/commands/{ok['cmd_id']}", headers=AS_VIEWER).json()
    assert one["state"] == "ok"
    assert one["answered_ms"] is not None


def test_an_unanswered_config_is_202_and_answered_later(api: Api) -> None:
    """With no answer within wait_s the route says 202 `sent`; the ack arriving later is
    recorded and visible."""
    response = api.http.post(f"{CONFIG}?wait_s=0", json={"default_deadband": 0.5}, headers=AS_ADMIN)
    assert response.status_code == 202, response.text
    sent = response.json()
    assert sent["state"] == "sent"
    assert any(
        c["cmd_id"] == sent["cmd_id"]
        for c in api.http.get("/api/v1/commands?state=sent", headers=AS_VIEWER).json()
    )
    ack = CommandAck(site="s1", node="m1", name="config", cmd_id=sent["cmd_id"], ts=T0_MS, ok=True)
    _feed(api.coordinator, ack)
    later = api.http.get(f"/api/v1/commands/{sent['cmd_id']}", headers=AS_VIEWER).json()
    assert later["state"] == "ok"


def test_node_checks(api: Api) -> None:
    """An unknown node is 404; one without the capability or offline is 409, saying so."""
    body = {"sampling_interval_ms": 200}
    unknown = api.http.post("/api/v1/nodes/nobody/config", json=body, headers=AS_ADMIN)
    assert unknown.status_code == 404
    wrong_site = api.http.post(f"{CONFIG}?site=s9", json=body, headers=AS_ADMIN)
    assert wrong_site.status_code == 404
    incapable = api.http.post("/api/v1/nodes/m2/config", json=body, headers=AS_ADMIN)
    assert incapable.status_code == 409
    assert "does not take config" in incapable.json()["detail"]
    offline = api.http.post("/api/v1/nodes/m3/config", json=body, headers=AS_ADMIN)
    assert offline.status_code == 409
    assert "offline (death)" in offline.json()["detail"]


def _nested(depth: int) -> str:
    return '{"detectors": {"a": ' + "[" * depth + "]" * depth + "}}"


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b"", 422, "not JSON"),
        (b"\xff\xfe garbage", 422, "not JSON"),
        (b'{"sampling_interval_ms": 200', 422, "not JSON"),
        (b"[1, 2]", 422, "must be an object"),
        (b'"config"', 422, "must be an object"),
        (b"{}", 422, "no settings given"),
        (b'{"colour": "red"}', 422, "unknown setting"),
        (b'{"sampling_interval_ms": "200"}', 422, "integer in 10..3600000"),
        (b'{"sampling_interval_ms": 5}', 422, "integer in 10..3600000"),
        (b'{"sampling_interval_ms": 1e400}', 422, "not JSON"),
        (b'{"sampling_interval_ms": 99999999999999999999999}', 422, "integer in"),
        (b'{"default_deadband": NaN}', 422, "not JSON"),
        (b'{"deadbands": {"x": -1}}', 422, "number in"),
        (b'{"detectors": {"a": {"b": "' + b"x" * 300 + b'"}}}', 422, "exceeds 256"),
        (_nested(20).encode(), 422, "nested deeper than 16"),
        (_nested(5000).encode(), 422, "not JSON"),
        (b'{"detectors": {"k": "' + b"x" * 70_000 + b'"}}', 413, "exceeds 65536"),
    ],
)
def test_hostile_bodies_are_refused_before_anything_is_sent(
    api: Api, content: bytes, status: int, words: str
) -> None:
    """Malformed, out-of-range, deeply nested and oversized bodies are 422 or 413 with a
    reason, and no command is recorded."""
    before = len(api.http.get("/api/v1/commands?limit=1000", headers=AS_VIEWER).json())
    response = api.http.post(
        f"{CONFIG}?wait_s=0",
        content=content,
        headers={**AS_ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    after = len(api.http.get("/api/v1/commands?limit=1000", headers=AS_VIEWER).json())
    assert after == before


def test_a_streamed_body_over_the_limit_is_413(api: Api) -> None:
    """A chunked body with no Content-Length is cut off at the limit too."""

    def chunks() -> Iterator[bytes]:
        yield b'{"detectors": {"k": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}}'

    response = api.http.post(f"{CONFIG}?wait_s=0", content=chunks(), headers=AS_ADMIN)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "query", ["wait_s=31", "wait_s=-1", "wait_s=nan", "site=a/b", "site=" + "s" * 65]
)
def test_bad_query_parameters_are_422(api: Api, query: str) -> None:
    """`wait_s` outside 0..30 and malformed site ids are refused."""
    response = api.http.post(
        f"{CONFIG}?{query}", json={"sampling_interval_ms": 200}, headers=AS_ADMIN
    )
    assert response.status_code == 422


@pytest.mark.parametrize("query", ["state=lost", "limit=0", "limit=1001", "node=" + "n" * 65])
def test_bad_list_filters_are_422(api: Api, query: str) -> None:
    """Unknown states and out-of-range limits are refused."""
    assert api.http.get(f"/api/v1/commands?{query}", headers=AS_VIEWER).status_code == 422


def test_the_config_body_is_documented(api: Api) -> None:
    """The OpenAPI document gives the config body's schema with every key the agent takes."""
    doc: dict[str, Any] = api.http.get("/openapi.json").json()
    body = doc["paths"]["/api/v1/nodes/{node}/config"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert sorted(schema["properties"]) == sorted(
        ("sampling_interval_ms", "default_deadband", "deadbands", "detectors")
    )


def test_commands_are_counted_in_metrics(api: Api) -> None:
    """`flexfleet_commands_total` counts commands by name and outcome."""

    def count(outcome: str) -> float:
        text = api.http.get("/metrics", headers=AS_VIEWER).text
        pattern = rf'^flexfleet_commands_total{{name="config",outcome="{outcome}"}} (\S+)$'
        found = re.search(pattern, text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    sent, ok = count("sent"), count("ok")
    response = api.http.post(f"{CONFIG}?wait_s=0", json={"default_deadband": 0.1}, headers=AS_ADMIN)
    assert response.status_code == 202
    ack = CommandAck(
        site="s1", node="m1", name="config", cmd_id=response.json()["cmd_id"], ts=T0_MS, ok=True
    )
    _feed(api.coordinator, ack)
    assert (count("sent"), count("ok")) == (sent + 1, ok + 1)
