"""Dependencies of the coordinator's routes, as `Annotated` aliases.

Everything comes from `request.app.state`, filled in the lifespan (`coordinator.api.app`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from coordinator.errors import NotFound
from coordinator.fleet.twin import FleetTwin
from coordinator.forecast.serving.job import ForecastJob
from coordinator.service import Coordinator
from coordinator.settings import CoordinatorSettings
from coordinator.store.port import Store


def get_coordinator(request: Request) -> Coordinator:
    """The running coordinator."""
    coordinator: Coordinator = request.app.state.coordinator
    return coordinator


def get_twin(request: Request) -> FleetTwin:
    """The fleet twin."""
    return get_coordinator(request).twin


def get_store(request: Request) -> Store:
    """The store."""
    return get_coordinator(request).store


def get_settings(request: Request) -> CoordinatorSettings:
    """The settings the service runs with."""
    settings: CoordinatorSettings = request.app.state.settings
    return settings


def get_forecasts(request: Request) -> ForecastJob:
    """The forecasting job (404 when the service runs without one)."""
    job: ForecastJob | None = getattr(request.app.state, "forecasts", None)
    if job is None:
        raise NotFound("forecasts", "service")
    return job


SKU_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"  # a protocol stock item name
LOCATION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}/[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

CoordinatorDep = Annotated[Coordinator, Depends(get_coordinator)]
ForecastsDep = Annotated[ForecastJob, Depends(get_forecasts)]
SkuQuery = Annotated[str | None, Query(pattern=SKU_PATTERN, description="one SKU")]
LocationQuery = Annotated[
    str | None, Query(pattern=LOCATION_PATTERN, description="one micro-warehouse, `site/node`")
]
TwinDep = Annotated[FleetTwin, Depends(get_twin)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[CoordinatorSettings, Depends(get_settings)]

__all__ = [
    "LOCATION_PATTERN",
    "SKU_PATTERN",
    "CoordinatorDep",
    "ForecastsDep",
    "LocationQuery",
    "SettingsDep",
    "SkuQuery",
    "StoreDep",
    "TwinDep",
    "get_coordinator",
    "get_forecasts",
    "get_settings",
    "get_store",
    "get_twin",
]
