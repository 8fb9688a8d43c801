"""The plan and order routes over real HTTP: roles, the plan before the first re-plan, and
malformed orders refused with 422."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.plan.triggers import DepotSeen, MachineSeen
from coordinator.settings import CoordinatorSettings, load_settings
from tests.coordinator.conftest import Node, feed, serve

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
JOB = {"id": "j1", "operations": [{"options": [{"machine": "m1", "duration_s": 60}]}]}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The coordinator app (not connected to a broker, planner not running) with viewer and
    operator tokens, served over HTTP; machine m1 and warehouse w1 of site s are known."""
    settings = CoordinatorSettings(
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        db_path=tmp_path_factory.mktemp("plan-api") / "c.db",
        write_rate_per_minute=0,  # the module's many writes share one token (see test_request_guard)
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        app.state.plans.apply([MachineSeen("s", "m1"), DepotSeen("s", "w1")])
        yield http


@pytest.mark.parametrize("path", ["/api/v1/plans/schedule", "/api/v1/plans/routes"])
def test_plans_before_the_first_plan_are_empty_but_valid(client: httpx.Client, path: str) -> None:
    """A viewer reads version 0, no time made, no triggers, and nothing planned."""
    response = client.get(path, headers=AS_VIEWER)
    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["made_ms"], body["triggers"]) == (0, None, [])
    assert body.get("machines", {}) == {}
    assert body.get("routes", []) == []


def test_plans_need_a_token(client: httpx.Client) -> None:
    """Without a bearer token the plan is not shown."""
    assert client.get("/api/v1/plans/schedule").status_code == 401


def test_orders_need_the_operator_role(client: httpx.Client) -> None:
    """A viewer may not submit orders; an operator may."""
    assert client.post("/api/v1/orders", json={"jobs": [JOB]}, headers=AS_VIEWER).status_code == 403
    response = client.post("/api/v1/orders", json={"jobs": [JOB]}, headers=AS_OPERATOR)
    assert response.status_code == 202
    assert response.json() == {
        "accepted": ["j1"], "deliveries": [], "rush": 0, "unchanged": [], "unchanged_deliveries": []
    }  # fmt: skip


def _job(**changes: Any) -> dict[str, Any]:
    return {**JOB, **changes}


def _op(*options: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"options": list(options)}]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"jobs": []},
        {"jobs": [JOB], "extra": 1},
        {"jobs": "j1"},
        {"jobs": [_job(id="")]},
        {"jobs": [_job(id="j/1")]},
        {"jobs": [_job(id="j:1")]},
        {"jobs": [_job(operations=[])]},
        {"jobs": [_job(operations=[{"options": []}])]},
        {"jobs": [_job(operations=_op({"machine": "m1", "duration_s": 0}))]},
        {"jobs": [_job(operations=_op({"machine": "m1", "duration_s": -5}))]},
        {"jobs": [_job(operations=_op({"machine": "m1", "duration_s": "60"}))]},
        {"jobs": [_job(operations=_op({"machine": "m1"}))]},
        {"jobs": [_job(operations=_op({"machine": "m 1", "duration_s": 1}))]},
        {"jobs": [_job(operations=_op(*[{"machine": "m1", "duration_s": 1}] * 2))]},
        {"jobs": [_job(due_ms=5)]},
        {"jobs": [_job(due_ms="soon")]},
        {"jobs": [_job(weight=-1)]},
        {"jobs": [_job(rush="yes")]},
        {"jobs": [_job(operations=_op({"machine": "m9", "duration_s": 1}))]},
        {"jobs": [JOB, JOB]},
        {"deliveries": []},
        {"deliveries": [{"id": "o1", "x": 1, "y": 1}]},
        {"deliveries": [{"id": "o1", "x": 1e9, "y": 1, "demand": 1}]},
        {"deliveries": [{"id": "o1", "x": 1, "y": 1, "demand": -1}]},
        {"deliveries": [{"id": "w1", "x": 1, "y": 1, "demand": 1}]},
        {"jobs": [JOB], "deliveries": [{"id": "o1", "x": 1, "y": 1, "demand": 1, "due_ms": 5}]},
    ],
)
def test_malformed_orders_are_refused_with_422(client: httpx.Client, body: Any) -> None:
    """Wrong types, bounds, shapes, unknown machines and repeated ids are all 422."""
    response = client.post("/api/v1/orders", json=body, headers=AS_OPERATOR)
    assert response.status_code == 422, response.text


