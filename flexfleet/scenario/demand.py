"""The catalog and the storefront (pure, seeded): SKUs with long-tail intermittent demand,
and the customer orders of a whole run drawn up front.

- SKU popularity follows Zipf (`popularity_exponent`); each SKU's family is the catalog's
  families in turn; its makers are `makers_per_sku` factories with a machine for its family.
- An intermittent SKU sells on about 40 % of days (drawn per day), at 1/0.4 of its rate then,
  so its mean is its rate and its demand comes in lumps.
- Base orders arrive per hour as a Poisson process with a daily profile (evening peak), each
  from a region by its share, at a point in its disc, 1..`qty_max` units (more often few),
  express with `express_share`.
- A live stream adds, during its hours, Poisson orders of its featured SKUs (drawn per stream
  among the 60 best sellers unless listed) at an uplift drawn per SKU in
  [`uplift_min`, `uplift_max`] orders per hour. It is known `announce_h` before it starts
  (`Announcement`); a spike is the same, never announced.

`draw_orders` returns every order of the run sorted by time; the same seed gives the same
orders whatever policy serves them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flexfleet.scenario.schema import Scenario, Stream, sku_id

ACTIVE_DAY_P = 0.4
HOURLY_PROFILE = np.array(
    [0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.1, 1.1,
     1.1, 1.1, 1.0, 1.0, 1.1, 1.2, 1.3, 1.6, 2.0, 2.1, 1.6, 0.9]
)  # fmt: skip
HOURLY_PROFILE = HOURLY_PROFILE / HOURLY_PROFILE.mean()
TOP_FEATURED = 60


@dataclass(frozen=True, slots=True)
class Sku:
    """A SKU of the run: family, the factories that make it, its base rate and unit data."""

    id: str
    family: str
    makers: tuple[str, ...]
    rate_per_day: float
    intermittent: bool
    price: float
    volume_l: float


@dataclass(frozen=True, slots=True)
class Order:
    """A customer order: one line of `qty` units of `sku` to (`lat`, `lon`)."""

    id: str
    t_s: float
    sku: str
    qty: int
    region: str
    lat: float
    lon: float
    express: bool
    due_s: float
    stream: int = -1  # index into `Demand.streams`, -1 for base demand
    announced: bool = False


@dataclass(frozen=True, slots=True)
class Announcement:
    """A stream as the seller announced it: when, which SKUs, the expected uplift and the
    range each featured SKU's uplift is drawn from (orders per hour)."""

    index: int
    known_s: float
    start_s: float
    end_s: float
    skus: tuple[str, ...]
    expected_per_h: float
    announced: bool
    uplift_min_per_h: float = 0.0
    uplift_max_per_h: float = 0.0

    def uplift_quantile(self, q: float) -> float:
        """The `q` quantile of one featured SKU's uplift (drawn uniformly in its range)."""
        return self.uplift_min_per_h + q * (self.uplift_max_per_h - self.uplift_min_per_h)


@dataclass(frozen=True, slots=True)
class Demand:
    """The catalog and every order of a run, plus the streams as announced."""

    skus: tuple[Sku, ...]
    orders: tuple[Order, ...]
    streams: tuple[Announcement, ...]


def build_catalog(scenario: Scenario, rng: np.random.Generator) -> tuple[Sku, ...]:
    """The SKUs: the explicit ones, then the generated long tail."""
    cat = scenario.catalog
    out = [
        Sku(s.id, s.family, s.makers, s.rate_per_day, False, cat.price_min, cat.volume_l_min)
        for s in scenario.skus
    ]
    weights = np.array([(k + 1) ** -cat.popularity_exponent for k in range(cat.skus)])
    rates = weights / weights.sum() * cat.base_orders_per_day if cat.skus else weights
    families = [f.id for f in scenario.families]
    for k in range(cat.skus):
        family = families[k % len(families)]
        able = [f.id for f in scenario.factories if any(family in m.families for m in f.machines)]
        count = min(cat.makers_per_sku, len(able))
        makers = tuple(sorted(rng.choice(able, size=count, replace=False).tolist()))
        out.append(
            Sku(
                id=sku_id(k),
                family=family,
                makers=makers,
                rate_per_day=float(rates[k]),
                intermittent=bool(rng.random() < cat.intermittent_share) and k >= 10,
                price=float(rng.uniform(cat.price_min, cat.price_max)),
                volume_l=float(rng.uniform(cat.volume_l_min, cat.volume_l_max)),
            )
        )
    return tuple(out)


