"""From the coordinator's state to a placement problem, and back to replenishment jobs
(`coordinator.stock.plan_inputs`)."""

from __future__ import annotations

import pytest

from coordinator.forecast.serving.service import Forecast
from coordinator.sales.network import network_from_json
from coordinator.stock.cover import StockCover
from coordinator.stock.live_streams import LiveStream
from coordinator.stock.placement import Replenish, StockPlan
from coordinator.stock.plan_inputs import (
    Inbound,
    placement_problem,
    sized_by_plan,
    stream_uplifts,
)

NETWORK = network_from_json(
    {
        "warehouses": [
            {"id": "wa", "location": {"lat": 0, "lon": 0}, "nodes": ["w1", "w1b"]},
            {"id": "wb", "location": {"lat": 0, "lon": 0.1}, "nodes": ["w2"]},
        ]
    }
)
H = 3_600_000


def _forecast(sku: str, node: str, mean: float, spread: float, days: int = 3) -> Forecast:
    return Forecast(
        unique_id=f"{sku}@s1/{node}",
        sku=sku,
        location=f"s1/{node}",
        dates=tuple(f"d{d}" for d in range(days)),
        mean=(mean,) * days,
        p10=(mean - spread / 2,) * days,
        p50=(mean,) * days,
        p90=(mean + spread / 2,) * days,
        model_version="t",
        method="t",
        fallback=False,
        generated_at_ms=0,
    )


def test_shelves_add_up_to_their_warehouse() -> None:
    """Two shelves of wa: means add, spreads add as variances; stock and inbound add;
    a shelf outside the network is left out."""
    problem = placement_problem(
        forecasts=[
            _forecast("cup", "w1", 2.0, 3.0),
            _forecast("cup", "w1b", 1.0, 4.0),
            _forecast("cup", "elsewhere", 9.0, 1.0),
        ],
        stock=[("s1", "w1", "cup", 4), ("s1", "w1b", "cup", 1), ("s1", "w2", "cup", 7)],
        network=NETWORK,
        inbound=[Inbound("t.x", "w1b", "cup", 5, "replenishment")],
        uplifts=[],
    )
    assert problem.skus == ("cup",)
    assert problem.mean[0, :, 0].tolist() == [3.0, 0.0]
    assert problem.spread[0, 0, 0] == pytest.approx(5.0)  # √(3² + 4²)
    assert problem.on_hand.tolist() == [[5, 7]]
    assert problem.inbound.tolist() == [[5, 0]]
    assert problem.sales.tolist() == [9.0]  # 3 a day for 3 days


def test_stream_uplift_from_orders_or_audience_within_the_lead_time() -> None:
    """Expected orders split over the featured SKUs; else audience × orders per viewer;
    streams ended or beyond the lead time are left out."""
    now = 1_000 * H

    def stream(sid: str, start_h: float, **kw: int) -> LiveStream:
        return LiveStream(sid, int(now + start_h * H), 3600, "c", ("cup", "tea"), **kw)

    ups = stream_uplifts(
        [
            stream("a", 2, expected_orders=40),
            stream("b", 5, expected_audience=10_000),
            stream("ended", -3, expected_orders=99),
            stream("later", 49, expected_orders=99),
        ],
        now_ms=now,
        lead_time_days=2,
        orders_per_viewer=0.02,
    )
    assert [(u.stream_id, u.sku, u.units, u.starts_in_h) for u in ups] == [
        ("a", "cup", 20.0, 2.0),
        ("a", "tea", 20.0, 2.0),
        ("b", "cup", 100.0, 5.0),
        ("b", "tea", 100.0, 5.0),
    ]


def _cover(sku: str, node: str, *, at_risk: bool, proposed: int) -> StockCover:
    return StockCover(sku, f"s1/{node}", 0, 7, 1, 1, at_risk, proposed, proposed, "t")


def test_replenishment_jobs_are_sized_by_the_plan() -> None:
    """An at-risk cover at wa's first shelf asks for the plan's 12; at its second shelf
    nothing; at wb, where the plan makes nothing (a transfer covers it), it is no longer at
    risk for the jobs; a shelf outside the network and covers not at risk are unchanged."""
    plan = StockPlan((), (), (), (Replenish("cup", "wa", 12, "f1", 3.0, "why"),))
    rows = [
        ("s1", "w1", _cover("cup", "w1", at_risk=True, proposed=30)),
        ("s1", "w1b", _cover("cup", "w1b", at_risk=True, proposed=8)),
        ("s1", "w2", _cover("cup", "w2", at_risk=True, proposed=9)),
        ("s1", "w9", _cover("cup", "w9", at_risk=True, proposed=4)),
        ("s1", "w1", _cover("tea", "w1", at_risk=False, proposed=0)),
    ]
    got = [(node, c.at_risk, c.proposed) for _, node, c in sized_by_plan(rows, plan, NETWORK)]
    assert got == [
        ("w1", True, 12),
        ("w1b", False, 8),
        ("w2", False, 9),
        ("w9", True, 4),
        ("w1", False, 0),
    ]