def test_an_unknown_machine_is_named(client: httpx.Client) -> None:
    """The 422 for an unknown machine says which machine and where."""
    body = {"jobs": [_job(operations=_op({"machine": "m9", "duration_s": 1}))]}
    response = client.post("/api/v1/orders", json=body, headers=AS_OPERATOR)
    assert response.json()["field"] == "jobs[0].operations[0].options"
    assert "m9" in response.json()["detail"]


def test_non_json_body_is_refused_with_422(client: httpx.Client) -> None:
    """A body that is not JSON is a 422, not a server error."""
    response = client.post(
        "/api/v1/orders",
        content=b"{not json",
        headers={**AS_OPERATOR, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_deliveries_and_fleet_are_taken_by_an_operator(client: httpx.Client) -> None:
    """An operator declares depot w1 with a vehicle and posts a delivery, a viewer may not;
    a viewer reads the fleet back as declared."""
    fleet = {"depots": [{"id": "w1", "x": 0, "y": 0}], "vehicles": [
        {"id": "v1", "depot_id": "w1", "capacity": 10, "max_duration_s": 3600}]}  # fmt: skip
    assert client.put("/api/v1/plans/fleet", json=fleet, headers=AS_VIEWER).status_code == 403
    response = client.put("/api/v1/plans/fleet", json=fleet, headers=AS_OPERATOR)
    assert response.status_code == 200
    assert response.json() == {"depots": ["w1"], "vehicles": ["v1"]}
    declared = client.get("/api/v1/plans/fleet", headers=AS_VIEWER).json()
    assert declared == {
        "depots": [{"id": "w1", "x": 0.0, "y": 0.0, "open_ms": None, "close_ms": None,
                    "location": None}],
        "vehicles": [{"id": "v1", "depot_id": "w1", "capacity": 10, "max_duration_s": 3600.0}],
    }  # fmt: skip
    body = {"deliveries": [{"id": "o1", "x": 3, "y": 4, "demand": 2, "service_s": 120}]}
    response = client.post("/api/v1/orders", json=body, headers=AS_OPERATOR)
    assert response.status_code == 202
    assert response.json() == {
        "accepted": [], "deliveries": ["o1"], "rush": 0, "unchanged": [], "unchanged_deliveries": []
    }  # fmt: skip


@pytest.mark.parametrize(
    "fleet",
    [
        {"depots": []},
        {"depots": [{"id": "w9", "x": 0, "y": 0}]},
        {"depots": [{"id": "w1", "x": 0, "y": 0}], "vehicles": [
            {"id": "v1", "depot_id": "w2", "capacity": 1}]},
        {"depots": [{"id": "w1", "x": 0, "y": 0}], "vehicles": [
            {"id": "v1", "depot_id": "w1", "capacity": "1"}]},
        {"depots": [{"id": "w1", "x": 0, "y": 0, "z": 1}]},
    ],
)  # fmt: skip
def test_malformed_fleets_are_refused_with_422(client: httpx.Client, fleet: Any) -> None:
    """Unknown warehouses, undeclared depots, wrong types and unknown fields are 422."""
    response = client.put("/api/v1/plans/fleet", json=fleet, headers=AS_OPERATOR)
    assert response.status_code == 422, response.text


def test_an_order_posted_twice_is_held_once(client: httpx.Client) -> None:
    """Posting the same orders again is idempotent (reported as unchanged); a changed job
    with a held id replaces it; the held orders list each id once, as last accepted."""
    job = _job(id="twice", due_ms=1_900_000_000_000)
    drop = {"id": "twice-d", "x": 1.0, "y": 2.0, "demand": 3}
    body = {"jobs": [job], "deliveries": [drop]}
    first = client.post("/api/v1/orders", json=body, headers=AS_OPERATOR).json()
    assert (first["unchanged"], first["unchanged_deliveries"]) == ([], [])
    again = client.post("/api/v1/orders", json=body, headers=AS_OPERATOR).json()
    assert (again["accepted"], again["deliveries"]) == (["twice"], ["twice-d"])
    assert (again["unchanged"], again["unchanged_deliveries"]) == (["twice"], ["twice-d"])
    changed = {"jobs": [{**job, "weight": 7}]}
    assert (
        client.post("/api/v1/orders", json=changed, headers=AS_OPERATOR).json()["unchanged"] == []
    )
    held = client.get("/api/v1/orders", headers=AS_VIEWER)
    assert held.status_code == 200
    jobs = [j for j in held.json()["jobs"] if j["id"] == "twice"]
    assert [(j["weight"], j["due_ms"]) for j in jobs] == [(7, 1_900_000_000_000)]
    drops = [d for d in held.json()["deliveries"] if d["id"] == "twice-d"]
    assert drops == [
        {**drop, "ready_ms": None, "due_ms": None, "service_s": 0.0, "location": None,
         "promised_ms": None}
    ]  # fmt: skip


def test_orders_are_closed_by_an_operator(client: httpx.Client) -> None:
    """An operator closes held orders (a viewer may not); they leave the held list, and ids
    not held are reported as unknown, so closing twice is harmless."""
    body = {
        "jobs": [_job(id="to-close")],
        "deliveries": [{"id": "to-close-d", "x": 1.0, "y": 2.0, "demand": 3}],
    }
    assert client.post("/api/v1/orders", json=body, headers=AS_OPERATOR).status_code == 202
    close = {"jobs": ["to-close", "never-sent"], "deliveries": ["to-close-d"]}
    assert client.post("/api/v1/orders/close", json=close, headers=AS_VIEWER).status_code == 403
    response = client.post("/api/v1/orders/close", json=close, headers=AS_OPERATOR)
    assert response.status_code == 200
    assert response.json() == {
        "jobs": ["to-close"], "deliveries": ["to-close-d"],
        "unknown_jobs": ["never-sent"], "unknown_deliveries": [],
    }  # fmt: skip
    held = client.get("/api/v1/orders", headers=AS_VIEWER).json()
    assert "to-close" not in {j["id"] for j in held["jobs"]}
    assert "to-close-d" not in {d["id"] for d in held["deliveries"]}
    again = client.post("/api/v1/orders/close", json=close, headers=AS_OPERATOR).json()
    assert (again["jobs"], again["unknown_deliveries"]) == ([], ["to-close-d"])


def test_changeovers_are_declared_by_an_operator(client: httpx.Client) -> None:
    """An operator declares changeover times (a viewer may not); the answer counts them."""
    body = {"changeovers": [
        {"from_family": "red", "to_family": "blue", "duration_s": 900},
        {"from_family": "blue", "to_family": "red", "duration_s": 300.5},
    ]}  # fmt: skip
    path = "/api/v1/plans/changeovers"
    assert client.put(path, json=body, headers=AS_VIEWER).status_code == 403
    response = client.put(path, json=body, headers=AS_OPERATOR)
    assert response.status_code == 200
    assert response.json() == {"changeovers": 2}
    assert client.put(path, json={"changeovers": []}, headers=AS_OPERATOR).json() == {
        "changeovers": 0
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"changeovers": "red"},
        {"changeovers": [{"from_family": "a", "to_family": "b"}]},
        {"changeovers": [{"from_family": "a", "to_family": "b", "duration_s": -1}]},
        {"changeovers": [{"from_family": "a", "to_family": "b", "duration_s": "60"}]},
        {"changeovers": [{"from_family": "a" * 65, "to_family": "b", "duration_s": 1}]},
        {"changeovers": [{"from_family": "a", "to_family": "b", "duration_s": 1, "x": 0}]},
        {"changeovers": [{"from_family": "a", "to_family": "b", "duration_s": 1}] * 2},
        {"changeovers": [{"from_family": "a", "to_family": "b", "duration_s": 1}] * 10_001},
    ],
)
def test_malformed_changeovers_are_refused_with_422(client: httpx.Client, body: Any) -> None:
    """Missing, mistyped, out-of-range, oversized and repeated changeovers are all 422."""
    response = client.put("/api/v1/plans/changeovers", json=body, headers=AS_OPERATOR)
    assert response.status_code == 422, response.text


