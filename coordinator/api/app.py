"""The FastAPI application: routes, the error handler, and a lifespan that owns the service.

`create_app(settings)` builds the app; the lifespan opens the `Coordinator` (store, twin,
ingest, MQTT, alarm service, planner), starts it, and fills `app.state`:

    settings, coordinator, metrics   the core (this package)
    alarms                           the alarm service (`coordinator.alarms`), or None
    forecasts                        the forecast job (`coordinator.forecast.job`)
    plans                            the re-planning loop (`coordinator.plan.wiring`)

The alarm router is mounted when `coordinator.api.routes.alarms` is importable.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from coordinator.api.errors import install_error_handlers
from coordinator.api.routes import (
    dashboard,
    dead_letters,
    forecasts,
    health,
    metrics,
    nodes,
    stock,
)
from coordinator.api.routes.plans import router as plans_router
from coordinator.metrics import build_registry
from coordinator.service import Coordinator
from coordinator.settings import CoordinatorSettings

log = logging.getLogger(__name__)

StartupHook = Callable[[FastAPI, Coordinator], None]


def create_app(
    settings: CoordinatorSettings,
    *,
    start_service: bool = True,
    on_startup: tuple[StartupHook, ...] = (),
) -> FastAPI:
    """The coordinator's HTTP app; `start_service=False` opens the parts without connecting.

    Each `on_startup` hook runs after the coordinator is open (e.g. to set
    `app.state.plans` / `app.state.forecasts`); hooks may return nothing.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        coordinator = Coordinator.open(settings)
        app.state.settings = settings
        app.state.coordinator = coordinator
        app.state.alarms = coordinator.alarms
        app.state.plans = coordinator.plans
        app.state.forecasts = coordinator.forecasts
        app.state.metrics = build_registry(coordinator)
        for hook in on_startup:
            hook(app, coordinator)
        if start_service:
            coordinator.start()
        else:
            coordinator.writer.start()
        try:
            yield
        finally:
            if start_service:
                coordinator.stop()
            else:
                coordinator.writer.stop()
                if coordinator.forecasts is not None:
                    coordinator.forecasts.close()
                if coordinator.alarms is not None:
                    coordinator.alarms.close()
                coordinator.store.close()

    app = FastAPI(
        title="flexfleet coordinator",
        version="0.1.0",
        description="Fleet twin, telemetry, stock, dead letters and alarms of a flexfleet fleet.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for module in (health, metrics, nodes, stock, dead_letters, forecasts, dashboard):
        app.include_router(module.router)
    app.include_router(plans_router)
    _include_optional(app, "coordinator.api.routes.alarms")
    return app


def _include_optional(app: FastAPI, module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        log.info("%s not installed; its routes are off", module_name)
        return
    app.include_router(module.router)


__all__ = ["create_app"]
