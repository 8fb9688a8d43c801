"""Every dependency of the coordinator's routes, and the parameter types they share, as
`Annotated` aliases.

Services come from `request.app.state`, filled in the lifespan (`coordinator.api.app`);
a part this coordinator runs without answers 404 (forecasts) or 503 (alarms, commands,
planning) through the error tree. Callers are identified by `coordinator.api.auth`:
`ViewerDep` / `OperatorDep` / `AdminDep` resolve to the principal's name when it holds
the role; `ScopeDep` is the sites the caller may see (routes filter by it, and answer 404
for a single thing of another site); `AllSitesDep` refuses (403) a caller whose token
covers only some sites, for fleet-wide resources.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final

from fastapi import Depends, Path, Query, Request

from coordinator.access.scope import Scope
from coordinator.alarms.errors import AlarmsUnavailable
from coordinator.alarms.fleet_list import AlarmBoard, FleetAlarms
from coordinator.alarms.service import AlarmService
from coordinator.api.auth import (
    Principal,
    current_principal,
    require_admin,
    require_all_sites,
    require_metrics_reader,
    require_operator,
    require_viewer,
)
from coordinator.commands import CommandLog, CommandsUnavailable
from coordinator.errors import NotFound, StandingBy
from coordinator.fleet.fleet_reads import NodeSource, fleet_reads
from coordinator.fleet.twin import FleetTwin
from coordinator.forecast.serving.job import ForecastJob
from coordinator.jobs.tracker import JobTracker
from coordinator.plan.errors import PlanningUnavailable
from coordinator.plan.runner import PlanRunner
from coordinator.sales.book import SalesBook
from coordinator.sales.errors import SalesUnavailable
from coordinator.service import Coordinator
from coordinator.settings import CoordinatorSettings
from coordinator.stock.errors import StreamsUnavailable
from coordinator.stock.plan_service import StockPlanner
from coordinator.stock.stream_book import LiveStreamBook
from coordinator.store.port import Store
from protocol.topics import ID, ID_PATTERN, NAME_PATTERN

LOCATION_PATTERN: Final = rf"^{ID}/{ID}$"  # a micro-warehouse, `site/node`


def get_coordinator(request: Request) -> Coordinator:
    """The running coordinator (`StandingBy`, 503, on a standby: ingest, alarms, planning
    and commands run on the leader)."""
    coordinator: Coordinator | None = getattr(request.app.state, "coordinator", None)
    if coordinator is None:
        raise StandingBy("this coordinator stands by; the leader runs ingest and planning")
    return coordinator


def get_fleet_nodes(request: Request) -> NodeSource:
    """The nodes of every site: the live twin for this coordinator's own sites, the
    database for the others' (all of them on a standby)."""
    coordinator: Coordinator | None = getattr(request.app.state, "coordinator", None)
    if coordinator is None:
        reads: Store | None = getattr(request.app.state, "reads", None)
        if reads is None:
            raise StandingBy("this coordinator is not running yet")
        return fleet_reads(None, (), reads)
    return fleet_reads(coordinator.twin, coordinator.settings.sites, coordinator.store)


def get_twin(request: Request) -> FleetTwin:
    """The fleet twin."""
    return get_coordinator(request).twin


def get_store(request: Request) -> Store:
    """The store."""
    return get_coordinator(request).store


async def get_settings(request: Request) -> CoordinatorSettings:
    """The settings the service runs with (async: a lookup, not worth a worker thread)."""
    settings: CoordinatorSettings = request.app.state.settings
    return settings