RESERVE = "/api/v1/plans/reserve"
NO_RESERVE = {"share": 0.0, "period_s": 3600.0, "horizon_s": 0.0, "reserved_s": 0.0}


def test_the_reserve_is_set_by_an_operator_and_read_by_a_viewer(client: httpx.Client) -> None:
    """A viewer reads the reserve (none at first) but may not set it; an operator sets it
    and the answer is what re-plans use, rounded up to one-minute plan units; share 0
    removes it."""
    assert client.get(RESERVE).status_code == 401
    assert client.get(RESERVE, headers=AS_VIEWER).json() == NO_RESERVE
    body = {"share": 0.25, "period_s": 3600, "horizon_s": 28_800}
    assert client.put(RESERVE, json=body, headers=AS_VIEWER).status_code == 403
    assert client.put(RESERVE, json=body).status_code == 401
    response = client.put(RESERVE, json=body, headers=AS_OPERATOR)
    assert response.status_code == 200, response.text
    taken = {"share": 0.25, "period_s": 3600.0, "horizon_s": 28_800.0, "reserved_s": 900.0}
    assert response.json() == taken
    assert client.get(RESERVE, headers=AS_VIEWER).json() == taken
    rounded = {"share": 0.3, "period_s": 590.5, "horizon_s": 3000.0}
    assert client.put(RESERVE, json=rounded, headers=AS_OPERATOR).json() == {
        "share": 0.3, "period_s": 600.0, "horizon_s": 3000.0, "reserved_s": 180.0
    }  # fmt: skip
    off = {"share": 0, "period_s": 3600, "horizon_s": 0}
    assert client.put(RESERVE, json=off, headers=AS_OPERATOR).json() == NO_RESERVE


