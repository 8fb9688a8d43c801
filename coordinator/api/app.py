"""The FastAPI application: routes, the error handler, and a lifespan that owns the service.

`create_app(settings)` builds the app; the lifespan opens the `Coordinator` (store, twin,
ingest, MQTT, alarm service, planner), starts it, and fills `app.state`:

    settings, coordinator, metrics   the core (this package)
    alarms                           the alarm service (`coordinator.alarms`)
    forecasts                        the forecast job (`coordinator.forecast.serving.job`)
    plans                            the re-planning loop (`coordinator.plan.runner`)
    jobs                             the job tracker (`coordinator.jobs.tracker`)
    audit                            the audit log of API writes (`coordinator.access`)

Every request passes the request guard (`coordinator.api.guard`: body size, write rate,
audit); CORS is off unless `cors_origins` lists origins.

Each part is handed to the routes through `coordinator.api.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from coordinator.access.audit_log import AuditLog
from coordinator.api.auth import require_all_sites
from coordinator.api.deps import DEPENDENCY_PROBLEMS
from coordinator.api.errors import install_error_handlers
from coordinator.api.guard import RequestGuard
from coordinator.api.problems import document_problems
from coordinator.api.routes import (
    alarms,
    audit,
    commands,
    dashboard,
    dead_letters,
    forecasts,
    health,
    jobs,
    live_streams,
    metrics,
    nodes,
    orders,
    plans,
    sales,
    stock,
    track,
)
from coordinator.metrics import build_registry
from coordinator.service import Coordinator
from coordinator.settings import CoordinatorSettings
from fleet_runtime.clock import Clock

FLEET_WIDE: Final = (dead_letters, orders, plans, jobs, sales, live_streams, audit)
"""Routers of fleet-wide resources (plans and orders span machines and warehouses of
every site; sales orders are promised across the whole network; dead letters may name no
site): only a token covering every site may use them."""


def create_app(
    settings: CoordinatorSettings, *, start_service: bool = True, clock: Clock | None = None
) -> FastAPI:
    """The coordinator's HTTP app; `start_service=False` opens the parts without connecting;
    `clock` dates everything it plans and records (default: wall time)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        coordinator = Coordinator.open(settings, clock=clock)
        app.state.settings = settings
        app.state.coordinator = coordinator
        app.state.alarms = coordinator.alarms
        app.state.plans = coordinator.plans
        app.state.jobs = coordinator.jobs
        app.state.forecasts = coordinator.forecasts
        app.state.metrics = build_registry(coordinator)
        audit_log = app.state.audit = AuditLog(settings.audit_db_file)
        if start_service:
            coordinator.start()
        else:
            coordinator.writer.start()
        try:
            yield
        finally:
            audit_log.close()
            if app.state.audit is audit_log:
                app.state.audit = None
            if start_service:
                coordinator.stop()
            else:
                coordinator.writer.stop()
                if coordinator.forecasts is not None:
                    coordinator.forecasts.close()
                if coordinator.alarms is not None:
                    coordinator.alarms.close()
                if coordinator.sales_webhooks is not None:
                    coordinator.sales_webhooks.close()
                coordinator.close_stores()

    app = FastAPI(
        title="flexfleet coordinator",
        version="0.1.0",
        description="Fleet twin, telemetry, stock, dead letters and alarms of a flexfleet fleet.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for module in (health, metrics, nodes, commands, stock, forecasts, track, alarms, dashboard):
        app.include_router(module.router)
    # Fleet-wide resources with no site of their own: a site-scoped token gets 403.
    for module in FLEET_WIDE:
        app.include_router(module.router, dependencies=[Depends(require_all_sites)])
    app.add_middleware(RequestGuard, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type"],
        )
    document_problems(app, DEPENDENCY_PROBLEMS)
    return app


__all__ = ["create_app"]
