"""VRPTW instance files: Solomon text, VRPLIB (`.vrp`) and VRPLIB solutions (`.sol`).

Customer ids are strings: Solomon's `CUST NO.`; for VRPLIB, the 1-based position among
the non-depot nodes (the numbering `.sol` files use). Every vehicle starts at the first
depot (neither format assigns vehicles to depots). Malformed input raises
`InstanceFormatError`; too many customers `InstanceTooLargeError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from coordinator.plan.errors import InstanceFormatError, InstanceTooLargeError
from coordinator.plan.routing.problem import Depot, Order, RoutingProblem, Vehicle

__all__ = ["KnownSolution", "parse_solution", "parse_vrplib", "parse_vrptw", "parse_vrptw_solomon"]

MAX_CUSTOMERS = 20_000
MAX_VEHICLES = 10_000


@dataclass(frozen=True, slots=True)
class KnownSolution:
    """A reference solution: routes of customer ids and its cost."""

    routes: tuple[tuple[str, ...], ...]
    cost: float


def _number(token: str, *, source: str, line: int) -> float:
    try:
        value = float(token)
    except ValueError:
        raise InstanceFormatError(
            f"not a number: {token[:20]!r}", source=source, line=line
        ) from None
    if not math.isfinite(value) or abs(value) > 1e9:
        raise InstanceFormatError(f"number out of range: {token[:20]!r}", source=source, line=line)
    return value


def _fleet(count: float, capacity: float, depot: str, *, source: str) -> tuple[Vehicle, ...]:
    if count != int(count) or not 0 < count <= MAX_VEHICLES:
        raise InstanceFormatError(f"vehicle count {count:g} out of range", source=source)
    if capacity != int(capacity) or capacity < 0:
        raise InstanceFormatError(
            f"capacity {capacity:g} must be a whole number ≥ 0", source=source
        )
    return tuple(Vehicle(f"v{k + 1}", depot, int(capacity)) for k in range(int(count)))


def _order(
    oid: str,
    x: float,
    y: float,
    demand: float,
    tw: tuple[float, float],
    service: float,
    *,
    source: str,
    line: int,
) -> Order:
    if demand != int(demand) or demand < 0 or service < 0 or tw[1] < tw[0]:
        raise InstanceFormatError(
            f"customer {oid}: bad demand, service or window", source=source, line=line
        )
    return Order(oid, x, y, int(demand), tw[0], tw[1], service)


def parse_vrptw_solomon(
    text: str, *, source: str = "<input>", max_customers: int = MAX_CUSTOMERS
) -> RoutingProblem:
    """Parse the Solomon text format (depot is customer 0)."""
    lines = text.splitlines()
    name = lines[0].strip() if lines else ""
    rows: list[tuple[int, list[float]]] = []
    fleet: list[float] | None = None
    for no, raw in enumerate(lines, start=1):
        tokens = raw.split()
        if not tokens or not re.fullmatch(r"-?[0-9.]+", tokens[0]):
            continue
        values = [_number(t, source=source, line=no) for t in tokens]
        if fleet is None:
            if len(values) != 2:
                raise InstanceFormatError("expected `vehicles capacity`", source=source, line=no)
            fleet = values
            continue
        if len(values) != 7:
            raise InstanceFormatError(
                f"expected 7 numbers, found {len(values)}", source=source, line=no
            )
        rows.append((no, values))
        if len(rows) > max_customers + 1:
            raise InstanceTooLargeError(f"more than {max_customers} customers", source=source)
    if fleet is None or len(rows) < 1:
        raise InstanceFormatError("missing the vehicle line or the customer table", source=source)
    _, depot_row = rows[0]
    depot = Depot("0", depot_row[1], depot_row[2], depot_row[4], depot_row[5])
    orders = []
    for no, (cid, x, y, demand, ready, due, service) in rows[1:]:
        oid = str(int(cid)) if cid == int(cid) else str(cid)
        orders.append(_order(oid, x, y, demand, (ready, due), service, source=source, line=no))
    return _problem(name, (depot,), orders, _fleet(fleet[0], fleet[1], "0", source=source), source)


def _problem(
    name: str,
    depots: tuple[Depot, ...],
    orders: list[Order],
    vehicles: tuple[Vehicle, ...],
    source: str,
) -> RoutingProblem:
    from coordinator.plan.errors import ProblemError

    try:
        return RoutingProblem(depots, tuple(orders), vehicles, name=name)
    except ProblemError as exc:
        raise InstanceFormatError(exc.reason, source=source) from None


_SECTIONS = (
    "NODE_COORD_SECTION",
    "DEMAND_SECTION",
    "TIME_WINDOW_SECTION",
    "SERVICE_TIME_SECTION",
    "DEPOT_SECTION",
)


def parse_vrplib(
    text: str, *, source: str = "<input>", max_customers: int = MAX_CUSTOMERS
) -> RoutingProblem:
    """Parse a VRPLIB CVRPTW file with EUC_2D distances."""
    header: dict[str, str] = {}
    sections: dict[str, list[tuple[int, list[float]]]] = {}
    current: str | None = None
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line == "EOF":
            continue
        key = line.split()[0].rstrip(":").upper()
        if key in _SECTIONS:
            current = key
            sections[current] = []
        elif ":" in line and not line[0].isdigit() and not line.startswith("-"):
            k, _, v = line.partition(":")
            header[k.strip().upper()] = v.strip()
            current = None
        elif current is not None:
            sections[current].append(
                (no, [_number(t, source=source, line=no) for t in line.split()])
            )
            if len(sections[current]) > max_customers + 100:
                raise InstanceTooLargeError(f"more than {max_customers} customers", source=source)
        else:
            raise InstanceFormatError(f"unexpected line {line[:30]!r}", source=source, line=no)
    if header.get("EDGE_WEIGHT_TYPE", "EUC_2D").upper() != "EUC_2D":
        raise InstanceFormatError("only EUC_2D distances are supported", source=source)
    coords = {
        int(v[0]): (v[1], v[2], no)
        for no, v in sections.get("NODE_COORD_SECTION", [])
        if len(v) == 3
    }
    if not coords or len(coords) != len(sections["NODE_COORD_SECTION"]):
        raise InstanceFormatError("NODE_COORD_SECTION needs `id x y` rows", source=source)
    demand = {int(v[0]): v[1] for _, v in sections.get("DEMAND_SECTION", []) if len(v) == 2}
    windows = {
        int(v[0]): (v[1], v[2]) for _, v in sections.get("TIME_WINDOW_SECTION", []) if len(v) == 3
    }
    service = {int(v[0]): v[1] for _, v in sections.get("SERVICE_TIME_SECTION", []) if len(v) == 2}
    default_service = _number(header.get("SERVICE_TIME", "0"), source=source, line=0)
    depot_ids = [int(v[0]) for _, v in sections.get("DEPOT_SECTION", []) if v and v[0] >= 0]
    if not depot_ids or any(d not in coords for d in depot_ids):
        raise InstanceFormatError("DEPOT_SECTION must name known nodes", source=source)
    if len(coords) - len(depot_ids) > max_customers:
        raise InstanceTooLargeError(f"more than {max_customers} customers", source=source)
    depots = tuple(
        Depot(f"depot{d}", coords[d][0], coords[d][1], *windows.get(d, (0.0, 1e12)))
        for d in depot_ids
    )
    orders: list[Order] = []
    for node in sorted(set(coords) - set(depot_ids)):
        if node not in demand:
            raise InstanceFormatError(f"node {node} has no demand", source=source)
        x, y, no = coords[node]
        orders.append(
            _order(
                str(len(orders) + 1),
                x,
                y,
                demand[node],
                windows.get(node, (0.0, 1e12)),
                service.get(node, default_service),
                source=source,
                line=no,
            )
        )
    count = _number(header.get("VEHICLES", str(len(orders) or 1)), source=source, line=0)
    capacity = _number(header.get("CAPACITY", "0"), source=source, line=0)
    vehicles = _fleet(count, capacity, depots[0].id, source=source)
    return _problem(header.get("NAME", ""), depots, orders, vehicles, source)


def parse_vrptw(
    text: str, *, source: str = "<input>", max_customers: int = MAX_CUSTOMERS
) -> RoutingProblem:
    """Parse VRPLIB when the text has a `NODE_COORD_SECTION`, else Solomon."""
    if "NODE_COORD_SECTION" in text.upper():
        return parse_vrplib(text, source=source, max_customers=max_customers)
    return parse_vrptw_solomon(text, source=source, max_customers=max_customers)


def parse_solution(text: str, *, source: str = "<input>") -> KnownSolution:
    """Parse a VRPLIB `.sol`: `Route #k: ids...` lines and a `Cost X` line."""
    routes: list[tuple[str, ...]] = []
    cost: float | None = None
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.lower().startswith("route"):
            _, _, ids = line.partition(":")
            routes.append(tuple(ids.split()))
        elif line.lower().startswith("cost"):
            cost = _number(line.split()[-1], source=source, line=no)
    if cost is None or not routes:
        raise InstanceFormatError("a solution needs routes and a Cost line", source=source)
    return KnownSolution(tuple(routes), cost)
