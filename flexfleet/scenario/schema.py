"""Scenario files (TOML): the network, the catalog, demand and delivery, validated (pure).

A scenario names everything the closed-loop world needs (see `docs/scenarios.md`)::

    name = "yiwu-livestream"
    days = 30
    [[family]]            id, cycle_s (machine-seconds per unit), changeover_min
    [[factory]]           id, lat, lon, open, close ("HH:MM"), capacity_share
      [[factory.machine]] id, families
    [[warehouse]]         id, lat, lon, vehicles, vehicle_capacity
    [[region]]            id, lat, lon, radius_km, share (of the base demand)
    [catalog]             skus, families (each SKU's family in turn), base_orders_per_day,
                          popularity_exponent (Zipf), intermittent_share, qty_max,
                          makers_per_sku, price_min/max, volume_l_min/max
    [[sku]]               optional explicit SKUs: id, family, makers (factory ids), rate_per_day
    [services]            express_share, express_due_h, standard_due_h
    [[stream]]            day, hour, duration_h, announce_h, featured, uplift_min, uplift_max
                          (extra orders per hour per featured SKU), sku (optional list)
    [[spike]]             the same without announcement (an unannounced stream)
    [delivery]            speed_kmh, detour, service_min, wave_hour, delivery_day_h
    [replenishment]       lead_h, review_days, initial_days (stock at start in days of demand)

`load_scenario(path)` parses and validates; a bad file raises `ScenarioError` naming the
field (`factory[1].machine[0].id`) and, as `tomllib` gives no positions, the line found by
walking the text to the table and key the field belongs to. A scenario that cannot be run
(an unknown family or factory, a machine in two factories, a SKU named twice) fails here,
before anything starts.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

MAX_BYTES: Final = 2_000_000
MAX_ITEMS: Final = 5_000
_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_HHMM: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class ScenarioError(ValueError):
    """A scenario that cannot be used: `field` names the culprit, `line` where it is (0: unknown)."""

    def __init__(self, field: str, reason: str, *, line: int = 0, source: str = "") -> None:
        where = f"{source}:{line}: " if line else (f"{source}: " if source else "")
        super().__init__(f"{where}{field}: {reason}")
        self.field = field
        self.reason = reason
        self.line = line


@dataclass(frozen=True, slots=True)
class Family:
    """A product family: machine-seconds per unit and the changeover into it."""

    id: str
    cycle_s: float
    changeover_min: float


@dataclass(frozen=True, slots=True)
class Machine:
    """A machine and the families it can make."""

    id: str
    families: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FactorySpec:
    """A factory: where, its machines, opening hours and the share offered to the network."""

    id: str
    lat: float
    lon: float
    machines: tuple[Machine, ...]
    open: str = "00:00"
    close: str = "24:00"
    capacity_share: float = 1.0


@dataclass(frozen=True, slots=True)
class WarehouseSpec:
    """A micro-warehouse and its delivery vehicles."""

    id: str
    lat: float
    lon: float
    vehicles: int
    vehicle_capacity: int


@dataclass(frozen=True, slots=True)
class Region:
    """Where customers live: a disc around a centre, and its share of the base demand."""

    id: str
    lat: float
    lon: float
    radius_km: float
    share: float


@dataclass(frozen=True, slots=True)
class Catalog:
    """How the catalog is generated (SKUs not listed explicitly)."""

    skus: int
    base_orders_per_day: float
    popularity_exponent: float = 1.1
    intermittent_share: float = 0.6
    qty_max: int = 4
    makers_per_sku: int = 2
    price_min: float = 2.0
    price_max: float = 40.0
    volume_l_min: float = 0.2
    volume_l_max: float = 5.0


@dataclass(frozen=True, slots=True)
class SkuSpec:
    """An explicitly listed SKU."""

    id: str
    family: str
    makers: tuple[str, ...]
    rate_per_day: float


@dataclass(frozen=True, slots=True)
class Services:
    """Service levels: the share of express orders and each service's due time."""

    express_share: float = 0.3
    express_due_h: float = 24.0
    standard_due_h: float = 48.0


