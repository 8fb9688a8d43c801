"""Live-stream demand and the micro-warehouse: deterministic, bursty, stock conserved."""

from __future__ import annotations

import statistics

import pytest

from firmware_sim import (
    DemandParams,
    LiveStreamDemand,
    MicroWarehouse,
    SimConfigError,
    default_skus,
)


def test_demand_is_deterministic_for_a_seed() -> None:
    """Same seed and calls → same orders; another seed → different orders."""
    skus = default_skus(30)
    a = LiveStreamDemand(skus=skus, seed=9).orders_until(6 * 3600)
    b = LiveStreamDemand(skus=skus, seed=9).orders_until(6 * 3600)
    c = LiveStreamDemand(skus=skus, seed=10).orders_until(6 * 3600)
    assert a == b
    assert a != c


def test_demand_is_bursty_during_live_streams() -> None:
    """Orders per minute vary far more than a Poisson process would (index of dispersion ≫ 1)."""
    demand = LiveStreamDemand(skus=default_skus(30), seed=4, params=DemandParams(streams_per_h=2.0))
    per_minute = [len(demand.orders_until(m * 60.0)) for m in range(1, 12 * 60)]
    mean = statistics.fmean(per_minute)
    assert mean > 1.0
    assert statistics.pvariance(per_minute) / mean > 3.0
    live_share = sum(
        1
        for o in LiveStreamDemand(
            skus=default_skus(30), seed=4, params=DemandParams(streams_per_h=2.0)
        ).orders_until(12 * 3600)
        if o.live
    )
    assert live_share > 0


def test_warehouse_stock_changes_add_up_and_never_go_negative() -> None:
    """Initial stock + every reported change = final stock; levels stay ≥ 0; receipts arrive."""
    skus = default_skus(10)
    warehouse = MicroWarehouse(skus=skus, seed=3)
    start = dict(warehouse.stock)
    total = dict(start)
    reasons = set()
    for minute in range(1, 8 * 60):
        for change in warehouse.advance_to(minute * 60.0):
            total[change.sku] += change.delta
            reasons.add(change.reason)
        assert min(warehouse.stock.values()) >= 0
    assert total == warehouse.stock
    assert reasons == {"pick", "receipt"}


def test_invalid_demand_parameters_are_refused() -> None:
    """An explosive self-excitation or empty SKU list is refused with a SimConfigError."""
    with pytest.raises(SimConfigError, match="excitation"):
        DemandParams(excitation_per_order=1.0)
    with pytest.raises(SimConfigError, match="skus"):
        LiveStreamDemand(skus=(), seed=1)
    with pytest.raises(SimConfigError, match="unique"):
        LiveStreamDemand(skus=("a", "a"), seed=1)
    with pytest.raises(SimConfigError):
        default_skus(0)
