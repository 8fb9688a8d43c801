"""`/api/v1/forecasts`: demand quantiles per SKU × location, and an on-demand refresh."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from coordinator.api.auth import OperatorDep, ViewerDep
from coordinator.api.schemas import ForecastListOut, ForecastRefreshOut
from coordinator.errors import NotFound
from coordinator.forecast.job import ForecastJob

router = APIRouter(prefix="/api/v1/forecasts", tags=["forecasts"])

_SKU = r"^[A-Za-z0-9_.:\-]{1,64}$"  # a protocol stock item name
_LOCATION = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}/[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"  # site/node


def _job(request: Request) -> ForecastJob:
    job: ForecastJob | None = getattr(request.app.state, "forecasts", None)
    if job is None:
        raise NotFound("forecasts", "service")
    return job


@router.get("", summary="Latest demand forecasts", response_model=ForecastListOut)
def list_forecasts(
    request: Request,
    _who: ViewerDep,
    sku: Annotated[str | None, Query(pattern=_SKU, description="one SKU")] = None,
    location: Annotated[
        str | None, Query(pattern=_LOCATION, description="one micro-warehouse, `site/node`")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> ForecastListOut:
    """The stored forecasts (P10/P50/P90 per day), what produced each, and why."""
    job = _job(request)
    return ForecastListOut.of(
        job.status(), job.store.query(sku=sku, location=location, limit=limit)
    )


@router.post("/refresh", summary="Refresh forecasts now", response_model=ForecastRefreshOut)
def refresh_forecasts(request: Request, _who: OperatorDep) -> ForecastRefreshOut:
    """Pick up a new model version if there is one, then forecast every series now."""
    job = _job(request)
    job.check_model()
    forecasts = job.refresh()
    return ForecastRefreshOut(status=job.status(), count=len(forecasts))


__all__ = ["router"]
