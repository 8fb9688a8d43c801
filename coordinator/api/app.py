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

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Final

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from coordinator.access.audit_log import AuditLog
from coordinator.api.auth import require_all_sites
from coordinator.api.clock_header import NOW_HEADER, ClockHeader
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
from coordinator.leadership import LeaderWatch, fail_stop
from coordinator.metrics import build_registry
from coordinator.service import Coordinator
from coordinator.settings import CoordinatorSettings
from fleet_runtime.clock import Clock, SystemClock

log = logging.getLogger(__name__)

FLEET_WIDE: Final = (sales, orders, plans, jobs, live_streams, dead_letters, audit)
"""Routers of fleet-wide resources (plans and orders span machines and warehouses of
every site; sales orders are promised across the whole network; dead letters may name no
site): only a token covering every site may use them."""


def create_app(
    settings: CoordinatorSettings,
    *,
    start_service: bool = True,
    clock: Clock | None = None,
    on_leader_lost: Callable[[], None] = fail_stop,
) -> FastAPI:
    """The coordinator's HTTP app; `start_service=False` opens the parts without connecting;
    `clock` dates everything it plans and records (default: wall time). With
    `leader_lock`, it leads only while it holds the lock and stands by otherwise;
    `on_leader_lost` is called when a leader's lock is lost (default: end the process)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.coordinator = None
        app.state.role = "leader" if settings.leader_lock else "single"
        audit_log = app.state.audit = AuditLog(settings.audit_db_file)
        watch = _stand_by(app, settings, clock, start_service, on_leader_lost)
        if watch is None:
            _lead(app, settings, clock, start_service)
        try:
            yield
        finally:
            if watch is not None:
                watch.stop()  # a promotion under way ends first
            audit_log.close()
            if app.state.audit is audit_log:
                app.state.audit = None
            coordinator = app.state.coordinator
            if coordinator is not None:
                _shut_down(coordinator, start_service)
            for standby_part in ("reads", "alarm_board"):
                part = getattr(app.state, standby_part, None)
                if part is not None:
                    part.close()
            if watch is not None:
                watch.lock.close()

    app = FastAPI(
        title="flexfleet coordinator",
        version="0.1.0",
        description="Fleet twin, telemetry, stock, dead letters and alarms of a flexfleet fleet.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Routes are matched in the order included: the busiest first (sales orders; the audit
    # trail reads them back without a request, `coordinator.api.read_backs`); no two routers
    # share a path.
    # Fleet-wide resources with no site of their own: a site-scoped token gets 403.
    for module in FLEET_WIDE:
        app.include_router(module.router, dependencies=[Depends(require_all_sites)])
    for module in (track, health, metrics, nodes, commands, stock, forecasts, alarms, dashboard):
        app.include_router(module.router)
    app.add_middleware(RequestGuard, settings=settings)
    app.add_middleware(ClockHeader, clock=clock or SystemClock())
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=[NOW_HEADER],
        )
    document_problems(app, DEPENDENCY_PROBLEMS)
    return app


def _lead(
    app: FastAPI, settings: CoordinatorSettings, clock: Clock | None, start_service: bool
) -> Coordinator:
    """Open and start every part, and hand them to the routes."""
    coordinator = Coordinator.open(settings, clock=clock)
    app.state.alarms = coordinator.alarms
    app.state.plans = coordinator.plans
    app.state.jobs = coordinator.jobs
    app.state.forecasts = coordinator.forecasts
    app.state.metrics = build_registry(coordinator)
    if start_service:
        coordinator.start()
    else:
        coordinator.writer.start()
    app.state.coordinator = coordinator
    return coordinator


def _stand_by(
    app: FastAPI,
    settings: CoordinatorSettings,
    clock: Clock | None,
    start_service: bool,
    on_leader_lost: Callable[[], None],
) -> LeaderWatch | None:
    """With `leader_lock`: take the lock now if it is free (and lead at once), else stand
    by, serving reads from the database, until the watch takes it and promotes this
    coordinator; either way the watch then keeps checking the lock. None without
    `leader_lock` (one coordinator, no lock: the SQLite default)."""
    if not settings.leader_lock or settings.db_url is None:
        return None
    from coordinator.store.alarm_board import PostgresAlarmBoard
    from coordinator.store.leader_lock import LeaderLock
    from coordinator.store.postgres_store import PostgresStore

    lock = LeaderLock(settings.db_url, settings.coordinator_id)

    def promote() -> None:
        try:
            _lead(app, settings, clock, start_service)
        except Exception:
            log.exception("could not take over as the leader")
            on_leader_lost()
            return
        app.state.role = "leader"

    watch = LeaderWatch(
        lock, on_acquired=promote, on_lost=on_leader_lost, poll_s=settings.leader_poll_s
    )
    if lock.try_acquire():
        _lead(app, settings, clock, start_service)
    else:
        app.state.role = "standby"
        app.state.reads = PostgresStore(settings.db_url)
        app.state.alarm_board = PostgresAlarmBoard(settings.db_url)
        log.warning(
            "standing by: another coordinator %r holds the leader lock", settings.coordinator_id
        )
    watch.start()
    return watch


def _shut_down(coordinator: Coordinator, start_service: bool) -> None:
    if start_service:
        coordinator.stop()
        return
    coordinator.writer.stop()
    if coordinator.plans is not None:
        coordinator.plans.stop()  # its planner's process, if one was started
    if coordinator.forecasts is not None:
        coordinator.forecasts.close()
    if coordinator.alarms is not None:
        coordinator.alarms.close()
    if coordinator.sales_webhooks is not None:
        coordinator.sales_webhooks.close()
    coordinator.close_stores()


__all__ = ["create_app"]