GOOD_RESERVE = {"share": 0.2, "period_s": 3600, "horizon_s": 86_400}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "Field required"),
        ({"share": 0.2, "period_s": 3600}, "Field required"),
        ({**GOOD_RESERVE, "share": -0.1}, "greater than or equal to 0"),
        ({**GOOD_RESERVE, "share": 0.95}, "less than or equal to 0.9"),
        ({**GOOD_RESERVE, "share": "0.2"}, "valid number"),
        ({**GOOD_RESERVE, "share": True}, "valid number"),
        ({**GOOD_RESERVE, "share": None}, "valid number"),
        ({**GOOD_RESERVE, "period_s": 0}, "greater than 0"),
        ({**GOOD_RESERVE, "period_s": -3600}, "greater than 0"),
        ({**GOOD_RESERVE, "period_s": 86_401}, "less than or equal to 86400"),
        ({**GOOD_RESERVE, "period_s": [3600]}, "valid number"),
        ({**GOOD_RESERVE, "horizon_s": -1}, "greater than or equal to 0"),
        ({**GOOD_RESERVE, "horizon_s": 1e308}, "less than or equal to 2592000"),
        ({**GOOD_RESERVE, "horizon_s": 10**30}, "less than or equal to 2592000"),
        ({**GOOD_RESERVE, "rush_only": True}, "Extra inputs are not permitted"),
        ([GOOD_RESERVE], "valid dictionary"),
        ({**GOOD_RESERVE, "horizon_s": 0}, "positive horizon_s"),
        ({**GOOD_RESERVE, "period_s": 60, "share": 0.5}, "whole period"),
        ({**GOOD_RESERVE, "period_s": 120, "horizon_s": 2_592_000}, "21600 reserved slices"),
    ],
)
def test_malformed_reserves_are_refused_with_a_clear_422(
    client: httpx.Client, body: Any, words: str
) -> None:
    """Missing, mistyped, out-of-range, huge and extra fields, and reserves that cannot
    work in plan units, are 422 saying why; the reserve in force stays."""
    before = client.get(RESERVE, headers=AS_VIEWER).json()
    response = client.put(RESERVE, json=body, headers=AS_OPERATOR)
    assert response.status_code == 422, response.text
    assert words in response.text
    assert client.get(RESERVE, headers=AS_VIEWER).json() == before


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"share": NaN, "period_s": 3600, "horizon_s": 86400}', 422),
        (b'{"share": 0.2, "period_s": Infinity, "horizon_s": 86400}', 422),
        (b'{"share": 0.2, "period_s": 3600, "horizon_s": -Infinity}', 422),
        (b'{"share": 0.2, "period_s": 3600, "horizon_s": 1e400}', 422),
        (
            b'{"share": 0.2, "period_s": 3600, "horizon_s": 86400, "x": "' + b"a" * 10**6 + b'"}',
            422,
        ),
        (b'{"share": 0.2, "period_s": 3600', 422),
        (b"null", 422),
        # Python's JSON parser refuses integers over 4,300 digits: FastAPI answers 400.
        (b'{"share": 0.2, "period_s": 3600, "horizon_s": 1' + b"0" * 5000 + b"}", 400),
    ],
    ids=["nan", "inf", "-inf", "overflow", "1MB-extra", "truncated", "null", "5000-digits"],
)
def test_hostile_reserve_bodies_are_refused(client: httpx.Client, raw: bytes, code: int) -> None:
    """Non-finite and overflowing numbers, a megabyte of extra field, truncated JSON, null
    and a huge integer are refused as client errors, not server errors, and change
    nothing."""
    before = client.get(RESERVE, headers=AS_VIEWER).json()
    response = client.put(
        RESERVE, content=raw, headers={**AS_OPERATOR, "Content-Type": "application/json"}
    )
    assert response.status_code == code, response.text[:500]
    assert client.get(RESERVE, headers=AS_VIEWER).json() == before