def get_fleet_alarms(request: Request) -> FleetAlarms:
    """The alarm list of every site: this coordinator's alarm service for its own sites,
    the shared alarm board (PostgreSQL) for the others' (all of them on a standby);
    `AlarmsUnavailable` (503) when it runs without alarms."""
    coordinator: Coordinator | None = getattr(request.app.state, "coordinator", None)
    board: AlarmBoard | None = getattr(request.app.state, "alarm_board", None)
    if coordinator is None and board is not None:  # a standby
        return FleetAlarms(None, (), board)
    if coordinator is None:  # an alarm service alone
        return FleetAlarms(get_alarms(request), (), None)
    feed = coordinator.alarm_board
    return FleetAlarms(
        get_alarms(request), coordinator.settings.sites, None if feed is None else feed.board
    )


def get_forecasts(request: Request) -> ForecastJob:
    """The forecasting job (404 when the service runs without one)."""
    job: ForecastJob | None = getattr(request.app.state, "forecasts", None)
    if job is None:
        raise NotFound("forecasts", "service")
    return job


def get_alarms(request: Request) -> AlarmService:
    """The alarm service at `app.state.alarms` (`AlarmsUnavailable`, 503, when none)."""
    service = getattr(request.app.state, "alarms", None)
    if not isinstance(service, AlarmService):
        raise AlarmsUnavailable("this coordinator runs without an alarm service")
    return service


def get_plans(request: Request) -> PlanRunner:
    """The coordinator's planner (`PlanningUnavailable`, 503, when it has none)."""
    runner: PlanRunner | None = getattr(request.app.state, "plans", None)
    if runner is None:
        raise PlanningUnavailable("planning is not running on this coordinator")
    return runner


def get_jobs(request: Request) -> JobTracker:
    """The coordinator's job tracker (404 when it runs without one)."""
    tracker: JobTracker | None = getattr(request.app.state, "jobs", None)
    if tracker is None:
        raise NotFound("jobs", "service")
    return tracker


async def get_sales(request: Request) -> SalesBook:
    """The coordinator's sales book (`SalesUnavailable`, 503, when it has none). Async: a
    lookup, not worth a hop to a worker thread on the order path."""
    return sales_book_of(request.app.state)


def sales_book_of(app_state: object) -> SalesBook:
    """The sales book of the app's state (`get_sales` without the request)."""
    coordinator = getattr(app_state, "coordinator", None)
    book: SalesBook | None = getattr(coordinator, "sales", None)
    if book is None:
        raise SalesUnavailable("sales orders are not taken on this coordinator")
    return book


def get_live_streams(request: Request) -> LiveStreamBook:
    """The coordinator's live-stream book (`StreamsUnavailable`, 503, when it has none)."""
    coordinator = getattr(request.app.state, "coordinator", None)
    book: LiveStreamBook | None = getattr(coordinator, "live_streams", None)
    if book is None:
        raise StreamsUnavailable("live streams are not kept on this coordinator")
    return book


def get_stock_plan(request: Request) -> StockPlanner:
    """The coordinator's stock planner (`PlanningUnavailable`, 503, when it has none)."""
    coordinator = getattr(request.app.state, "coordinator", None)
    planner: StockPlanner | None = getattr(coordinator, "stock_plan", None)
    if planner is None:
        raise PlanningUnavailable("stock placement is not planned on this coordinator")
    return planner


def get_commands(request: Request) -> CommandLog:
    """The coordinator's command log (`CommandsUnavailable`, 503, when it has none)."""
    coordinator = getattr(request.app.state, "coordinator", None)
    log: CommandLog | None = getattr(coordinator, "commands", None)
    if log is None:
        raise CommandsUnavailable("command tracking is not running on this coordinator")
    return log


DEPENDENCY_PROBLEMS: Final[Mapping[Callable[..., Any], tuple[int, ...]]] = {
    current_principal: (401, 403),  # 403: a metrics-only token
    require_metrics_reader: (401, 403),
    require_operator: (403,),
    require_admin: (403,),
    require_all_sites: (403,),
    get_coordinator: (503,),  # a standby
    get_fleet_nodes: (503,),  # the store failing, or a standby not running yet
    get_store: (503,),  # the store failing
    get_alarms: (503,),
    get_fleet_alarms: (503,),
    get_plans: (503,),
    get_commands: (503,),
    get_forecasts: (404, 503),
    get_jobs: (404, 503),
    get_sales: (503,),
    get_stock_plan: (503,),
}
"""The error statuses each dependency can answer (so every route using it documents
them; `coordinator.api.problems.document_problems`)."""

