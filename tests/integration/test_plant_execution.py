"""The plant and the fleet carry out plans, on a real Mosquitto with real agents: machines
run their schedules and report operations and counts, a breakdown pauses an operation and
the repair resumes it, a vehicle drives its route and reports its deliveries, and a
warehouse reports a transfer's receipt once, across a kill -9 of its agent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.drivers.sim import SimMachinesDriver
from edge_agent.runner import AgentThread
from firmware_sim.machine import FaultKind
from flexfleet.broker import Broker
from protocol import (
    Birth,
    Command,
    CommandAck,
    Event,
    Message,
    OperationReport,
    Stock,
    StopReport,
    command_topic,
    encode,
)
from tests.edge_agent.support import Subscriber, start_agent, stop_agent
from tests.integration.coordinator_support import sim_agent_config

pytestmark = pytest.mark.integration
TS = 1_700_000_000_000


@pytest.fixture
def coordinator(broker: Broker, unique_site: str) -> Iterator[Subscriber]:
    """A subscriber playing the coordinator: online, sends commands, records everything."""
    sub = Subscriber(
        broker.port, unique_site, client_id=f"{unique_site}-coord", announce_coordinator=True
    )
    yield sub
    sub.close()


def command(
    sub: Subscriber, site: str, node: str, name: str, cmd_id: str, args: dict[str, Any]
) -> None:
    """Send a command once the node is up (its birth seen: it is subscribed to commands)."""
    sub.wait_for(lambda got: any(isinstance(m, Birth) and m.node == node for m in got), 30)
    message = Command(site=site, node=node, name=name, cmd_id=cmd_id, ts=TS, args=args)
    sub.publish(command_topic(site, node, name), encode(message))


def events(got: list[Message], node: str, prefix: str) -> list[Event]:
    """The node's events of names starting with `prefix`, once per seq."""
    by_seq = {
        m.seq: m
        for m in got
        if isinstance(m, Event) and m.node == node and m.name.startswith(prefix)
    }
    return [by_seq[k] for k in sorted(by_seq)]


def finished(node: str, count: int) -> Callable[[list[Message]], bool]:
    return lambda got: len(events(got, node, "operation_finished")) >= count


def schedule(machine: str, ops: list[tuple[str, int, str]]) -> dict[str, Any]:
    return {
        "version": 1,
        "machine_id": machine,
        "epoch_ms": TS,
        "time_unit_s": 60.0,
        "operations": [
            {"operation_id": f"{job}:0", "job_id": job, "start": 2 * i, "end": 2 * i + 1, "setup": 1, "quantity": qty, "family": family}
            for i, (job, qty, family) in enumerate(ops)
        ],
    }  # fmt: skip


def test_a_schedule_sent_to_two_machines_is_executed_and_reported(
    broker: Broker, coordinator: Subscriber, unique_site: str, tmp_path: Path
) -> None:
    """Each machine acks its schedule, runs its operations in order and reports start,
    counts and finish; the good parts of each finished operation equal its quantity."""
    plans = {
        "m1": [("j1", 12, "bolts"), ("j2", 6, "nuts")],
        "m2": [("j3", 10, "nuts")],
    }
    agents = [
        AgentThread(
            sim_agent_config(
                unique_site, node, "machine", broker, tmp_path / node, seed=k, speed=40.0
            )
        ).start()
        for k, node in enumerate(plans, start=1)
    ]
    try:
        for node, ops in plans.items():
            command(coordinator, unique_site, node, "schedule", f"s-{node}", schedule(node, ops))
        got = coordinator.wait_for(
            lambda g: finished("m1", 2)(g) and finished("m2", 1)(g), timeout_s=60
        )
    finally:
        for agent in agents:
            agent.stop()
    assert all(a.error is None for a in agents)
    assert {m.cmd_id: m.ok for m in got if isinstance(m, CommandAck)} == {
        "s-m1": True,
        "s-m2": True,
    }
    for node, ops in plans.items():
        reports = [
            (e.name, OperationReport.from_data(e.data)) for e in events(got, node, "operation_")
        ]
        done = [(r.job_id, r.good, r.family) for name, r in reports if name == "operation_finished"]
        assert done == [(job, qty, family) for job, qty, family in ops]
        started = [r.job_id for name, r in reports if name == "operation_started"]
        assert started == [job for job, _, _ in ops]
        assert any(name == "operation_counts" for name, _ in reports)


