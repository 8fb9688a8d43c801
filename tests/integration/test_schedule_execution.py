"""The loop closed on a real Mosquitto with real agents: a job posted to the coordinator is
scheduled on two simulated machines, each runs its operation, and the good counts they
report close the job (not the plan clock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flexfleet.broker import Broker
from tests.edge_agent.support import start_agent, stop_agent, write_config
from tests.integration.coordinator_support import coordinator_api, coordinator_settings
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUANTITY = 2
JOB = {
    "id": "k1",
    "quantity": QUANTITY,
    "sku": "cup",
    "operations": [
        {"options": [{"machine": "m1", "duration_s": 20}], "family": "ceramic"},
        {"options": [{"machine": "m2", "duration_s": 20}], "family": "ceramic"},
    ],
}


def _agent_config(tmp_path: Path, broker: Broker, site: str, node: str) -> Path:
    """A one-machine simulated agent (it executes the schedules it is sent)."""
    folder = tmp_path / node
    folder.mkdir()
    config = write_config(folder / "agent.toml", site=site, node=node, port=broker.port)
    config.write_text(config.read_text().replace("machines = 2", "machines = 1"))
    return config


def test_a_schedule_sent_to_two_machines_is_executed_and_its_counts_close_the_job(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """m1 and m2 take their `schedule` commands, make the parts, and report them: the job
    is finished with its quantity of good units from m2 (the last operation), each
    operation reported by the machine it was planned on, and the job leaves the orders."""
    settings = coordinator_settings(
        broker,
        tmp_path,
        unique_site,
        plan_time_unit_s=1.0,
        plan_quiet_s=0.2,
        plan_urgent_quiet_s=0.05,
        plan_time_limit_s=1.0,
    )
    agents = [
        start_agent(_agent_config(tmp_path, broker, unique_site, node), tmp_path / f"{node}.log")
        for node in ("m1", "m2")
    ]
    try:
        with coordinator_api(settings) as http:

            def machines_known() -> bool:
                nodes = {n["node"] for n in http.get("/api/v1/nodes").json()}
                return {"m1", "m2"} <= nodes

            wait_until(machines_known, timeout_s=30)
            wait_until(
                lambda: http.post("/api/v1/orders", json={"jobs": [JOB]}).status_code == 202,
                timeout_s=30,
            )

            def finished() -> dict[str, Any] | None:
                job: dict[str, Any] = http.get("/api/v1/jobs/k1").json()
                return job if job["state"] == "finished" else None

            job = wait_until(finished, timeout_s=150, interval_s=0.5)
            assert (job["good"], job["quantity"]) == (QUANTITY, QUANTITY)
            ops = {o["operation_id"]: o for o in job["operations"]}
            assert (ops["k1:0"]["machine"], ops["k1:1"]["machine"]) == ("m1", "m2")
            assert ops["k1:1"]["good"] == QUANTITY
            assert ops["k1:0"]["good"] >= QUANTITY  # m1 made what m2 needed
            assert job["started_ms"] <= job["finished_ms"]
            wait_until(lambda: http.get("/api/v1/orders").json()["jobs"] == [], timeout_s=10)
            commands = http.get("/api/v1/commands", params={"node": "m2"}).json()
            assert any(c["name"] == "schedule" and c["state"] == "ok" for c in commands)
    finally:
        for agent in agents:
            stop_agent(agent)