def test_a_non_finite_number_is_a_422_naming_its_field(client: httpx.Client) -> None:
    """NaN in any JSON body (here an order's duration) is a 422 validation problem naming
    the field, not a 500 (JSON cannot carry NaN, so the value is not echoed back)."""
    raw = b'{"jobs": [{"id": "j1", "operations": [{"options": [{"machine": "m1", "duration_s": NaN}]}]}]}'
    response = client.post(
        "/api/v1/orders", content=raw, headers={**AS_OPERATOR, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:flexfleet:problem:validation-failed"
    assert problem["field"] == "jobs[0].operations[0].options[0].duration_s"
    assert [e["loc"][-1] for e in problem["errors"]] == ["duration_s"]


def test_a_reserve_put_re_plans_and_survives_a_coordinator_restart(tmp_path: Path) -> None:
    """After a PUT of half of every hour, the next schedule served leaves the second half
    of each hour free of the (non-rush) jobs posted; a coordinator restarted on the same
    database serves the same reserve."""
    settings = CoordinatorSettings(
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        db_path=tmp_path / "c.db",
        plan_quiet_s=0.0,
        plan_urgent_quiet_s=0.0,
        plan_time_limit_s=1.0,
    )
    body = {"share": 0.5, "period_s": 3600, "horizon_s": 14_400}
    jobs = {"jobs": [_job(id=f"r{k}", operations=_op({"machine": "m1", "duration_s": 1200}))
                     for k in range(3)]}  # fmt: skip
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        app.state.plans.apply([MachineSeen("s", "m1")])
        taken = http.put(RESERVE, json=body, headers=AS_OPERATOR).json()
        assert taken == {
            "share": 0.5,
            "period_s": 3600.0,
            "horizon_s": 14_400.0,
            "reserved_s": 1800.0,
        }
        assert http.post("/api/v1/orders", json=jobs, headers=AS_OPERATOR).status_code == 202
        assert app.state.plans.service.tick()  # the planner loop is not running here
        schedule = http.get("/api/v1/plans/schedule", headers=AS_VIEWER).json()
    rows = sorted((op["start"], op["end"]) for op in schedule["machines"]["m1"])
    planned_at = rows[0][0]  # the first job starts at once: the slices count from there
    slices = [(planned_at + k * 60 + 30, planned_at + k * 60 + 60) for k in range(4)]
    assert not [r for r in rows if any(r[0] < e and s < r[1] for s, e in slices)]
    assert [start - planned_at for start, _ in rows] == [0, 60, 120]

    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        assert http.get(RESERVE, headers=AS_VIEWER).json() == taken


def test_deliveries_are_dispatched_to_a_vehicle_by_an_operator(client: httpx.Client) -> None:
    """An operator pins held deliveries to a declared vehicle (a viewer may not); ids not
    held are reported; a vehicle outside the fleet is a 422 naming the field."""
    fleet = {"depots": [{"id": "w1", "x": 0, "y": 0}],
             "vehicles": [{"id": "van", "depot_id": "w1", "capacity": 10}]}  # fmt: skip
    assert client.put("/api/v1/plans/fleet", json=fleet, headers=AS_OPERATOR).status_code == 200
    body = {"deliveries": [{"id": "load-1", "x": 3, "y": 4, "demand": 2}]}
    assert client.post("/api/v1/orders", json=body, headers=AS_OPERATOR).status_code == 202
    dispatch = {"vehicle_id": "van", "deliveries": ["load-1", "not-held"]}
    assert (
        client.post("/api/v1/orders/dispatch", json=dispatch, headers=AS_VIEWER).status_code == 403
    )
    response = client.post("/api/v1/orders/dispatch", json=dispatch, headers=AS_OPERATOR)
    assert response.status_code == 200
    assert response.json() == {
        "vehicle_id": "van",
        "deliveries": ["load-1"],
        "unknown": ["not-held"],
    }
    wrong = client.post(
        "/api/v1/orders/dispatch", json={**dispatch, "vehicle_id": "bike"}, headers=AS_OPERATOR
    )
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "vehicle_id"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"vehicle_id": "van"},
        {"vehicle_id": "van", "deliveries": []},
        {"vehicle_id": "van", "deliveries": "load-1"},
        {"vehicle_id": "v/1", "deliveries": ["load-1"]},
        {"vehicle_id": "van", "deliveries": ["o 1"]},
        {"vehicle_id": "van", "deliveries": ["o1"] * 1001},
        {"vehicle_id": "van", "deliveries": ["o1"], "at": 1},
    ],
)
def test_malformed_dispatches_are_refused_with_422(client: httpx.Client, body: Any) -> None:
    """Missing, empty, mistyped, oversized and badly named dispatches are all 422."""
    response = client.post("/api/v1/orders/dispatch", json=body, headers=AS_OPERATOR)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"jobs": [], "deliveries": []},
        {"jobs": ["j1"], "extra": 1},
        {"jobs": "j1"},
        {"jobs": [1]},
        {"jobs": [""]},
        {"deliveries": ["o/1"]},
        {"deliveries": ["o" * 65]},
        {"jobs": ["j1"] * 1001},
    ],
)
def test_malformed_close_requests_are_refused_with_422(client: httpx.Client, body: Any) -> None:
    """Empty, mistyped, oversized and badly named close requests are all 422."""
    response = client.post("/api/v1/orders/close", json=body, headers=AS_OPERATOR)
    assert response.status_code == 422, response.text