def test_a_breakdown_pauses_the_operation_and_the_repair_resumes_it(
    broker: Broker, coordinator: Subscriber, unique_site: str, tmp_path: Path
) -> None:
    """DOWN mid-operation: a paused state event with the counts so far, then run again after
    the repair, and the operation still finishes with its quantity of good parts."""
    agent = AgentThread(
        sim_agent_config(unique_site, "m1", "machine", broker, tmp_path / "m1", seed=3, speed=60.0)
    ).start()
    try:
        command(
            coordinator, unique_site, "m1", "schedule", "s1", schedule("m1", [("j1", 200, "f")])
        )
        coordinator.wait_for(
            lambda g: any(
                OperationReport.from_data(e.data).good >= 5
                for e in events(g, "m1", "operation_counts")
            ),
            timeout_s=60,
        )
        driver = agent.core.driver
        assert isinstance(driver, SimMachinesDriver)
        driver.machines[0].inject(FaultKind.BREAKDOWN)
        got = coordinator.wait_for(finished("m1", 1), timeout_s=120)
    finally:
        agent.stop()
    assert agent.error is None
    states = [OperationReport.from_data(e.data) for e in events(got, "m1", "operation_state")]
    paused = [r for r in states if r.state == "paused"]
    assert len(paused) == 1
    resumed = [r for r in states if r.state == "run" and r.good >= paused[0].good]
    assert resumed
    assert resumed[-1].good == paused[0].good  # nothing made while down
    final = OperationReport.from_data(events(got, "m1", "operation_finished")[0].data)
    assert final.good == 200
    assert any(
        e.name == "state_change" and e.state == "raised" for e in got if isinstance(e, Event)
    )


STOPS: list[Any] = [
    {"stop_id": "f1", "lat": 45.070, "lon": 7.690, "action": "pickup", "quantity": 20, "transfer_id": "t1", "sku": "SKU-0001"},
    {"stop_id": "w1", "lat": 45.080, "lon": 7.700, "quantity": 20, "transfer_id": "t1", "sku": "SKU-0001"},
    {"stop_id": "o1", "lat": 45.085, "lon": 7.705, "quantity": 3},
    "depot",
]  # fmt: skip


def vehicle_config(site: str, broker: Broker, tmp_path: Path) -> Any:
    return sim_agent_config(
        site, "v1", "vehicle", broker, tmp_path / "v1",
        lat=45.07, lon=7.68, speed_kmh=100.0, service_s=30.0, speed=20.0,
        places={"depot": [45.07, 7.68]}, dock=str(tmp_path / "dock"),
    )  # fmt: skip


def test_a_vehicle_drives_its_route_and_its_deliveries_arrive_as_stop_events(
    broker: Broker, coordinator: Subscriber, unique_site: str, tmp_path: Path
) -> None:
    """Arrived and delivered for each stop in order, with quantities and the transfer id;
    the vehicle's position moves between stops; a route with an unknown stop is nacked."""
    agent = AgentThread(vehicle_config(unique_site, broker, tmp_path)).start()
    try:
        route = {"version": 1, "vehicle_id": "v1", "depot_id": "depot", "stops": STOPS}
        command(coordinator, unique_site, "v1", "route", "r1", route)
        got = coordinator.wait_for(
            lambda g: len(events(g, "v1", "stop_delivered")) >= 4, timeout_s=60
        )
        command(
            coordinator,
            unique_site,
            "v1",
            "route",
            "r2",
            {**route, "version": 2, "stops": ["atlantis"]},
        )
        got = coordinator.wait_for(
            lambda g: any(isinstance(m, CommandAck) and m.cmd_id == "r2" for m in g), timeout_s=10
        )
    finally:
        agent.stop()
    assert agent.error is None
    reports = [(e.name, StopReport.from_data(e.data)) for e in events(got, "v1", "stop_")]
    assert [(name, r.stop_id) for name, r in reports] == [
        (kind, stop)
        for stop in ("f1", "w1", "o1", "depot")
        for kind in ("stop_arrived", "stop_delivered")
    ]
    delivered = {r.stop_id: r for name, r in reports if name == "stop_delivered"}
    assert (delivered["w1"].quantity, delivered["w1"].transfer_id, delivered["o1"].quantity) == (
        20,
        "t1",
        3,
    )
    acks = {m.cmd_id: m for m in got if isinstance(m, CommandAck)}
    assert acks["r1"].ok
    assert acks["r2"].reason == "stop 0 'atlantis' is unknown to this vehicle"