@dataclass(frozen=True, slots=True)
class Stream:
    """A live stream (announced `announce_h` before it starts) or an unannounced spike."""

    day: int
    hour: float
    duration_h: float
    announce_h: float
    featured: int
    uplift_min: float
    uplift_max: float
    skus: tuple[str, ...] = ()

    @property
    def start_s(self) -> float:
        """Seconds from the scenario's start."""
        return self.day * 86_400.0 + self.hour * 3600.0

    @property
    def end_s(self) -> float:
        """Seconds from the scenario's start when it ends."""
        return self.start_s + self.duration_h * 3600.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """Vehicles: speed, detour over the great circle, time per stop, and the delivery day:
    tours leave from `wave_hour` for `delivery_day_h` hours (the baseline's one wave at its
    start; flexfleet's dispatch any time inside it)."""

    speed_kmh: float = 30.0
    detour: float = 1.3
    service_min: float = 4.0
    wave_hour: float = 9.0
    delivery_day_h: float = 12.0
    transfer_speed_kmh: float = 60.0


@dataclass(frozen=True, slots=True)
class Replenishment:
    """Replenishment timing shared by both policies."""

    lead_h: float = 24.0
    review_days: float = 3.0
    initial_days: float = 5.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole scenario (see the module)."""

    name: str
    days: int
    families: tuple[Family, ...]
    factories: tuple[FactorySpec, ...]
    warehouses: tuple[WarehouseSpec, ...]
    regions: tuple[Region, ...]
    catalog: Catalog
    skus: tuple[SkuSpec, ...] = ()
    services: Services = Services()
    streams: tuple[Stream, ...] = ()
    spikes: tuple[Stream, ...] = ()
    delivery: Delivery = Delivery()
    replenishment: Replenishment = Replenishment()


# ---- line numbers ------------------------------------------------------------------------
_HEADER: Final = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?")


def line_of(text: str, path: str) -> int:
    """The line (1-based) of the field at `path` (`factory[1].machine[0].id`) in `text`;
    0 when it cannot be found. Walks the `[[table]]` headers to the n-th entry of each array
    of tables on the path, then looks for the key in that table's lines."""
    lines = text.splitlines()
    parts = re.findall(r"([A-Za-z0-9_\-]+)(?:\[(\d+)\])?", path)
    lo, hi = 0, len(lines)
    prefix = ""
    found = 0
    for name, index in parts:
        full = f"{prefix}.{name}" if prefix else name
        if index:
            seen = -1
            start = None
            for i in range(lo, hi):
                m = _HEADER.match(lines[i])
                if m and m.group(1) == full:
                    seen += 1
                    if seen == int(index):
                        start = i
                        break
            if start is None:
                return found
            end = hi
            for i in range(start + 1, hi):
                m = _HEADER.match(lines[i])
                if m and not m.group(1).startswith(full + "."):
                    end = i
                    break
            lo, hi, found = start, end, start + 1
            prefix = full
            continue
        key = re.compile(rf"(^|[\s{{,]){re.escape(name)}\s*=")
        header = next(
            (i for i in range(lo, hi) if (m := _HEADER.match(lines[i])) and m.group(1) == full),
            None,
        )
        if header is not None:
            lo, found, prefix = header, header + 1, full
            continue
        for i in range(lo, hi):
            if _HEADER.match(lines[i]) and i != lo and not found:
                break
            if key.search(lines[i].split("#", 1)[0]):
                return i + 1
        return found
    return found