def test_plan_views_are_documented_in_openapi(client: httpx.Client) -> None:
    """The schedule and routes responses are typed models in the OpenAPI document."""
    paths = client.get("/openapi.json").json()["paths"]
    for path, model in (
        ("/api/v1/plans/schedule", "ScheduleOut"),
        ("/api/v1/plans/routes", "RoutesOut"),
        ("/api/v1/plans/reserve", "ReserveOut"),
    ):
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}


def test_a_located_delivery_round_trips_and_bad_places_are_422(client: httpx.Client) -> None:
    """A delivery given by latitude/longitude is held as given; a latitude past 90, a
    location without its longitude or with a string are refused."""
    drop = {"id": "geo-d", "demand": 1, "location": {"lat": 29.3, "lon": 120.07}}
    posted = client.post("/api/v1/orders", json={"deliveries": [drop]}, headers=AS_OPERATOR)
    assert posted.status_code == 202
    held = client.get("/api/v1/orders", headers=AS_VIEWER).json()["deliveries"]
    (mine,) = [d for d in held if d["id"] == "geo-d"]
    assert (mine["location"], mine["x"], mine["y"]) == ({"lat": 29.3, "lon": 120.07}, 0.0, 0.0)
    for location in ({"lat": 95.0, "lon": 0.0}, {"lat": 1.0}, {"lat": "1", "lon": 2.0}):
        bad = {**drop, "id": "geo-bad", "location": location}
        answer = client.post("/api/v1/orders", json={"deliveries": [bad]}, headers=AS_OPERATOR)
        assert answer.status_code == 422, location


