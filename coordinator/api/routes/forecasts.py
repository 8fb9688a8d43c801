"""`/api/v1/forecasts`: demand quantiles per SKU × location, and an on-demand refresh."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from coordinator.api.deps import (
    AllSitesDep,
    ForecastsDep,
    LocationQuery,
    OperatorDep,
    ScopeDep,
    SkuQuery,
    ViewerDep,
)
from coordinator.api.models.forecasts import (
    ForecastListOut,
    ForecastRefreshOut,
    HourlyForecastListOut,
    HourlyForecastOut,
)
from coordinator.forecast.model.baselines import QUANTILES

router = APIRouter(prefix="/api/v1/forecasts", tags=["forecasts"])

MAX_SCANNED = 1_000_000
"""Forecasts read at most for a site-scoped caller before filtering by site."""


@router.get("", summary="Latest demand forecasts", response_model=ForecastListOut)
def list_forecasts(
    _who: ViewerDep,
    scope: ScopeDep,
    job: ForecastsDep,
    sku: SkuQuery = None,
    location: LocationQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> ForecastListOut:
    """The stored forecasts (P10/P50/P90 per day) of the caller's sites, what produced
    each, and why."""
    if scope.covers_all:
        return ForecastListOut.of(
            job.status(), job.store.query(sku=sku, location=location, limit=limit)
        )
    found = job.store.query(sku=sku, location=location, limit=MAX_SCANNED)
    kept = [f for f in found if f.location is not None and scope.covers_location(f.location)]
    return ForecastListOut.of(job.status(), kept[:limit])


@router.get(
    "/hourly", summary="Hourly forecasts with live streams", response_model=HourlyForecastListOut
)
def list_hourly(
    _who: ViewerDep,
    scope: ScopeDep,
    job: ForecastsDep,
    sku: SkuQuery = None,
    location: LocationQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> HourlyForecastListOut:
    """P10/P50/P90 per hour for the next 72 h of the caller's sites, announced streams
    included (`event_units`: what they add)."""
    kept = [
        f
        for f in sorted(job.hourly(), key=lambda f: f.unique_id)
        if (sku is None or f.sku == sku)
        and (location is None or f.location == location)
        and (scope.covers_all or (f.location is not None and scope.covers_location(f.location)))
    ][:limit]
    return HourlyForecastListOut(
        quantile_levels=list(QUANTILES),
        count=len(kept),
        forecasts=[HourlyForecastOut.of(f) for f in kept],
    )


@router.post("/refresh", summary="Refresh forecasts now", response_model=ForecastRefreshOut)
def refresh_forecasts(
    _who: OperatorDep, _fleet: AllSitesDep, job: ForecastsDep
) -> ForecastRefreshOut:
    """Pick up a new model version if there is one, then forecast every series now (a
    fleet-wide action: a token covering every site)."""
    job.check_model()
    forecasts = job.refresh()
    return ForecastRefreshOut(status=job.status(), count=len(forecasts))


__all__ = ["router"]