def warehouse_toml(path: Path, site: str, broker: Broker, dock: Path) -> Path:
    path.write_text(
        f"""
[node]
site = "{site}"
node = "w1"
kind = "warehouse"
[mqtt]
broker = "{broker.url}"
reconnect_base_s = 0.1
reconnect_cap_s = 1.0
[outbox]
state_dir = "{path.parent / "w1"}"
[sampling]
interval_ms = 100
[batching]
max_age_ms = 200
[driver]
type = "sim"
skus = 3
dock = "{dock}"
[detectors]
enabled = false
"""
    )
    return path


def receipts(got: list[Message], transfer_id: str) -> set[int]:
    """The seqs of the stock receipts naming `transfer_id` (a replay keeps its seq)."""
    return {m.seq for m in got if isinstance(m, Stock) and m.transfer_id == transfer_id}


def test_a_delivered_transfer_is_received_once_across_a_kill_of_the_warehouse_agent(
    broker: Broker, coordinator: Subscriber, unique_site: str, tmp_path: Path
) -> None:
    """The vehicle delivers transfer t1 at w1; the warehouse agent reports its receipt
    against t1; killed (-9) and restarted, it does not report t1 again, and receives t2."""
    config = warehouse_toml(tmp_path / "w1.toml", unique_site, broker, tmp_path / "dock")
    warehouse = start_agent(config, tmp_path / "w1.log")
    vehicle = AgentThread(vehicle_config(unique_site, broker, tmp_path)).start()
    try:
        route = {"version": 1, "vehicle_id": "v1", "depot_id": "depot", "stops": STOPS[:2]}
        command(coordinator, unique_site, "v1", "route", "r1", route)
        got = coordinator.wait_for(lambda g: bool(receipts(g, "t1")), timeout_s=60)
        [receipt] = [m for m in got if isinstance(m, Stock) and m.transfer_id == "t1"]
        assert (receipt.items, receipt.mode, receipt.node) == ({"SKU-0001": 20}, "delta", "w1")
        stop_agent(warehouse, kill=True)
        warehouse = start_agent(config, tmp_path / "w1.log")
        second = [{**STOPS[1], "transfer_id": "t2", "quantity": 7}]
        command(
            coordinator, unique_site, "v1", "route", "r2", {**route, "version": 2, "stops": second}
        )
        got = coordinator.wait_for(lambda g: bool(receipts(g, "t2")), timeout_s=60)
    finally:
        vehicle.stop()
        stop_agent(warehouse)
    assert receipts(got, "t1") == {receipt.seq}
    assert len(receipts(got, "t2")) == 1
    assert not (tmp_path / "dock" / "w1" / "t1.json").exists()


def machine_toml(path: Path, site: str, broker: Broker) -> Path:
    path.write_text(
        f"""
[node]
site = "{site}"
node = "m1"
kind = "machine"
[mqtt]
broker = "{broker.url}"
reconnect_base_s = 0.1
reconnect_cap_s = 1.0
[outbox]
state_dir = "{path.parent / "m1"}"
[sampling]
interval_ms = 100
[batching]
max_age_ms = 200
[driver]
type = "sim"
seed = 4
speed = 30.0
[detectors]
enabled = false
"""
    )
    return path


def test_a_machine_agent_killed_mid_operation_resumes_it_with_nothing_lost_or_doubled(
    broker: Broker, coordinator: Subscriber, unique_site: str, tmp_path: Path
) -> None:
    """kill -9 of the agent process mid-operation, then a restart: each operation starts
    once and finishes once with its quantity of good parts, and the counts reported never
    step back (the machine resumed at the counts it had reported)."""
    config = machine_toml(tmp_path / "m1.toml", unique_site, broker)
    agent = start_agent(config, tmp_path / "m1.log")
    try:
        ops = [("j1", 60, "bolts"), ("j2", 20, "nuts")]
        command(coordinator, unique_site, "m1", "schedule", "s1", schedule("m1", ops))
        coordinator.wait_for(
            lambda g: any(
                OperationReport.from_data(e.data).good >= 10
                for e in events(g, "m1", "operation_counts")
            ),
            timeout_s=60,
        )
        stop_agent(agent, kill=True)
        agent = start_agent(config, tmp_path / "m1.log")
        got = coordinator.wait_for(finished("m1", 2), timeout_s=90)
    finally:
        stop_agent(agent)
    reports = [(e.name, OperationReport.from_data(e.data)) for e in events(got, "m1", "operation_")]
    assert [r.job_id for name, r in reports if name == "operation_started"] == ["j1", "j2"]
    assert [(r.job_id, r.good) for name, r in reports if name == "operation_finished"] == [
        ("j1", 60),
        ("j2", 20),
    ]
    for job in ("j1", "j2"):
        made = [r.good + r.scrap for _, r in reports if r.job_id == job]
        assert made == sorted(made)
