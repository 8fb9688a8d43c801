"""The job routes over real HTTP: a job's progress from its machines' counts, the state
filter, 404 for an unknown job and 422 for a bad state or id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.ingest.records import BatchOutcome, WriteBatch
from coordinator.jobs.facts import OperationReport
from coordinator.plan.triggers import MachineSeen
from coordinator.settings import CoordinatorSettings
from tests.coordinator.conftest import T0_MS, serve

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}


def _job(job_id: str, quantity: int) -> dict[str, Any]:
    step = {"options": [{"machine": "m1", "duration_s": 60}]}
    return {"id": job_id, "operations": [step, step], "quantity": quantity, "sku": "cup"}


@pytest.fixture(scope="module")
def app_and_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, httpx.Client]]:
    """The coordinator app (no broker, planner not running) with machine m1 known."""
    settings = CoordinatorSettings(
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        db_path=tmp_path_factory.mktemp("job-api") / "c.db",
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        app.state.plans.apply([MachineSeen("s", "m1")])
        yield app, http


def _ingest(app: Any, *reports: OperationReport) -> None:
    """Commit reports through the ingest writer, as a batch of agent messages would."""
    app.state.coordinator.writer.finish([], BatchOutcome(batch=WriteBatch(progress=reports)))


def _report(op: str, state: str, good: int, scrap: int = 0, ts: int = T0_MS) -> OperationReport:
    return OperationReport("s", "m1", op.rpartition(":")[0], op, state, good, scrap, ts)  # type: ignore[arg-type]


def test_a_job_goes_from_planned_to_finished_on_its_good_counts(
    app_and_client: tuple[Any, httpx.Client],
) -> None:
    """Posted with quantity 5: planned, started on the first report, finished when the last
    operation's good units reach 5 (scrap does not count), then listed as finished."""
    app, http = app_and_client
    posted = http.post("/api/v1/orders", json={"jobs": [_job("a1", 5)]}, headers=AS_OPERATOR)
    assert posted.status_code == 202
    body = http.get("/api/v1/jobs/a1", headers=AS_VIEWER).json()
    assert (body["state"], body["quantity"], body["sku"], body["operations"]) == (
        "planned", 5, "cup", []
    )  # fmt: skip
    _ingest(app, _report("a1:0", "done", 6, 1, T0_MS), _report("a1:1", "run", 4, 3, T0_MS + 60_000))
    body = http.get("/api/v1/jobs/a1", headers=AS_VIEWER).json()
    assert (body["state"], body["good"], body["scrap"]) == ("started", 4, 4)
    assert [o["operation_id"] for o in body["operations"]] == ["a1:0", "a1:1"]
    _ingest(app, _report("a1:1", "run", 5, 3, T0_MS + 90_000))
    body = http.get("/api/v1/jobs/a1", headers=AS_VIEWER).json()
    assert (body["state"], body["good"], body["finished_ms"]) == ("finished", 5, T0_MS + 90_000)
    listed = http.get("/api/v1/jobs", params={"state": "finished"}, headers=AS_VIEWER).json()
    assert [j["id"] for j in listed["jobs"]] == ["a1"]
    assert app.state.plans.job_order("a1") is None  # closed by its counts, not the clock


def test_the_state_filter_and_paging(app_and_client: tuple[Any, httpx.Client]) -> None:
    """`state=planned` lists only planned jobs; `limit` pages by id with `next_after`."""
    _, http = app_and_client
    jobs = [_job(f"p{k}", 3) for k in range(3)]
    assert http.post("/api/v1/orders", json={"jobs": jobs}, headers=AS_OPERATOR).status_code == 202
    first = http.get(
        "/api/v1/jobs", params={"state": "planned", "limit": 2}, headers=AS_VIEWER
    ).json()
    assert [j["id"] for j in first["jobs"]] == ["p0", "p1"]
    rest = http.get(
        "/api/v1/jobs",
        params={"state": "planned", "limit": 2, "after": first["next_after"]},
        headers=AS_VIEWER,
    ).json()
    assert ([j["id"] for j in rest["jobs"]], rest["next_after"]) == (["p2"], None)


def test_an_unknown_job_is_404(app_and_client: tuple[Any, httpx.Client]) -> None:
    """A job id nobody posted is not found."""
    _, http = app_and_client
    assert http.get("/api/v1/jobs/nope", headers=AS_VIEWER).status_code == 404


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/jobs", {"state": "exploded"}),
        ("/api/v1/jobs", {"state": "x" * 10_000}),
        ("/api/v1/jobs", {"limit": 0}),
        ("/api/v1/jobs", {"after": "a" * 200}),
        ("/api/v1/jobs/" + "j" * 200, {}),
        ("/api/v1/jobs/bad%20id", {}),
    ],
)
def test_bad_queries_are_422(
    app_and_client: tuple[Any, httpx.Client], path: str, params: dict[str, Any]
) -> None:
    """An unknown state, an oversized or hostile id, a zero limit: 422, nothing served."""
    _, http = app_and_client
    assert http.get(path, params=params, headers=AS_VIEWER).status_code == 422


def test_jobs_need_a_token(app_and_client: tuple[Any, httpx.Client]) -> None:
    """Without a bearer token no job is shown."""
    _, http = app_and_client
    assert http.get("/api/v1/jobs").status_code == 401
