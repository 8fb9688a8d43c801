"""Re-planning in the running coordinator, on a real Mosquitto with real edge agents: orders
posted to the API are scheduled on the machines whose agents announced themselves, which
start executing them; when a machine breaks down its agent reports DOWN, the coordinator
re-plans: the operation the machine had started stays on it (paused, never moved back),
everything else leaves it; the new schedule is served at the API, and the agents concerned
receive and take their `schedule` updates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.drivers.sim import SimMachinesDriver
from edge_agent.runner import AgentThread, demo_config
from firmware_sim.machine import FaultKind
from flexfleet.broker import Broker
from protocol import ScheduleUpdate
from tests.integration.coordinator_support import coordinator_api, coordinator_settings
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def api(broker: Broker, tmp_path: Path, unique_site: str) -> Iterator[httpx.Client]:
    """A coordinator with short planning windows, connected to the test broker."""
    settings = coordinator_settings(
        broker,
        tmp_path,
        unique_site,
        plan_time_limit_s=0.5,
        plan_quiet_s=0.2,
        plan_urgent_quiet_s=0.05,
        plan_max_delay_s=1.0,
    )
    with coordinator_api(settings) as client:
        yield client


@pytest.fixture
def agents(broker: Broker, unique_site: str, tmp_path: Path) -> Iterator[dict[str, AgentThread]]:
    """Edge agents m1 and m2 of this test's site, each reading one simulated machine."""
    running = {
        node: AgentThread(
            demo_config(
                site=unique_site, node=node, broker=broker.url, state_dir=tmp_path / node, seed=k
            )
        ).start()
        for k, node in enumerate(("m1", "m2"), start=1)
    }
    yield running
    for agent in running.values():
        agent.stop()
        assert agent.error is None


def _on(schedule: dict[str, Any], machine: str) -> list[str]:
    return [op["operation_id"] for op in schedule["machines"].get(machine, [])]


def _held(agent: AgentThread, version: int) -> ScheduleUpdate | None:
    update = agent.core.plans.get(f"schedule:{agent.core.node}")
    if isinstance(update, ScheduleUpdate) and update.version >= version:
        return update
    return None


def test_machine_down_replans_without_it_and_the_agents_take_the_diffs(
    api: httpx.Client, agents: dict[str, AgentThread]
) -> None:
    """m1 breaking down leads to a new schedule without m1 at the API; m1's agent holds an
    update with its work reassigned out, m2's one with that work reassigned in."""
    empty = api.get("/api/v1/plans/schedule").json()
    assert (empty["version"], empty["made_ms"], empty["machines"]) == (0, None, {})
    orders = {
        "jobs": [
            {"id": f"j{k}", "quantity": 50, "operations": [{"options": [
                {"machine": "m1", "duration_s": 600}, {"machine": "m2", "duration_s": 900},
            ]}]}
            for k in range(3)
        ]
    }  # fmt: skip
    posted = wait_until(
        lambda: (r := api.post("/api/v1/orders", json=orders)).status_code == 202 and r
    )
    assert posted.json()["accepted"] == ["j0", "j1", "j2"]

    first = wait_until(lambda: (s := api.get("/api/v1/plans/schedule").json())["version"] and s)
    assert _on(first, "m1"), "the faster machine gets work"
    assert first["status"] in {"optimal", "feasible"}
    assert first["made_ms"] is not None
    assert wait_until(lambda: _held(agents["m1"], first["version"]))

    driver = agents["m1"].core.driver
    assert isinstance(driver, SimMachinesDriver)
    driver.machines[0].inject(FaultKind.BREAKDOWN)

    def started_on_m1() -> list[str]:
        jobs = api.get("/api/v1/jobs", params={"state": "started"}).json()["jobs"]
        return sorted(
            o["operation_id"]
            for j in jobs
            for o in j["operations"]
            if o["machine"] == "m1" and o["state"] != "done"
        )

    def settled() -> tuple[dict[str, Any], list[str]] | None:
        s = api.get("/api/v1/plans/schedule").json()
        started = started_on_m1()
        down = {"kind": "machine_down", "key": "m1"}
        if s["version"] <= first["version"] or sorted(_on(s, "m1")) != started:
            return None
        return (s, started) if down in s["triggers"] or started else None

    replanned, started = wait_until(settled)
    assert len(started) <= 1  # a machine runs one operation at a time
    all_ops = {"j0:0", "j1:0", "j2:0"}
    assert set(_on(replanned, "m2")) == all_ops - set(started)

    to_m1 = wait_until(lambda: _held(agents["m1"], replanned["version"]))
    to_m2 = wait_until(lambda: _held(agents["m2"], replanned["version"]))
    assert sorted(op.operation_id for op in to_m1.operations) == started
    assert {op.operation_id for op in to_m2.operations} == all_ops - set(started)
