"""A vehicle agent drives its route and reports stops; a warehouse agent receives the
transfers left on its dock and reports each receipt once, across a kill -9."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_agent.drivers.sim_vehicle import SimVehicleDriver
from edge_agent.transport import MemoryTransport
from firmware_sim.dock import Dock
from protocol import Command, CommandAck, Event, Stock, StopReport, Telemetry, command_topic, encode
from tests.edge_agent.conftest import MakeCore, messages, run_for

TS = 1_700_000_000_000
VEHICLE: dict[str, Any] = {
    "node": {"kind": "vehicle"},
    "driver": {
        "lat": 45.07, "lon": 7.68, "speed_kmh": 3600.0, "service_s": 5.0,
        "places": {"depot": [45.07, 7.68]},
    },
}  # fmt: skip
STOPS: list[Any] = [
    {"stop_id": "w1", "lat": 45.08, "lon": 7.69, "quantity": 30, "transfer_id": "t1", "sku": "SKU-0001"},
    {"stop_id": "o1", "lat": 45.06, "lon": 7.67, "quantity": 2},
    "depot",
]  # fmt: skip


def send(transport: MemoryTransport, name: str, cmd_id: str, args: dict[str, Any]) -> None:
    command = Command(site="s1", node="n1", name=name, cmd_id=cmd_id, ts=TS, args=args)
    transport.feed(command_topic("s1", "n1", name), encode(command))


def route(version: int, stops: list[Any]) -> dict[str, Any]:
    return {"version": version, "vehicle_id": "n1", "depot_id": "depot", "stops": stops}


def acks(transport: MemoryTransport) -> dict[str, CommandAck]:
    return {m.cmd_id: m for m in messages(transport) if isinstance(m, CommandAck)}


def test_a_vehicle_drives_its_route_and_reports_position_and_stops(
    make_core: MakeCore, tmp_path: Path
) -> None:
    """Located and known bare stops are driven in order: arrived and delivered events with
    the quantity, lat/lon samples moving, the transfer left on the dock of its place."""
    core, transport, clock = make_core(
        node=VEHICLE["node"], driver={**VEHICLE["driver"], "dock": str(tmp_path / "dock")}
    )
    core.tick()
    transport.accept()
    send(transport, "route", "r1", route(1, STOPS))
    run_for(core, clock, 120.0, step_s=0.5)
    assert acks(transport)["r1"].ok
    stops = [
        (m.name, StopReport.from_data(m.data)) for m in messages(transport) if isinstance(m, Event)
    ]
    assert [(name, r.stop_id) for name, r in stops] == [
        (kind, stop)
        for stop in ("w1", "o1", "depot")
        for kind in ("stop_arrived", "stop_delivered")
    ]
    delivered = {r.stop_id: r for name, r in stops if name == "stop_delivered"}
    assert (delivered["w1"].quantity, delivered["w1"].transfer_id) == (30, "t1")
    assert delivered["o1"].quantity == 2
    lats = {
        v
        for m in messages(transport)
        if isinstance(m, Telemetry)
        for s, _, v in m.samples
        if s == "lat"
    }
    assert len(lats) > 3
    assert Dock(tmp_path / "dock").waiting("w1") == {"t1": {"SKU-0001": 30}}


def test_a_transfer_picked_up_at_a_factory_is_left_at_the_depot_the_route_ends_at(
    make_core: MakeCore, tmp_path: Path
) -> None:
    """A pickup stop loads the transfer; the depot stop at the end of the route leaves it on
    the dock for that depot's warehouse (and not at the factory)."""
    core, transport, clock = make_core(
        node=VEHICLE["node"], driver={**VEHICLE["driver"], "dock": str(tmp_path / "dock")}
    )
    core.tick()
    transport.accept()
    stops = [
        {"stop_id": "t.job-1", "lat": 45.08, "lon": 7.69, "quantity": 5, "action": "pickup",
         "transfer_id": "t.job-1", "sku": "SKU-0002"},
        {"stop_id": "depot", "lat": 45.07, "lon": 7.68, "action": "depot"},
    ]  # fmt: skip
    send(transport, "route", "r1", route(1, stops))
    run_for(core, clock, 120.0, step_s=0.5)
    assert acks(transport)["r1"].ok
    dock = Dock(tmp_path / "dock")
    assert dock.waiting("t.job-1") == {}
    assert dock.waiting("depot") == {"t.job-1": {"SKU-0002": 5}}


def test_a_route_with_an_unknown_stop_is_nacked_and_the_vehicle_drives_on(
    make_core: MakeCore,
) -> None:
    """A bare stop the vehicle cannot locate refuses the route; the current one goes on."""
    core, transport, clock = make_core(**VEHICLE)
    core.tick()
    transport.accept()
    send(transport, "route", "r1", route(1, STOPS[:2]))
    run_for(core, clock, 1.0, step_s=0.5)
    send(transport, "route", "r2", route(2, ["nowhere"]))
    run_for(core, clock, 1.0, step_s=0.5)
    assert acks(transport)["r2"].reason == "stop 0 'nowhere' is unknown to this vehicle"
    driver = core.driver
    assert isinstance(driver, SimVehicleDriver)
    assert driver.vehicle.version == 1
    send(transport, "route", "r3", route(3, [{**STOPS[1], "lat": 95.0}]))
    run_for(core, clock, 0.5)
    assert "outside" in acks(transport)["r3"].reason
    send(transport, "route", "r4", {**route(4, []), "vehicle_id": "v9"})
    run_for(core, clock, 0.5)
    assert "names vehicle 'v9'" in acks(transport)["r4"].reason
    assert driver.vehicle.version == 1


def _receipts(transport: MemoryTransport) -> list[Stock]:
    return [m for m in messages(transport) if isinstance(m, Stock) and m.transfer_id]


def test_a_warehouse_reports_a_receipt_once_across_a_kill(
    make_core: MakeCore, tmp_path: Path
) -> None:
    """A transfer on the dock becomes one stock delta naming it; killed right after the
    receipt was stored (the dock not cleared yet), the restarted agent does not send it again."""
    dock = Dock(tmp_path / "dock")
    sections: dict[str, Any] = {
        "node": {"kind": "warehouse", "node": "w1"},
        "driver": {"skus": 3, "dock": str(tmp_path / "dock")},
    }
    core, transport, clock = make_core(**sections)
    core.tick()
    transport.accept()
    run_for(core, clock, 1.0)
    dock.drop("w1", "t1", {"SKU-0001": 30})
    core.tick()
    clock.advance(0.1)
    core.tick()  # one poll: the receipt is stored, the dock not yet cleared
    assert [(r.transfer_id, r.items, r.mode) for r in _receipts(transport)] == [
        ("t1", {"SKU-0001": 30}, "delta")
    ]
    first_seq = _receipts(transport)[0].seq
    assert dock.waiting("w1")  # still there: cleared only on the next poll
    # kill -9: the core is abandoned; a new agent starts on the same state directory
    again, transport2, clock2 = make_core(clock=clock, **sections)
    again.tick()
    transport2.accept()
    run_for(again, clock2, 2.0)
    assert [r.transfer_id for r in _receipts(transport2) if not r.historical] == []
    assert dock.waiting("w1") == {}
    dock.drop("w1", "t2", {"SKU-0002": 5})
    run_for(again, clock2, 1.0)
    live = [r.transfer_id for r in _receipts(transport2) if not r.historical]
    assert live == ["t2"]  # t1 only replayed with its first seq (unacknowledged then)
    assert {r.seq for r in _receipts(transport2) if r.transfer_id == "t1"} <= {first_seq}
