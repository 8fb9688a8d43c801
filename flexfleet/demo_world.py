"""The demo's world (pure): where its factories, machines, micro-warehouses and vehicles
are, the products they make, and the documents that declare it all through the API.

Two factories near Yiwu with three machines each, two micro-warehouses, three vans based
at the warehouses, six SKUs in two product families (each made on one machine step at any
factory). Every node id is the agent's node id, so the network, the recipes and the fleet
name the devices the demo starts. `agent_toml` writes one agent's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

SITE_CENTRE: Final = (29.31, 120.07)  # Yiwu


@dataclass(frozen=True, slots=True)
class Place:
    """A node of the demo and where it is."""

    node: str
    kind: str  # machine | warehouse | vehicle
    lat: float
    lon: float
    group: str = ""  # the factory of a machine, the depot of a vehicle


@dataclass(frozen=True)
class World:
    """How many of each the demo runs."""

    factories: int = 2
    machines_per_factory: int = 3
    warehouses: int = 2
    vehicles: int = 3
    skus: int = 10
    stocked_skus: int = 6

    def __post_init__(self) -> None:
        if not 1 <= self.factories <= 9 or not 1 <= self.machines_per_factory <= 20:
            raise ValueError("the demo runs 1..9 factories of 1..20 machines")
        if not 1 <= self.warehouses <= 9 or not 0 <= self.vehicles <= 20:
            raise ValueError("the demo runs 1..9 warehouses and 0..20 vehicles")
        if not 1 <= self.stocked_skus <= self.skus <= 20:
            raise ValueError("the demo sells 1..20 SKUs, the warehouses stock 1.. of them")

    def factory_ids(self) -> list[str]:
        """Factory ids, `factory-A`, `factory-B`, ..."""
        return [f"factory-{chr(ord('A') + i)}" for i in range(self.factories)]

    def places(self) -> list[Place]:
        """Every node with its place: machines (by factory), warehouses, vehicles."""
        lat0, lon0 = SITE_CENTRE
        found: list[Place] = []
        for f, factory in enumerate(self.factory_ids()):
            flat, flon = lat0 - 0.03 + 0.06 * f, lon0 - 0.05 + 0.1 * f
            for m in range(self.machines_per_factory):
                node = f"machine-{f * self.machines_per_factory + m + 1:02d}"
                found.append(Place(node, "machine", flat, flon, factory))
        for w in range(self.warehouses):
            found.append(Place(f"warehouse-{w + 1:02d}", "warehouse", lat0 + 0.04 * w, lon0))
        for v in range(self.vehicles):
            depot = f"warehouse-{v % self.warehouses + 1:02d}"
            home = next(p for p in found if p.node == depot)
            found.append(Place(f"van-{v + 1:02d}", "vehicle", home.lat, home.lon, depot))
        return found

    def skus_sold(self) -> list[str]:
        """The SKUs the storefront sells: the simulated warehouses stock the first
        `stocked_skus` of them, the others are made to order."""
        return [f"SKU-{i + 1:04d}" for i in range(self.skus)]

    def family(self, sku_index: int) -> str:
        """Product family of the i-th SKU: half `cups`, half `bowls`."""
        return "cups" if sku_index < (self.skus + 1) // 2 else "bowls"


SECONDS_PER_UNIT: Final = 6.0  # the simulated machines' cycle time
SETUP_S: Final = 60.0
VAN_CAPACITY: Final = 1000
VAN_SPEED_KMH: Final = 40.0
SERVICE_S: Final = 120.0


def network_document(world: World) -> dict[str, Any]:
    """`PUT /api/v1/network`: factories with their machines, warehouses, who makes what."""
    places = world.places()
    factories = []
    for factory in world.factory_ids():
        machines = [p for p in places if p.group == factory and p.kind == "machine"]
        factories.append(
            {
                "id": factory,
                "location": {"lat": machines[0].lat, "lon": machines[0].lon},
                "machines": [p.node for p in machines],
            }
        )
    warehouses = [
        {"id": p.node, "location": {"lat": p.lat, "lon": p.lon}, "nodes": [p.node]}
        for p in places
        if p.kind == "warehouse"
    ]
    products = [{"sku": sku, "factories": world.factory_ids()} for sku in world.skus_sold()]
    return {"factories": factories, "warehouses": warehouses, "products": products}


def products_document(world: World) -> dict[str, Any]:
    """`PUT /api/v1/plans/products`: each SKU one step on any machine, by family; the
    times in seconds of the demo's clock, on which the machines live."""
    machines = [p.node for p in world.places() if p.kind == "machine"]
    return {
        "products": [
            {
                "sku": sku,
                "family": world.family(i),
                "operations": [
                    {
                        "options": [
                            {
                                "machine": m,
                                "duration_s_per_unit": SECONDS_PER_UNIT,
                                "setup_s": SETUP_S,
                            }
                            for m in machines
                        ]
                    }
                ],
                "replenish": "off",
            }
            for i, sku in enumerate(world.skus_sold())
        ]
    }


def fleet_document(world: World) -> dict[str, Any]:
    """`PUT /api/v1/plans/fleet`: the warehouses as depots, the vans based at them."""
    places = world.places()
    return {
        "depots": [
            {"id": p.node, "location": {"lat": p.lat, "lon": p.lon}}
            for p in places
            if p.kind == "warehouse"
        ],
        "vehicles": [
            {"id": p.node, "depot_id": p.group, "capacity": VAN_CAPACITY}
            for p in places
            if p.kind == "vehicle"
        ],
    }


def agent_toml(
    place: Place,
    *,
    site: str,
    broker_url: str,
    username: str,
    password_file: Path,
    state_dir: Path,
    dock: Path,
    seed: int,
    speed: float,
    skus: int,
) -> str:
    """One agent's configuration: its login, outbox, and simulated device. The agent runs
    on the demo's clock (`speed` times faster than wall time), on which machines and
    vehicles live; the warehouses' own retail demand runs at wall time (driver speed
    1/`speed`, so the shelves are not emptied by it before orders arrive)."""
    driver = [
        'type = "sim"',
        f"seed = {seed}",
        f'dock = "{dock}"',
        f"speed = {1.0 if place.kind != 'warehouse' else 1.0 / speed!r}",
    ]
    if place.kind == "warehouse":
        driver.append(f"skus = {skus}")
    if place.kind == "vehicle":
        driver += [f"lat = {place.lat}", f"lon = {place.lon}", f"speed_kmh = {VAN_SPEED_KMH}"]
        driver += [f"service_s = {SERVICE_S}", "failure_rate = 0.05"]
    return "\n".join(
        [
            "[node]",
            f'site = "{site}"',
            f'node = "{place.node}"',
            f'kind = "{place.kind}"',
            'firmware = "flexfleet-sim/0.1"',
            "[mqtt]",
            f'broker = "{broker_url}"',
            f'username = "{username}"',
            f'password_file = "{password_file}"',
            "[outbox]",
            f'state_dir = "{state_dir}"',
            "[sampling]",
            "interval_ms = 200",
            "[batching]",
            "max_age_ms = 200",
            "[driver]",
            *driver,
            "",
        ]
    )


__all__ = [
    "Place",
    "World",
    "agent_toml",
    "fleet_document",
    "network_document",
    "products_document",
]
