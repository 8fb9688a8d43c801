"""`/api/v1/stock`: stock per SKU per micro-warehouse, how long it lasts, and where it
should be (`/plan`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from coordinator.api.deps import (
    AllSitesDep,
    CoordinatorDep,
    LocationQuery,
    ScopeDep,
    SkuQuery,
    StockPlanDep,
    TwinDep,
    ViewerDep,
)
from coordinator.api.models.stock import (
    InTransitOut,
    PrepositionOut,
    ReplenishOut,
    StockCoverListOut,
    StockCoverOut,
    StockOut,
    StockPlanOut,
    TargetOut,
    TransferOut,
    TransfersOut,
)
from coordinator.errors import NotFound
from coordinator.stock.placement import CLASSES
from protocol.topics import ID_PATTERN

router = APIRouter(prefix="/api/v1/stock", tags=["stock"])


@router.get("", summary="Stock levels", response_model=list[StockOut])
def list_stock(
    twin: TwinDep,
    _who: ViewerDep,
    scope: ScopeDep,
    site: Annotated[str | None, Query(max_length=64)] = None,
    node: Annotated[str | None, Query(max_length=64)] = None,
) -> list[StockOut]:
    """Current quantity of every SKU at every micro-warehouse (optionally one site or node)."""
    return [
        StockOut.of(item) for item in twin.stock(site=site, node=node) if scope.covers(item.site)
    ]


@router.get("/cover", summary="Stock cover and replenishment", response_model=StockCoverListOut)
def list_cover(
    _who: ViewerDep,
    scope: ScopeDep,
    coordinator: CoordinatorDep,
    sku: SkuQuery = None,
    location: LocationQuery = None,
    at_risk: Annotated[bool | None, Query(description="only those at risk (or not)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> StockCoverListOut:
    """For every SKU with a forecast and a stock level: the days until its P90 (and mean)
    demand empties the shelf, whether that falls within the replenishment lead time, and
    how many units to replenish now (order-up-to the P90 demand over lead time plus review
    period). Checked after every forecast refresh and every `cover_check_interval_s`."""
    watch = coordinator.cover
    if watch is None:
        raise NotFound("stock cover", "service")
    found = watch.latest(location=location, sku=sku, at_risk=at_risk)
    covers = [c for c in found if scope.covers_location(c.location)][:limit]
    return StockCoverListOut(
        lead_time_days=watch.policy.lead_time_days,
        review_days=watch.policy.review_days,
        checked_ms=watch.checked_ms,
        count=len(covers),
        covers=[StockCoverOut(**c.to_json()) for c in covers],
    )


@router.get("/plan", summary="Stock placement plan", response_model=StockPlanOut)
def stock_plan(
    _who: ViewerDep,
    _fleet: AllSitesDep,
    planner: StockPlanDep,
    sku: SkuQuery = None,
    warehouse: Annotated[
        str | None, Query(pattern=ID_PATTERN, max_length=64, description="one micro-warehouse")
    ] = None,
    short: Annotated[
        bool | None, Query(description="only targets whose position is below (or not) target")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100_000, description="at most this many targets")] = 1000,
) -> StockPlanOut:
    """Per SKU and micro-warehouse: the target (the class's service-level quantile of the
    demand over the replenishment lead time, raised for announced live streams) against
    the position (on hand + in transit); the lateral transfers proposed from spare stock
    (nearest first) and those in transit; the pre-positioning for streams; and what the
    factories should make after transfers. Each line says why. Transfers run between
    warehouses of any site: a token covering every site."""
    view = planner.plan()
    plan = view.plan

    def kept(item_sku: str, *houses: str | None) -> bool:
        return sku in (None, item_sku) and (warehouse is None or warehouse in houses)

    targets = [
        t
        for t in plan.targets
        if kept(t.sku, t.warehouse) and short in (None, t.position < t.target)
    ][:limit]
    in_transit = [i for i in view.in_transit if kept(i.sku, view.warehouse_of.get(i.node))]
    return StockPlanOut(
        planned_ms=view.planned_ms,
        lead_time_days=view.policy.lead_time_days,
        service_levels={c: view.policy.service_level(c) for c in CLASSES},
        count=len(targets),
        targets=[TargetOut.of(t) for t in targets],
        prepositions=[PrepositionOut.of(p) for p in plan.prepositions if kept(p.sku, p.warehouse)],
        transfers=TransfersOut(
            proposed=[
                TransferOut.of(t) for t in plan.transfers if kept(t.sku, t.source, t.destination)
            ],
            in_transit=[InTransitOut.of(i) for i in in_transit],
        ),
        replenishments=[
            ReplenishOut.of(r) for r in plan.replenishments if kept(r.sku, r.warehouse)
        ],
    )


__all__ = ["router"]
