"""One error format on every route: RFC 9457 problems (`application/problem+json`) with the
project's `error` and `field`, and the OpenAPI document that declares them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from coordinator.api.app import create_app
from coordinator.api.errors import install_error_handlers
from coordinator.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, TYPE_PREFIX
from coordinator.plan.triggers import DepotSeen, MachineSeen
from coordinator.settings import CoordinatorSettings
from tests.coordinator.conftest import serve

VIEWER = "viewer-token-problems-0001"
OPERATOR = "operator-token-problems-0001"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
JOB = {"id": "j1", "operations": [{"options": [{"machine": "m1", "duration_s": 60}]}]}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The coordinator app with a viewer and an operator token (no broker)."""
    settings = CoordinatorSettings(
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        db_path=tmp_path_factory.mktemp("problems") / "c.db",
    )
    return create_app(settings, start_service=False)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[httpx.Client]:
    """The app served over HTTP; machine m1 and warehouse w1 of site s are known."""
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        app.state.plans.apply([MachineSeen("s", "m1"), DepotSeen("s", "w1")])
        yield http


def _problem(response: httpx.Response, status: int, name: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["type"] == TYPE_PREFIX + name
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "error", "field"} <= body.keys()
    return body


def test_an_unknown_id_is_a_not_found_problem(client: httpx.Client) -> None:
    """404 for an unknown node carries detail, error, resource and key as before."""
    body = _problem(client.get("/api/v1/nodes/nope", headers=AS_VIEWER), 404, "not-found")
    assert (body["error"], body["resource"], body["key"]) == ("NotFound", "node", "nope")
    assert body["detail"] == "node 'nope' not found"
    assert body["title"] == "Not found"


def test_a_validation_error_is_a_problem_naming_the_field(client: httpx.Client) -> None:
    """A body breaking the schema is 422 `validation-failed`: `field` is the first path,
    `errors` lists every rule broken, without echoing the input."""
    bad = {"jobs": [{**JOB, "weight": 5000}], "deliveries": [{"id": "d1"}]}
    body = _problem(
        client.post("/api/v1/orders", json=bad, headers=AS_OPERATOR), 422, "validation-failed"
    )
    assert body["error"] == "ValidationError"
    assert body["field"] == "jobs[0].weight"
    assert body["detail"].startswith("jobs[0].weight: ")
    assert len(body["errors"]) > 1
    assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])


def test_a_rule_beyond_the_schema_is_an_order_rejected_problem(client: httpx.Client) -> None:
    """A vehicle not declared is 422 `order-rejected` with the same detail, error and field
    clients read before."""
    response = client.post(
        "/api/v1/orders/dispatch",
        json={"vehicle_id": "v9", "deliveries": ["d1"]},
        headers=AS_OPERATOR,
    )
    body = _problem(response, 422, "order-rejected")
    assert (body["error"], body["field"]) == ("OrderRejected", "vehicle_id")
    assert body["detail"] == "'v9' is no declared vehicle"


def test_an_operation_naming_a_machine_twice_is_order_rejected(client: httpx.Client) -> None:
    """Distinct machines per operation (not stateable in JSON Schema) answer
    `order-rejected` pointing at the options."""
    twice = {"machine": "m1", "duration_s": 1}
    job = {"id": "j2", "operations": [{"options": [twice, {**twice, "duration_s": 2}]}]}
    response = client.post("/api/v1/orders", json={"jobs": [job]}, headers=AS_OPERATOR)
    body = _problem(response, 422, "order-rejected")
    assert body["field"] == "jobs[0].operations[0].options"


def test_an_integral_float_is_an_integer(client: httpx.Client) -> None:
    """`weight: 3.0` is an integer in JSON Schema and is taken; `3.5` and `"3"` are not."""
    ok = client.post("/api/v1/orders", json={"jobs": [{**JOB, "weight": 3.0}]}, headers=AS_OPERATOR)
    assert ok.status_code == 202, ok.text
    for bad in (3.5, "3", True):
        response = client.post(
            "/api/v1/orders", json={"jobs": [{**JOB, "weight": bad}]}, headers=AS_OPERATOR
        )
        _problem(response, 422, "validation-failed")


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/orders/close"])
def test_an_empty_batch_is_refused_as_the_schema_says(client: httpx.Client, path: str) -> None:
    """Neither jobs nor deliveries: 422, and the schema's anyOf says so too."""
    body = _problem(client.post(path, json={}, headers=AS_OPERATOR), 422, "validation-failed")
    assert "at least one" in body["detail"]


