"""Dependencies of the coordinator's routes, as `Annotated` aliases.

Everything comes from `request.app.state`, filled in the lifespan (`coordinator.api.app`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from coordinator.fleet.twin import FleetTwin
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


CoordinatorDep = Annotated[Coordinator, Depends(get_coordinator)]
TwinDep = Annotated[FleetTwin, Depends(get_twin)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[CoordinatorSettings, Depends(get_settings)]

__all__ = [
    "CoordinatorDep",
    "SettingsDep",
    "StoreDep",
    "TwinDep",
    "get_coordinator",
    "get_settings",
    "get_store",
    "get_twin",
]