# Services
CoordinatorDep = Annotated[Coordinator, Depends(get_coordinator)]
TwinDep = Annotated[FleetTwin, Depends(get_twin)]
FleetNodesDep = Annotated[NodeSource, Depends(get_fleet_nodes)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[CoordinatorSettings, Depends(get_settings)]
ForecastsDep = Annotated[ForecastJob, Depends(get_forecasts)]
AlarmsDep = Annotated[AlarmService, Depends(get_alarms)]
FleetAlarmsDep = Annotated[FleetAlarms, Depends(get_fleet_alarms)]
PlansDep = Annotated[PlanRunner, Depends(get_plans)]
JobsDep = Annotated[JobTracker, Depends(get_jobs)]
CommandsDep = Annotated[CommandLog, Depends(get_commands)]
SalesDep = Annotated[SalesBook, Depends(get_sales)]
LiveStreamsDep = Annotated[LiveStreamBook, Depends(get_live_streams)]
StockPlanDep = Annotated[StockPlanner, Depends(get_stock_plan)]

# Callers: the principal's name, when it holds the role (401 / 403 otherwise)
PrincipalDep = Annotated[Principal, Depends(current_principal)]
ViewerDep = Annotated[str, Depends(require_viewer)]
OperatorDep = Annotated[str, Depends(require_operator)]
AdminDep = Annotated[str, Depends(require_admin)]
AllSitesDep = Annotated[Principal, Depends(require_all_sites)]


async def get_scope(principal: Annotated[Principal, Depends(current_principal)]) -> Scope:
    """The sites the caller may see."""
    return principal.scope


ScopeDep = Annotated[Scope, Depends(get_scope)]

# Parameters
IdQuery = Annotated[str, Query(min_length=1, max_length=64, pattern=ID_PATTERN)]
"""A site or node id, checked against the protocol's id rule."""
FilterText = Annotated[str, Query(min_length=1, max_length=64)]
"""A site filter taken as given (an unknown one matches nothing)."""
SkuQuery = Annotated[str | None, Query(pattern=NAME_PATTERN, description="one SKU")]
LocationQuery = Annotated[
    str | None, Query(pattern=LOCATION_PATTERN, description="one micro-warehouse, `site/node`")
]
NodePath = Annotated[str, Path(min_length=1, max_length=64)]
CommandIdPath = Annotated[str, Path(min_length=1, max_length=64)]
AlarmIdPath = Annotated[str, Path(min_length=1, max_length=64, description="The alarm's id")]

__all__ = [
    "DEPENDENCY_PROBLEMS",
    "LOCATION_PATTERN",
    "AdminDep",
    "AlarmIdPath",
    "AlarmsDep",
    "AllSitesDep",
    "CommandIdPath",
    "CommandsDep",
    "CoordinatorDep",
    "FilterText",
    "FleetAlarmsDep",
    "FleetNodesDep",
    "ForecastsDep",
    "IdQuery",
    "JobsDep",
    "LocationQuery",
    "NodePath",
    "OperatorDep",
    "PlansDep",
    "PrincipalDep",
    "SalesDep",
    "ScopeDep",
    "SettingsDep",
    "SkuQuery",
    "StockPlanDep",
    "StoreDep",
    "TwinDep",
    "ViewerDep",
    "get_alarms",
    "get_commands",
    "get_coordinator",
    "get_fleet_alarms",
    "get_fleet_nodes",
    "get_forecasts",
    "get_jobs",
    "get_plans",
    "get_sales",
    "get_scope",
    "get_settings",
    "get_stock_plan",
    "get_store",
    "get_twin",
    "sales_book_of",
]
