"""`/api/v1/forecasts`: demand quantiles per SKU × location, and an on-demand refresh."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from coordinator.api.deps import ForecastsDep, LocationQuery, OperatorDep, SkuQuery, ViewerDep
from coordinator.api.models.forecasts import ForecastListOut, ForecastRefreshOut

router = APIRouter(prefix="/api/v1/forecasts", tags=["forecasts"])


@router.get("", summary="Latest demand forecasts", response_model=ForecastListOut)
def list_forecasts(
    _who: ViewerDep,
    job: ForecastsDep,
    sku: SkuQuery = None,
    location: LocationQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> ForecastListOut:
    """The stored forecasts (P10/P50/P90 per day), what produced each, and why."""
    return ForecastListOut.of(
        job.status(), job.store.query(sku=sku, location=location, limit=limit)
    )


@router.post("/refresh", summary="Refresh forecasts now", response_model=ForecastRefreshOut)
def refresh_forecasts(_who: OperatorDep, job: ForecastsDep) -> ForecastRefreshOut:
    """Pick up a new model version if there is one, then forecast every series now."""
    job.check_model()
    forecasts = job.refresh()
    return ForecastRefreshOut(status=job.status(), count=len(forecasts))


__all__ = ["router"]
