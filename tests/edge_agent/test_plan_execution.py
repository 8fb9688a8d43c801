"""The agent hands accepted plans to its device: a simulated machine runs its schedule and
reports operations and counts; bad plans are nacked and the device keeps its work; a
killed agent resumes the operation with nothing lost or counted twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge_agent.config import config_from_dict
from edge_agent.core import AgentCore
from edge_agent.drivers.sim import SimMachinesDriver
from edge_agent.execution import MemoryExecutor
from edge_agent.outbox import Outbox
from edge_agent.transport import MemoryTransport
from fleet_runtime.clock import FakeClock
from protocol import Command, CommandAck, Event, OperationReport, Telemetry, command_topic, encode
from tests.edge_agent.conftest import MakeCore, agent_config, messages, run_for

TS = 1_700_000_000_000
OPS = [
    {"operation_id": "j1:0", "job_id": "j1", "start": 0, "end": 5, "quantity": 8, "family": "a"},
    {"operation_id": "j2:0", "job_id": "j2", "start": 5, "end": 9, "setup": 1, "quantity": 5, "family": "b"},
]  # fmt: skip


def schedule_args(
    version: int, operations: list[dict[str, Any]], machine: str = "n1"
) -> dict[str, Any]:
    return {"version": version, "machine_id": machine, "epoch_ms": TS, "time_unit_s": 30.0, "operations": operations}  # fmt: skip


def send(transport: MemoryTransport, name: str, cmd_id: str, args: dict[str, Any]) -> None:
    command = Command(site="s1", node="n1", name=name, cmd_id=cmd_id, ts=TS, args=args)
    transport.feed(command_topic("s1", "n1", name), encode(command))


def acks(transport: MemoryTransport) -> dict[str, CommandAck]:
    return {m.cmd_id: m for m in messages(transport) if isinstance(m, CommandAck)}


def reports(transport: MemoryTransport) -> list[tuple[str, OperationReport]]:
    """Operation events published, once per seq (a replay is not a second report)."""
    seen: dict[int, tuple[str, OperationReport]] = {}
    for m in messages(transport):
        if isinstance(m, Event) and m.name.startswith("operation_"):
            seen[m.seq] = (m.name, OperationReport.from_data(m.data))
    return [seen[k] for k in sorted(seen)]


def connected(make_core: MakeCore, **sections: Any) -> tuple[AgentCore, MemoryTransport, FakeClock]:
    core, transport, clock = make_core(**sections)
    core.tick()
    transport.accept()
    run_for(core, clock, 0.5)
    return core, transport, clock


def test_a_schedule_is_run_and_reported_operation_by_operation(make_core: MakeCore) -> None:
    """Started, counts and finished events per operation, in order, with job, family and
    counts; good parts reach each quantity; the op_* signals follow."""
    core, transport, clock = connected(make_core)
    send(transport, "schedule", "s1", schedule_args(1, OPS))
    run_for(core, clock, 200.0, step_s=0.5)
    assert acks(transport)["s1"].ok
    got = reports(transport)
    names = [name for name, _ in got]
    assert names[0] == "operation_started"
    assert names.count("operation_finished") == 2
    finished = [r for name, r in got if name == "operation_finished"]
    assert [(r.job_id, r.family, r.good, r.index) for r in finished] == [
        ("j1", "a", 8, 0),
        ("j2", "b", 5, 1),
    ]
    counts = [r for name, r in got if name == "operation_counts" and r.job_id == "j1"]
    assert [r.good + r.scrap for r in counts] == sorted(r.good + r.scrap for r in counts)
    assert "setup" in {r.state for name, r in got if r.job_id == "j2"}  # family change
    samples = [s for m in messages(transport) if isinstance(m, Telemetry) for s in m.samples]
    assert ("op_good", 5.0) in {(name, value) for name, _, value in samples}


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (schedule_args(2, OPS, machine="m9"), "names machine 'm9'"),
        (
            schedule_args(2, [{k: v for k, v in OPS[0].items() if k != "quantity"}]),
            "has no quantity",
        ),
        (schedule_args(2, [OPS[0], OPS[0]]), "appears twice"),
    ],
)
def test_a_bad_schedule_is_nacked_and_the_machine_keeps_its_work(
    make_core: MakeCore, args: dict[str, Any], reason: str
) -> None:
    """Another machine's schedule, an operation without a quantity or a duplicated
    operation: a nack with the reason; the running operation goes on untouched."""
    core, transport, clock = connected(make_core)
    send(transport, "schedule", "ok", schedule_args(1, OPS))
    run_for(core, clock, 20.0, step_s=0.5)
    driver = core.driver
    assert isinstance(driver, SimMachinesDriver)
    before = driver.machines[0].progress()
    send(transport, "schedule", "bad", args)
    run_for(core, clock, 1.0, step_s=0.5)
    ack = acks(transport)["bad"]
    assert not ack.ok
    assert reason in ack.reason
    after = driver.machines[0].progress()
    assert before is not None
    assert after is not None
    assert (after.version, after.operation.operation_id) == (1, before.operation.operation_id)
    assert core.plans["schedule:n1"].version == 1


def test_a_route_sent_to_a_machine_is_nacked(make_core: MakeCore) -> None:
    """A machine drives no route: nack with the reason."""
    core, transport, clock = connected(make_core)
    send(transport, "route", "r1", {"version": 1, "vehicle_id": "n1", "depot_id": "d", "stops": []})
    run_for(core, clock, 0.5)
    assert acks(transport)["r1"].reason == "a machine drives no route"


def test_a_killed_agent_resumes_the_operation_with_nothing_lost_or_counted_twice(
    make_core: MakeCore, tmp_path: Path
) -> None:
    """kill -9 mid-operation: the new agent's machine takes up the same operation at the
    counts reported last; the final counts equal those of a run never interrupted."""
    core, transport, clock = connected(make_core)
    send(transport, "schedule", "s1", schedule_args(1, OPS))
    run_for(core, clock, 30.0, step_s=0.5)
    reported = reports(transport)
    last = reported[-1][1]
    assert last.job_id == "j1"
    assert 0 < last.good < 8
    # kill -9: the core is dropped without close(); only the outbox file remains
    again, transport2, clock2 = make_core(clock=clock)
    driver = again.driver
    assert isinstance(driver, SimMachinesDriver)
    resumed = driver.machines[0].progress()
    assert resumed is not None
    assert (resumed.operation.operation_id, resumed.good, resumed.scrap) == (
        "j1:0",
        last.good,
        last.scrap,
    )
    again.tick()
    transport2.accept()
    run_for(again, clock2, 200.0, step_s=0.5)
    after = [r for name, r in reports(transport2) if r.job_id in ("j1", "j2")]
    finished = [r for name, r in reports(transport2) if name == "operation_finished"]
    assert [(r.job_id, r.good) for r in finished] == [("j1", 8), ("j2", 5)]
    assert all(r.good + r.scrap >= last.good + last.scrap for r in after if r.job_id == "j1")

    # the same schedule never interrupted, same seed: the same counts
    reference = make_reference(tmp_path)
    assert [(r.job_id, r.good, r.scrap) for r in finished] == reference


def make_reference(tmp_path: Path) -> list[tuple[str, int, int]]:
    config = agent_config(tmp_path / "reference")
    clock = FakeClock()
    transport = MemoryTransport()
    driver = SimMachinesDriver(machines=1, seed=3, start_s=clock.now())
    outbox = Outbox(config.outbox.state_dir / "outbox.sqlite3")
    core = AgentCore(config, clock=clock, transport=transport, driver=driver, outbox=outbox)
    core.tick()
    transport.accept()
    run_for(core, clock, 0.5)
    send(transport, "schedule", "s1", schedule_args(1, OPS))
    run_for(core, clock, 230.0, step_s=0.5)
    return [
        (r.job_id, r.good, r.scrap)
        for name, r in reports(transport)
        if name == "operation_finished"
    ]


def test_the_port_hands_plans_to_any_executor_and_gives_its_state_back(tmp_path: Path) -> None:
    """With the in-memory double: a taken plan is stored at once and restored at restart;
    the double's refusal is the nack's reason."""
    config = config_from_dict(
        {
            "node": {"site": "s1", "node": "n1", "kind": "vehicle"},
            "mqtt": {"broker": "mqtt://127.0.0.1:1883", "wait_for_coordinator": False},
            "outbox": {"state_dir": str(tmp_path)},
            "detectors": {"enabled": False},
        }
    )

    def start() -> tuple[AgentCore, MemoryTransport, MemoryExecutor]:
        clock, transport, executor = FakeClock(), MemoryTransport(), MemoryExecutor()
        driver = SimMachinesDriver(machines=1, seed=1, start_s=clock.now())
        outbox = Outbox(tmp_path / "outbox.sqlite3")
        core = AgentCore(
            config,
            clock=clock,
            transport=transport,
            driver=driver,
            outbox=outbox,
            executor=executor,
        )
        core.tick()
        transport.accept()
        core.tick()
        return core, transport, executor

    core, transport, executor = start()
    route = {"version": 1, "vehicle_id": "n1", "depot_id": "d", "stops": ["x"]}
    send(transport, "route", "r1", route)
    core.tick()
    assert acks(transport)["r1"].ok
    assert [r.stops for r in executor.routes] == [("x",)]
    executor.refuse = "flat tyre"
    send(transport, "route", "r2", {**route, "version": 2})
    core.tick()
    assert acks(transport)["r2"].reason == "flat tyre"
    assert core.plans["route:n1"].version == 1
    _, _, restarted = start()
    assert restarted.restored == [{"schedules": 0, "routes": 1}]
