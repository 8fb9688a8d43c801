"""/metrics exposes planning: plans made per plan and trigger kind, the last re-plan's
duration and moves, plan versions, late jobs and unserved deliveries per reason."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from coordinator.api.app import create_app
from coordinator.plan.triggers import DepotSeen, MachineSeen
from coordinator.settings import load_settings
from tests.coordinator.conftest import serve


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("flexfleet_plan")
        for s in family.samples
    }


def test_metrics_show_plans_made_and_what_they_left_undone(tmp_path: Path) -> None:
    """One re-plan of a job that cannot meet its due time and two deliveries, one too big
    for the only vehicle: one schedule (new orders) and one route plan (routing orders),
    version 1 each, one late job (its window is too short), one delivery unserved for capacity."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        plan_time_limit_s=0.5,
        plan_quiet_s=0.0,
        plan_urgent_quiet_s=0.0,
        plan_max_delay_s=0.1,
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        plans = app.state.plans
        plans.apply([MachineSeen("s", "m1"), DepotSeen("s", "w1")])
        before = _samples(client.get("/metrics").text)
        assert before[("flexfleet_plan_version", (("plan", "schedule"),))] == 0
        assert not any(name == "flexfleet_plans_made_total" for name, _ in before)
        fleet = {"depots": [{"id": "w1", "x": 0, "y": 0}],
                 "vehicles": [{"id": "v1", "depot_id": "w1", "capacity": 5}]}  # fmt: skip
        assert client.put("/api/v1/plans/fleet", json=fleet).status_code == 200
        due_ms = int(time.time() * 1000) + 60_000  # one minute; the job takes ten
        orders = {
            "jobs": [{"id": "j1", "due_ms": due_ms,
                      "operations": [{"options": [{"machine": "m1", "duration_s": 600}]}]}],
            "deliveries": [{"id": "small", "x": 3, "y": 4, "demand": 2},
                           {"id": "big", "x": 1, "y": 1, "demand": 50}],
        }  # fmt: skip
        assert client.post("/api/v1/orders", json=orders).status_code == 202
        assert plans.service.tick()
        after = _samples(client.get("/metrics").text)
    made = {
        labels: v for (name, labels), v in after.items() if name == "flexfleet_plans_made_total"
    }
    assert made == {
        (("plan", "schedule"), ("trigger", "new_orders")): 1.0,
        (("plan", "routes"), ("trigger", "routing_orders")): 1.0,
    }
    assert after[("flexfleet_plan_version", (("plan", "schedule"),))] == 1
    assert after[("flexfleet_plan_version", (("plan", "routes"),))] == 1
    assert after[("flexfleet_plan_last_replan_seconds", ())] > 0
    assert after[("flexfleet_plan_operations_moved", ())] == 0
    assert after[("flexfleet_plan_late_jobs", (("reason", "too_short_window"),))] == 1
    assert after[("flexfleet_plan_unserved_deliveries", (("reason", "capacity"),))] == 1