def test_the_routes_view_shows_each_vans_tour(tmp_path: Path) -> None:
    """With tours on (the default), a delivery of 2 units for a van of 10 is held at the
    depot (the routes view says so, with the latest it leaves); loaded by hand, the van is
    out with it (no departure rule: `reason` null)."""
    settings = CoordinatorSettings(
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        db_path=tmp_path / "c.db",
        plan_quiet_s=0.0,
        plan_urgent_quiet_s=0.0,
        plan_time_limit_s=1.0,
        plan_rest_factor=0.0,
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        app.state.plans.apply([DepotSeen("s", "w1")])
        fleet = {"depots": [{"id": "w1", "x": 0, "y": 0}],
                 "vehicles": [{"id": "van", "depot_id": "w1", "capacity": 10}]}  # fmt: skip
        assert http.put("/api/v1/plans/fleet", json=fleet, headers=AS_OPERATOR).status_code == 200
        body = {"deliveries": [{"id": "load-1", "x": 3, "y": 4, "demand": 2}]}
        assert http.post("/api/v1/orders", json=body, headers=AS_OPERATOR).status_code == 202
        assert app.state.plans.service.tick()
        (held,) = http.get("/api/v1/plans/routes", headers=AS_VIEWER).json()["tours"]
        assert held["state"] == "held"
        assert (held["vehicle_id"], held["stops"], held["load"]) == ("van", ["load-1"], 2)
        assert held["leaves_by_ms"] > 0
        dispatch = {"vehicle_id": "van", "deliveries": ["load-1"]}
        sent = http.post("/api/v1/orders/dispatch", json=dispatch, headers=AS_OPERATOR)
        assert sent.status_code == 200
        assert app.state.plans.service.tick()
        (out,) = http.get("/api/v1/plans/routes", headers=AS_VIEWER).json()["tours"]
        assert (out["state"], out["stops"], out["reason"]) == ("out", ["load-1"], None)


def test_a_job_without_a_quantity_is_refused_where_a_machine_runs_its_schedule(
    tmp_path: Path,
) -> None:
    """m2's agent carries out its schedule (its birth says `executes`): a job that may run
    on m2 without a quantity is a 422 naming `jobs[0].quantity` (m2 would refuse its whole
    schedule for it); with a quantity it is taken, and so is one for m1, whose agent only
    holds its plans."""
    settings = load_settings(
        dev_mode=True, db_path=tmp_path / "c.db", broker_url="mqtt://127.0.0.1:1"
    )
    app = create_app(settings, start_service=False)
    holds = Node(site="s1", node="m1").birth()
    runs = replace(Node(site="s1", node="m2").birth(), capabilities=("schedule", "executes"))
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        feed(app.state.coordinator, holds, runs)
        either = _op({"machine": "m1", "duration_s": 60}, {"machine": "m2", "duration_s": 60})

        def post(job: dict[str, Any]) -> httpx.Response:
            return http.post("/api/v1/orders", json={"jobs": [job]})

        refused = post(_job(id="j-any", operations=either))
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "jobs[0].quantity"
        assert "m2 carries out its schedule" in refused.json()["detail"]
        assert post(_job(id="j-counted", operations=either, quantity=5)).status_code == 202
        assert (
            post(_job(id="j-held", operations=_op({"machine": "m1", "duration_s": 60}))).status_code
            == 202
        )