# ---- validation ------------------------------------------------------------------------
class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    def fail(self, path: str, reason: str) -> ScenarioError:
        return ScenarioError(path, reason, line=line_of(self.text, path), source=self.source)

    def table(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, "must be a table")
        return value

    def tables(self, doc: Mapping[str, Any], key: str, *, need: bool) -> list[Mapping[str, Any]]:
        value = doc.get(key)
        if value is None:
            if need:
                raise self.fail(key, "is required (at least one entry)")
            return []
        if not isinstance(value, list) or not value:
            raise self.fail(key, "must be an array of tables ([[...]]) with at least one entry")
        if len(value) > MAX_ITEMS:
            raise self.fail(key, f"at most {MAX_ITEMS} entries")
        return [self.table(v, f"{key}[{i}]") for i, v in enumerate(value)]

    def known(self, data: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else key
                raise self.fail(where, f"is not a field here (known: {', '.join(sorted(allowed))})")

    def ident(self, data: Mapping[str, Any], key: str, path: str) -> str:
        where = f"{path}.{key}"
        if key not in data:
            raise self.fail(where, "is required")
        value = data[key]
        if not isinstance(value, str) or not _ID.match(value):
            raise self.fail(where, "must be an id: 1-64 of [A-Za-z0-9_.-], starting alphanumeric")
        return value

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        lo: float,
        hi: float,
        default: float | None = None,
    ) -> float:
        where = f"{path}.{key}" if path else key
        if key not in data:
            if default is None:
                raise self.fail(where, "is required")
            return default
        value = data[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not lo <= value <= hi
        ):
            raise self.fail(where, f"must be a number in [{lo:g}, {hi:g}]")
        return float(value)

    def integer(
        self, data: Mapping[str, Any], key: str, path: str, lo: int, hi: int, default: int | None
    ) -> int:
        where = f"{path}.{key}" if path else key
        if key not in data:
            if default is None:
                raise self.fail(where, "is required")
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(where, f"must be an integer in [{lo}, {hi}]")
        return value

    def ids(
        self, data: Mapping[str, Any], key: str, path: str, default: Sequence[str] | None
    ) -> tuple[str, ...]:
        where = f"{path}.{key}"
        if key not in data:
            if default is None:
                raise self.fail(where, "is required")
            return tuple(default)
        value = data[key]
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise self.fail(where, "must be a list of ids")
        for item in value:
            if not isinstance(item, str) or not _ID.match(item):
                raise self.fail(where, f"{item!r} is not an id")
        return tuple(value)

    def hhmm(self, data: Mapping[str, Any], key: str, path: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not _HHMM.match(value):
            raise self.fail(f"{path}.{key}", 'must be a time "HH:MM"')
        return value


def _streams(r: _Reader, doc: Mapping[str, Any], key: str, days: int) -> tuple[Stream, ...]:
    out = []
    fields = {
        "day",
        "hour",
        "duration_h",
        "announce_h",
        "featured",
        "uplift_min",
        "uplift_max",
        "sku",
    }
    for i, item in enumerate(r.tables(doc, key, need=False)):
        path = f"{key}[{i}]"
        r.known(item, path, fields if key == "stream" else fields - {"announce_h"})
        lo = r.number(item, "uplift_min", path, 0.0, 100_000.0)
        hi = r.number(item, "uplift_max", path, lo, 100_000.0)
        out.append(
            Stream(
                day=r.integer(item, "day", path, 0, days - 1, None),
                hour=r.number(item, "hour", path, 0.0, 23.99),
                duration_h=r.number(item, "duration_h", path, 0.1, 48.0),
                announce_h=r.number(item, "announce_h", path, 0.0, 720.0)
                if key == "stream"
                else 0.0,
                featured=r.integer(item, "featured", path, 1, 1000, 5),
                uplift_min=lo,
                uplift_max=hi,
                skus=r.ids(item, "sku", path, ()),
            )
        )
    return tuple(out)


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario's TOML text (see the module); `ScenarioError` names field and line."""
    if len(text.encode()) > MAX_BYTES:
        raise ScenarioError("file", f"larger than {MAX_BYTES} bytes", source=source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else 0
        raise ScenarioError("file", f"not valid TOML: {exc}", line=line, source=source) from None
    r = _Reader(text, source)
    return _scenario(r, doc)


def _scenario(r: _Reader, doc: Mapping[str, Any]) -> Scenario:
    top = {
        "name", "days", "family", "factory", "warehouse", "region", "catalog", "sku",
        "services", "stream", "spike", "delivery", "replenishment",
    }  # fmt: skip
    r.known(doc, "", top)
    name = doc.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        raise r.fail("name", "is required: a string of 1-200 characters")
    days = r.integer(doc, "days", "", 1, 366, None)
    families = _families(r, doc)
    factories = _factories(r, doc, {f.id for f in families})
    warehouses = _warehouses(r, doc, factories)
    regions = _regions(r, doc)
    catalog = _catalog(r, doc, len(factories))
    skus = _skus(r, doc, families, factories)
    if catalog.skus + len(skus) == 0:
        raise r.fail("catalog.skus", "the catalog is empty")
    known_skus = {s.id for s in skus} | {sku_id(k) for k in range(catalog.skus)}
    streams = _streams(r, doc, "stream", days)
    spikes = _streams(r, doc, "spike", days)
    for key, group in (("stream", streams), ("spike", spikes)):
        for i, st in enumerate(group):
            for sku in st.skus:
                if sku not in known_skus:
                    raise r.fail(f"{key}[{i}].sku", f"unknown SKU {sku!r}")
    return Scenario(
        name=name,
        days=days,
        families=families,
        factories=factories,
        warehouses=warehouses,
        regions=regions,
        catalog=catalog,
        skus=skus,
        services=_services(r, doc),
        streams=streams,
        spikes=spikes,
        delivery=_delivery(r, doc),
        replenishment=_replenishment(r, doc),
    )


def _families(r: _Reader, doc: Mapping[str, Any]) -> tuple[Family, ...]:
    families: list[Family] = []
    for i, item in enumerate(r.tables(doc, "family", need=True)):
        path = f"family[{i}]"
        r.known(item, path, {"id", "cycle_s", "changeover_min"})
        fid = r.ident(item, "id", path)
        if any(f.id == fid for f in families):
            raise r.fail(f"{path}.id", f"family {fid!r} is declared twice")
        families.append(
            Family(
                fid,
                r.number(item, "cycle_s", path, 0.1, 86_400.0),
                r.number(item, "changeover_min", path, 0.0, 1440.0, 0.0),
            )
        )
    return tuple(families)


def _factories(r: _Reader, doc: Mapping[str, Any], family_ids: set[str]) -> tuple[FactorySpec, ...]:
    factories: list[FactorySpec] = []
    owner: dict[str, str] = {}
    for i, item in enumerate(r.tables(doc, "factory", need=True)):
        path = f"factory[{i}]"
        r.known(item, path, {"id", "lat", "lon", "open", "close", "capacity_share", "machine"})
        fid = r.ident(item, "id", path)
        if any(f.id == fid for f in factories):
            raise r.fail(f"{path}.id", f"factory {fid!r} is declared twice")
        machines: list[Machine] = []
        for j, raw in enumerate(r.tables(item, "machine", need=False) if "machine" in item else []):
            mpath = f"{path}.machine[{j}]"
            r.known(raw, mpath, {"id", "families"})
            mid = r.ident(raw, "id", mpath)
            if mid in owner:
                raise r.fail(
                    f"{mpath}.id", f"machine {mid!r} already belongs to factory {owner[mid]!r}"
                )
            owner[mid] = fid
            fams = r.ids(raw, "families", mpath, None)
            for fam in fams:
                if fam not in family_ids:
                    raise r.fail(f"{mpath}.families", f"{fam!r} is no declared family")
            machines.append(Machine(mid, fams))
        if not machines:
            raise r.fail(f"{path}.machine", "a factory needs at least one machine")
        opens, closes = r.hhmm(item, "open", path, "00:00"), r.hhmm(item, "close", path, "24:00")
        if closes <= opens:
            raise r.fail(
                f"{path}.close", "must be after open (a shift past midnight is not modelled)"
            )
        factories.append(
            FactorySpec(
                id=fid,
                lat=r.number(item, "lat", path, -90.0, 90.0),
                lon=r.number(item, "lon", path, -180.0, 180.0),
                machines=tuple(machines),
                open=opens,
                close=closes,
                capacity_share=r.number(item, "capacity_share", path, 0.01, 1.0, 1.0),
            )
        )
    for fam in sorted(family_ids):
        if not any(fam in m.families for f in factories for m in f.machines):
            raise r.fail("family", f"no machine makes family {fam!r}")
    return tuple(factories)


def _warehouses(
    r: _Reader, doc: Mapping[str, Any], factories: tuple[FactorySpec, ...]
) -> tuple[WarehouseSpec, ...]:
    factory_ids = {f.id for f in factories}
    owner = {m.id for f in factories for m in f.machines}
    warehouses: list[WarehouseSpec] = []
    for i, item in enumerate(r.tables(doc, "warehouse", need=True)):
        path = f"warehouse[{i}]"
        r.known(item, path, {"id", "lat", "lon", "vehicles", "vehicle_capacity"})
        wid = r.ident(item, "id", path)
        if wid in factory_ids or wid in owner or any(w.id == wid for w in warehouses):
            raise r.fail(f"{path}.id", f"id {wid!r} is already used")
        warehouses.append(
            WarehouseSpec(
                wid,
                r.number(item, "lat", path, -90.0, 90.0),
                r.number(item, "lon", path, -180.0, 180.0),
                r.integer(item, "vehicles", path, 1, 100, 2),
                r.integer(item, "vehicle_capacity", path, 1, 10_000, 80),
            )
        )
    return tuple(warehouses)


def _regions(r: _Reader, doc: Mapping[str, Any]) -> tuple[Region, ...]:
    regions: list[Region] = []
    for i, item in enumerate(r.tables(doc, "region", need=True)):
        path = f"region[{i}]"
        r.known(item, path, {"id", "lat", "lon", "radius_km", "share"})
        regions.append(
            Region(
                r.ident(item, "id", path),
                r.number(item, "lat", path, -90.0, 90.0),
                r.number(item, "lon", path, -180.0, 180.0),
                r.number(item, "radius_km", path, 0.1, 500.0),
                r.number(item, "share", path, 0.0, 1.0),
            )
        )
    if abs(sum(g.share for g in regions) - 1.0) > 1e-6:
        raise r.fail("region", "the regions' shares must add up to 1")
    return tuple(regions)


def _catalog(r: _Reader, doc: Mapping[str, Any], factories: int) -> Catalog:
    cat = r.table(doc.get("catalog"), "catalog") if "catalog" in doc else None
    if cat is None:
        raise r.fail("catalog", "is required")
    r.known(cat, "catalog", {
        "skus", "base_orders_per_day", "popularity_exponent", "intermittent_share", "qty_max",
        "makers_per_sku", "price_min", "price_max", "volume_l_min", "volume_l_max",
    })  # fmt: skip
    return Catalog(
        skus=r.integer(cat, "skus", "catalog", 0, 100_000, None),
        base_orders_per_day=r.number(cat, "base_orders_per_day", "catalog", 0.0, 1e6),
        popularity_exponent=r.number(cat, "popularity_exponent", "catalog", 0.0, 5.0, 1.1),
        intermittent_share=r.number(cat, "intermittent_share", "catalog", 0.0, 1.0, 0.6),
        qty_max=r.integer(cat, "qty_max", "catalog", 1, 1000, 4),
        makers_per_sku=r.integer(cat, "makers_per_sku", "catalog", 1, factories, min(2, factories)),
        price_min=r.number(cat, "price_min", "catalog", 0.0, 1e6, 2.0),
        price_max=r.number(cat, "price_max", "catalog", 0.0, 1e6, 40.0),
        volume_l_min=r.number(cat, "volume_l_min", "catalog", 0.0, 1e4, 0.2),
        volume_l_max=r.number(cat, "volume_l_max", "catalog", 0.0, 1e4, 5.0),
    )


def _skus(
    r: _Reader,
    doc: Mapping[str, Any],
    families: tuple[Family, ...],
    factories: tuple[FactorySpec, ...],
) -> tuple[SkuSpec, ...]:
    family_ids = {f.id for f in families}
    factory_ids = {f.id for f in factories}
    skus: list[SkuSpec] = []
    for i, item in enumerate(r.tables(doc, "sku", need=False)):
        path = f"sku[{i}]"
        r.known(item, path, {"id", "family", "makers", "rate_per_day"})
        sid = r.ident(item, "id", path)
        if any(s.id == sid for s in skus):
            raise r.fail(f"{path}.id", f"SKU {sid!r} is declared twice")
        fam = r.ident(item, "family", path)
        if fam not in family_ids:
            raise r.fail(f"{path}.family", f"{fam!r} is no declared family")
        makers = r.ids(item, "makers", path, None)
        for maker in makers:
            if maker not in factory_ids:
                raise r.fail(f"{path}.makers", f"{maker!r} is no declared factory")
            if not any(fam in m.families for f in factories if f.id == maker for m in f.machines):
                raise r.fail(f"{path}.makers", f"factory {maker!r} has no machine for {fam!r}")
        if not makers:
            raise r.fail(f"{path}.makers", "needs at least one factory")
        skus.append(SkuSpec(sid, fam, makers, r.number(item, "rate_per_day", path, 0.0, 1e6)))
    return tuple(skus)


def _services(r: _Reader, doc: Mapping[str, Any]) -> Services:
    services: Services = Services()
    if "services" in doc:
        s = r.table(doc["services"], "services")
        r.known(s, "services", {"express_share", "express_due_h", "standard_due_h"})
        services = Services(
            r.number(s, "express_share", "services", 0.0, 1.0, 0.3),
            r.number(s, "express_due_h", "services", 1.0, 720.0, 24.0),
            r.number(s, "standard_due_h", "services", 1.0, 720.0, 48.0),
        )
    return services


def _delivery(r: _Reader, doc: Mapping[str, Any]) -> Delivery:
    delivery = Delivery()
    if "delivery" in doc:
        d = r.table(doc["delivery"], "delivery")
        r.known(d, "delivery", {
            "speed_kmh", "detour", "service_min", "wave_hour", "delivery_day_h", "transfer_speed_kmh",
        })  # fmt: skip
        delivery = Delivery(
            r.number(d, "speed_kmh", "delivery", 1.0, 200.0, 30.0),
            r.number(d, "detour", "delivery", 1.0, 5.0, 1.3),
            r.number(d, "service_min", "delivery", 0.0, 120.0, 4.0),
            r.number(d, "wave_hour", "delivery", 0.0, 23.0, 9.0),
            r.number(d, "delivery_day_h", "delivery", 0.5, 24.0, 12.0),
            r.number(d, "transfer_speed_kmh", "delivery", 1.0, 200.0, 60.0),
        )
    return delivery


def _replenishment(r: _Reader, doc: Mapping[str, Any]) -> Replenishment:
    replenishment = Replenishment()
    if "replenishment" in doc:
        p = r.table(doc["replenishment"], "replenishment")
        r.known(p, "replenishment", {"lead_h", "review_days", "initial_days"})
        replenishment = Replenishment(
            r.number(p, "lead_h", "replenishment", 1.0, 720.0, 24.0),
            r.number(p, "review_days", "replenishment", 0.1, 60.0, 3.0),
            r.number(p, "initial_days", "replenishment", 0.0, 60.0, 5.0),
        )
    return replenishment


def sku_id(index: int) -> str:
    """The id of the catalog's `index`-th generated SKU (0 is the best seller)."""
    return f"sku-{index + 1:04d}"


SHIPPED_DIR: Final = Path(__file__).resolve().parent / "scenarios"


def scenario_path(name_or_path: str) -> Path:
    """A path as given, or the shipped scenario of that name (`yiwu-livestream`)."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return path
    return SHIPPED_DIR / f"{name_or_path}.toml"


def load_scenario(name_or_path: str) -> Scenario:
    """Read and validate a scenario file, or a shipped one by name."""
    path = scenario_path(name_or_path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(
            "file", f"cannot read {path}: {exc.strerror}", source=str(path)
        ) from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError("file", f"larger than {MAX_BYTES} bytes", source=str(path))
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ScenarioError("file", "not UTF-8 text", source=str(path)) from None
    return parse_scenario(text, source=str(path))


__all__ = [
    "Catalog",
    "Delivery",
    "FactorySpec",
    "Family",
    "Machine",
    "Region",
    "Replenishment",
    "Scenario",
    "ScenarioError",
    "Services",
    "SkuSpec",
    "Stream",
    "WarehouseSpec",
    "line_of",
    "load_scenario",
    "parse_scenario",
    "scenario_path",
    "sku_id",
]