def _announce(
    scenario: Scenario, skus: tuple[Sku, ...], rng: np.random.Generator, extra: tuple[Stream, ...]
) -> list[tuple[Announcement, Stream, np.ndarray]]:
    top = [s.id for s in skus[: max(1, min(TOP_FEATURED, len(skus)))]]
    out = []
    groups = [(s, True) for s in scenario.streams] + [(s, False) for s in scenario.spikes]
    groups += [(s, False) for s in extra]
    for index, (stream, announced) in enumerate(groups):
        chosen = stream.skus or tuple(
            rng.choice(top, size=min(stream.featured, len(top)), replace=False).tolist()
        )
        uplift = rng.uniform(stream.uplift_min, stream.uplift_max, size=len(chosen))
        ann = Announcement(
            index=index,
            known_s=stream.start_s - stream.announce_h * 3600.0 if announced else stream.start_s,
            start_s=stream.start_s,
            end_s=stream.end_s,
            skus=tuple(chosen),
            expected_per_h=(stream.uplift_min + stream.uplift_max) / 2,
            announced=announced,
            uplift_min_per_h=stream.uplift_min,
            uplift_max_per_h=stream.uplift_max,
        )
        out.append((ann, stream, uplift))
    return out


def _point(
    lat: float, lon: float, radius_km: float, rng: np.random.Generator
) -> tuple[float, float]:
    r = radius_km * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    dlat = r * math.cos(a) / 111.32
    dlon = r * math.sin(a) / (111.32 * max(0.1, math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def draw_orders(
    scenario: Scenario, *, days: int, seed: int, extra_spikes: tuple[Stream, ...] = ()
) -> Demand:
    """Every order of a `days`-long run (see the module)."""
    rng = np.random.default_rng([seed, 16])
    skus = build_catalog(scenario, rng)
    streams = _announce(scenario, skus, rng, extra_spikes)
    regions = scenario.regions
    shares = np.array([g.share for g in regions])
    svc = scenario.services
    rates = np.array([s.rate_per_day for s in skus]) / 24.0
    intermittent = np.array([s.intermittent for s in skus])
    raw: list[tuple[float, int, int, int]] = []  # (t, sku index, stream, announced)
    for day in range(days):
        active = np.where(intermittent, rng.random(len(skus)) < ACTIVE_DAY_P, True)
        scale = np.where(intermittent, active / ACTIVE_DAY_P, 1.0)
        for hour in range(24):
            counts = rng.poisson(rates * scale * HOURLY_PROFILE[hour])
            t0 = (day * 24 + hour) * 3600.0
            for hit in np.nonzero(counts)[0]:
                for _ in range(int(counts[hit])):
                    raw.append((t0 + rng.random() * 3600.0, int(hit), -1, 0))
    index_of = {s.id: k for k, s in enumerate(skus)}
    horizon = days * 86_400.0
    for ann, _stream, uplift in streams:
        hours = math.ceil((ann.end_s - ann.start_s) / 3600.0)
        for h in range(hours):
            lo = ann.start_s + h * 3600.0
            span = min(3600.0, ann.end_s - lo)
            for sku, rate in zip(ann.skus, uplift, strict=True):
                if sku not in index_of:
                    continue
                for _ in range(int(rng.poisson(rate * span / 3600.0))):
                    t = lo + rng.random() * span
                    if t < horizon:
                        raw.append((t, index_of[sku], ann.index, int(ann.announced)))
    raw.sort()
    orders = []
    for n, (t, k, stream, announced) in enumerate(raw):
        region = regions[int(rng.choice(len(regions), p=shares))]
        lat, lon = _point(region.lat, region.lon, region.radius_km, rng)
        express = bool(rng.random() < svc.express_share)
        qty = min(scenario.catalog.qty_max, int(rng.geometric(0.55)))
        due_h = svc.express_due_h if express else svc.standard_due_h
        orders.append(
            Order(
                id=f"o{n:06d}",
                t_s=t,
                sku=skus[k].id,
                qty=qty,
                region=region.id,
                lat=lat,
                lon=lon,
                express=express,
                due_s=t + due_h * 3600.0,
                stream=stream,
                announced=bool(announced),
            )
        )
    return Demand(skus, tuple(orders), tuple(a for a, _, _ in streams))


__all__ = ["Announcement", "Demand", "Order", "Sku", "build_catalog", "draw_orders"]