@pytest.mark.parametrize(
    ("text", "status"),
    [("bell\x07", 422), ("\x00", 422), ("   ", 422), ("two\nlines\tok", 404)],
)
def test_comment_rules_are_checked_as_the_schema_states(
    client: httpx.Client, text: str, status: int
) -> None:
    """Control characters (but newline and tab) and blank comments fail validation; a good
    comment gets as far as the alarm lookup (404: no such alarm)."""
    response = client.post("/api/v1/alarms/a1/comments", json={"text": text}, headers=AS_OPERATOR)
    _problem(response, status, "validation-failed" if status == 422 else "not-found")


def test_auth_failures_are_problems(client: httpx.Client) -> None:
    """401 keeps its Bearer challenge; 403 names the role needed."""
    response = client.get("/api/v1/nodes")
    body = _problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["detail"] == "a bearer token is required"
    body = _problem(
        client.post("/api/v1/orders", json={"jobs": [JOB]}, headers=AS_VIEWER), 403, "forbidden"
    )
    assert "operator role" in body["detail"]


def test_routing_answers_are_problems(client: httpx.Client) -> None:
    """An unknown path is a 404 problem; a method the path lacks is a 405 problem whose
    `Allow` lists every method the path takes."""
    _problem(client.get("/api/v1/nowhere", headers=AS_VIEWER), 404, "not-found")
    response = client.delete("/api/v1/orders", headers=AS_OPERATOR)
    _problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET, POST"


def test_an_unexpected_error_is_a_server_error_problem() -> None:
    """Anything the tree does not cover answers a 500 problem, without the error's text."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get("/boom")

    response = anyio.run(call)
    body = _problem(response, 500, "server-error")
    assert "secret" not in response.text
    assert body["error"] == "InternalError"


def test_the_document_declares_problem_once_and_every_error_uses_it(app: FastAPI) -> None:
    """`Problem` is one component; every error status of every operation (but /healthz's
    503, which is its health report) is `application/problem+json` referring to it (the
    tracking page also answers people in HTML)."""
    doc = app.openapi()
    schemas = doc["components"]["schemas"]
    assert "Problem" in schemas
    assert "HTTPValidationError" not in schemas
    errors = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) < 400 or (path, status) == ("/healthz", "503"):
                    continue
                errors += 1
                content = dict(response["content"])
                if path.startswith("/track/"):
                    content.pop("text/html", None)
                assert content == {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)
    assert errors > 100


def test_the_document_names_what_each_operation_can_answer(app: FastAPI) -> None:
    """Unknown ids 404, transitions 409, the config body 413, dependencies 401/403/503;
    the open health route no 401/403."""
    paths = app.openapi()["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"401", "403", "404", "409", "422", "503"} <= statuses(
        "/api/v1/alarms/{alarm_id}/assign", "post"
    )
    assert {"404", "409", "413", "422", "503"} <= statuses("/api/v1/nodes/{node}/config", "post")
    assert {"401", "403"} <= statuses("/api/v1/nodes", "get")  # 403: a metrics-only token
    assert {"401", "403"} <= statuses("/metrics", "get")
    assert not {"401", "403"} & statuses("/healthz", "get")  # open to every probe
    assert {"401", "404"} <= statuses("/api/v1/forecasts", "get")
    assert "no declared" not in paths["/api/v1/orders/dispatch"]["post"]["description"]
    assert "declared fleet" in paths["/api/v1/orders/dispatch"]["post"]["description"]


def test_every_problem_type_has_its_own_name_and_title() -> None:
    """Problem types are distinct, so a client can switch on `type`."""
    assert len({t.name for t in PROBLEM_TYPES}) == len(PROBLEM_TYPES)
    assert all(t.title and 400 <= t.status < 600 for t in PROBLEM_TYPES)


def test_docs_list_every_problem_type_with_its_status() -> None:
    """docs/api.md's table names each problem type the API answers, with its status."""
    doc = (Path(__file__).parents[3] / "docs/api.md").read_text(encoding="utf-8")
    for kind in PROBLEM_TYPES:
        assert f"| `{kind.name}` | {kind.status} |" in doc, kind.name
