"""`/api/v1/stock`: stock per SKU per micro-warehouse, and how long it lasts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from coordinator.api.deps import (
    CoordinatorDep,
    LocationQuery,
    ScopeDep,
    SkuQuery,
    TwinDep,
    ViewerDep,
)
from coordinator.api.models.stock import StockCoverListOut, StockCoverOut, StockOut
from coordinator.errors import NotFound

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


__all__ = ["router"]
