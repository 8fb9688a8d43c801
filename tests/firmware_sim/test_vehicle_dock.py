"""A simulated vehicle driving its route on the simulation clock, and the dock where it
leaves transfers for a simulated warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_sim import SimConfigError
from firmware_sim.dock import Dock
from firmware_sim.vehicle import Stop, StopChange, Vehicle, VehicleParams, great_circle_km
from firmware_sim.warehouse import MicroWarehouse

DEPOT = (45.07, 7.68)
STOPS = (
    Stop("w1", 45.10, 7.70, quantity=30, transfer_id="t1", sku="SKU-0001"),
    Stop("o1", 45.05, 7.65, quantity=2),
    Stop("o2", 45.00, 7.60, quantity=1),
)


def drive(vehicle: Vehicle, until_s: float, step_s: float = 10.0) -> list[StopChange]:
    changes: list[StopChange] = []
    t = vehicle.t_s
    while t < until_s:
        t = min(until_s, t + step_s)
        changes += vehicle.advance_to(t)
    return changes


def test_great_circle_distance_matches_a_known_pair() -> None:
    """Paris–London is about 344 km along the great circle."""
    assert great_circle_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(344, abs=2)


def test_the_vehicle_serves_its_stops_in_order_at_its_speed() -> None:
    """Arrived then delivered per stop, in order; a leg lasts distance × detour ÷ speed."""
    params = VehicleParams(speed_kmh=36.0, service_s=60.0, detour_factor=1.2, traffic_sigma=0.0)
    vehicle = Vehicle(seed=1, lat=DEPOT[0], lon=DEPOT[1], params=params)
    vehicle.load_route(1, STOPS)
    changes = drive(vehicle, 20_000.0)
    assert [(c.change, c.stop.stop_id) for c in changes] == [
        (kind, stop.stop_id) for stop in STOPS for kind in ("arrived", "delivered")
    ]
    leg_s = great_circle_km(*DEPOT, STOPS[0].lat, STOPS[0].lon) * 1.2 / 36.0 * 3600.0
    assert changes[0].t_s == pytest.approx(leg_s, abs=0.01)
    assert changes[1].t_s - changes[0].t_s == pytest.approx(60.0)
    assert (vehicle.lat, vehicle.lon) == (STOPS[-1].lat, STOPS[-1].lon)
    assert vehicle.stops_left() == 0


def test_position_moves_along_the_leg_and_traffic_is_seeded() -> None:
    """Half-way through a leg the vehicle is between its ends; traffic varies by seed only."""

    def first_arrival(seed: int) -> float:
        vehicle = Vehicle(seed=seed, lat=DEPOT[0], lon=DEPOT[1])
        vehicle.load_route(1, STOPS[:1])
        return drive(vehicle, 20_000.0)[0].t_s

    assert first_arrival(3) == first_arrival(3)
    assert first_arrival(3) != first_arrival(4)
    vehicle = Vehicle(seed=3, lat=DEPOT[0], lon=DEPOT[1])
    vehicle.load_route(1, STOPS[:1])
    vehicle.advance_to(first_arrival(3) / 2)
    assert DEPOT[0] < vehicle.lat < STOPS[0].lat


def test_deliveries_fail_at_the_failure_rate_with_a_reason() -> None:
    """With failure rate 1 every delivery fails with a reason; pickups never do."""
    vehicle = Vehicle(seed=1, lat=DEPOT[0], lon=DEPOT[1], params=VehicleParams(failure_rate=1.0))
    vehicle.load_route(1, (Stop("f1", 45.08, 7.69, action="pickup", quantity=3), STOPS[1]))
    changes = [c for c in drive(vehicle, 20_000.0) if c.change != "arrived"]
    assert [(c.change, bool(c.reason)) for c in changes] == [("delivered", False), ("failed", True)]


def test_a_new_route_starts_from_where_the_vehicle_is() -> None:
    """Mid-leg, a new route replaces the stops ahead and the vehicle heads for its first."""
    vehicle = Vehicle(seed=1, lat=DEPOT[0], lon=DEPOT[1])
    vehicle.load_route(1, STOPS)
    drive(vehicle, 60.0)
    here = (vehicle.lat, vehicle.lon)
    assert here != DEPOT
    vehicle.load_route(2, STOPS[2:])
    changes = drive(vehicle, 20_000.0)
    assert [(c.change, c.stop.stop_id, c.version) for c in changes] == [
        ("arrived", "o2", 2),
        ("delivered", "o2", 2),
    ]


def test_a_restored_vehicle_drives_on_from_where_it_was() -> None:
    """Retained mid-route and restored: the remaining stops are served as without a restart."""
    whole = Vehicle(seed=2, lat=DEPOT[0], lon=DEPOT[1])
    whole.load_route(1, STOPS)
    expected = [(c.change, c.stop.stop_id, round(c.t_s, 6)) for c in drive(whole, 20_000.0)]
    first = Vehicle(seed=2, lat=DEPOT[0], lon=DEPOT[1])
    first.load_route(1, STOPS)
    head = drive(first, 700.0)
    second = Vehicle(seed=2, lat=0.0, lon=0.0)
    second.restore(first.retained())
    second.t_s = first.t_s
    tail = drive(second, 20_000.0)
    assert [(c.change, c.stop.stop_id, round(c.t_s, 6)) for c in head + tail] == expected


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: VehicleParams(speed_kmh=0.0), "speed_kmh"),
        (lambda: VehicleParams(detour_factor=float("nan")), "detour_factor"),
        (lambda: Stop("x", 91.0, 0.0), "lat"),
        (lambda: Stop("", 1.0, 0.0), "stop_id"),
        (lambda: Stop("x", 1.0, 0.0, quantity=-1), "quantity"),
        (lambda: Vehicle(seed=1, lat=0, lon=0).restore({"version": 1}), "retained"),
        (
            lambda: Vehicle(seed=1, lat=0, lon=0).restore(
                {**Vehicle(seed=1, lat=0, lon=0).retained(), "phase": "flying"}
            ),
            "retained",
        ),
    ],
)
def test_bad_vehicle_inputs_are_refused(build: object, field: str) -> None:
    """Out-of-range parameters, stops and retained states raise SimConfigError."""
    with pytest.raises(SimConfigError) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field


def test_a_dropped_transfer_waits_once_and_is_cleared(tmp_path: Path) -> None:
    """Dropping twice leaves one transfer; removing clears it; a warehouse stocks it."""
    dock = Dock(tmp_path)
    dock.drop("w1", "t1", {"SKU-0001": 30})
    dock.drop("w1", "t1", {"SKU-0001": 99})
    assert dock.waiting("w1") == {"t1": {"SKU-0001": 30}}
    assert dock.waiting("w2") == {}
    warehouse = MicroWarehouse(skus=("SKU-0001",), seed=1)
    before = warehouse.stock["SKU-0001"]
    changes = warehouse.receive_transfer(0.0, {"SKU-0001": 30, "SKU-NEW": 2})
    assert warehouse.stock["SKU-0001"] == before + 30
    assert warehouse.stock["SKU-NEW"] == 2
    assert [c.reason for c in changes] == ["receipt", "receipt"]
    dock.remove("w1", "t1")
    dock.remove("w1", "t1")
    assert dock.waiting("w1") == {}


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[1, 2]", b'{"SKU": -1}', b'{"SKU": 1.5}', b"{}", b'{"a b": 1}', b"x" * 70_000],
)
def test_hostile_dock_files_are_skipped(tmp_path: Path, content: bytes) -> None:
    """Garbage, negative, fractional, empty, badly named or oversized transfers are ignored."""
    (tmp_path / "w1").mkdir()
    (tmp_path / "w1" / "t1.json").write_bytes(content)
    (tmp_path / "w1" / "bad name.json").write_bytes(b'{"a": 1}')
    assert Dock(tmp_path).waiting("w1") == {}


@pytest.mark.parametrize(("place", "transfer"), [("../etc", "t1"), ("w1", "../../x"), ("..", "t")])
def test_dock_ids_cannot_leave_the_dock(tmp_path: Path, place: str, transfer: str) -> None:
    """Path-like place or transfer ids are refused."""
    with pytest.raises(SimConfigError):
        Dock(tmp_path).drop(place, transfer, {"a": 1})


def test_a_pickup_is_carried_to_the_depot_and_unloaded_there_once() -> None:
    """A transfer picked up at a factory rides in the cargo (kept through a restore) and is
    unloaded at the route's depot stop, named in that stop's change; nothing is unloaded
    twice."""
    params = VehicleParams(speed_kmh=36.0, service_s=60.0, traffic_sigma=0.0)
    vehicle = Vehicle(seed=1, lat=DEPOT[0], lon=DEPOT[1], params=params)
    factory = Stop("t.job-1", 45.10, 7.70, "pickup", 12, "t.job-1", "SKU-0002")
    home = Stop("depot", DEPOT[0], DEPOT[1], "depot")
    vehicle.load_route(1, [factory, home])
    changes = drive(vehicle, 900.0)
    picked = [c for c in changes if c.stop.stop_id == "t.job-1" and c.change == "delivered"]
    assert picked
    assert vehicle.cargo == {"t.job-1": {"SKU-0002": 12}}
    assert all(c.unloaded == () for c in changes)
    kept = vehicle.retained()
    again = Vehicle(seed=1, lat=0.0, lon=0.0, params=params)
    again.restore(kept)
    assert again.cargo == {"t.job-1": {"SKU-0002": 12}}
    changes = drive(again, 3600.0)
    unloaded = [c.unloaded for c in changes if c.change == "delivered"]
    assert unloaded == [(("t.job-1", (("SKU-0002", 12),)),)]
    assert again.cargo == {}
    again.load_route(2, [home])
    assert all(c.unloaded == () for c in drive(again, 7200.0))


def test_a_vehicle_state_kept_before_cargo_existed_restores_empty() -> None:
    """A retained state without a cargo (kept by an older agent) restores with none; a
    hostile cargo is refused as not a vehicle state."""
    vehicle = Vehicle(seed=1, lat=DEPOT[0], lon=DEPOT[1])
    kept = vehicle.retained()
    del kept["cargo"]
    vehicle.restore(kept)
    assert vehicle.cargo == {}
    with pytest.raises(SimConfigError):
        vehicle.restore({**kept, "cargo": {"t1": {"SKU": "many"}}})
    with pytest.raises(SimConfigError):
        vehicle.restore({**kept, "cargo": ["t1"]})


def test_a_new_tour_sent_before_the_van_reached_its_depot_unloads_there_first() -> None:
    """Transfers on board and the depot stop still ahead: a new route (its next tour) does
    not take the goods along on it; the van drives to the depot, unloads, then drives the
    new stops. Without cargo, or when the new route starts at a depot, it heads straight
    for the new route's first stop."""
    params = VehicleParams(speed_kmh=36.0, service_s=60.0, traffic_sigma=0.0)
    factory = Stop("t.job-1", 45.10, 7.70, "pickup", 12, "t.job-1", "SKU-0002")
    home = Stop("depot", DEPOT[0], DEPOT[1], "depot")
    customer = Stop("o1", 45.05, 7.65, quantity=2)

    def next_tour(first: Stop, tour: list[Stop]) -> tuple[list[tuple[str, str]], object]:
        vehicle = Vehicle(seed=1, lat=DEPOT[0], lon=DEPOT[1], params=params)
        vehicle.load_route(1, [first, home])
        served: list[StopChange] = []
        while not any(c.change == "delivered" for c in served):  # the first stop served
            served += vehicle.advance_to(vehicle.t_s + 5.0)
        vehicle.load_route(2, tour)  # on its way back
        seen: list[tuple[str, str]] = [
            (c.change, c.stop.stop_id) for c in drive(vehicle, vehicle.t_s + 20_000.0)
        ]
        return seen, vehicle.cargo

    unload_then_deliver = [
        ("arrived", "depot"),
        ("delivered", "depot"),
        ("arrived", "o1"),
        ("delivered", "o1"),
    ]
    for tour in ([customer, home], [home, customer]):
        seen, cargo = next_tour(factory, tour)
        assert (seen[:4], cargo) == (unload_then_deliver, {})
    seen, _ = next_tour(customer, [customer, home])
    assert seen[:2] == [("arrived", "o1"), ("delivered", "o1")]
