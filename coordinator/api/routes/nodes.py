"""`/api/v1/nodes`: the fleet's nodes (every site: `coordinator.fleet.fleet_reads`), one
node, and a node's telemetry."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from coordinator.api.deps import (
    CoordinatorDep,
    FilterText,
    FleetNodesDep,
    ScopeDep,
    SettingsDep,
    StoreDep,
    ViewerDep,
)
from coordinator.api.models.nodes import NodeDetailOut, NodeOut, TelemetryOut
from coordinator.api.problems import problem_responses
from coordinator.api.site_scope import scoped_node
from coordinator.telemetry_query import query_telemetry
from fleet_runtime.clock import now_ms
from protocol.messages import NodeKind

router = APIRouter(prefix="/api/v1/nodes", tags=["nodes"])

DAY_MS = 86_400_000


@router.get("", summary="List nodes", response_model=list[NodeOut])
def list_nodes(
    twin: FleetNodesDep,
    _who: ViewerDep,
    scope: ScopeDep,
    site: FilterText | None = None,
    kind: NodeKind | None = None,
) -> list[NodeOut]:
    """Every node (of the caller's sites; of one `site` and one `kind` if given) with site,
    kind, online flag, last-seen time, bd_seq, last seq and counters: this coordinator's
    own sites from its live twin, other coordinators' sites (on a shared PostgreSQL) from
    the database, every site from the database on a standby."""
    return [
        NodeOut.of(v)
        for v in twin.nodes(site=site)
        if scope.covers(v.site) and (kind is None or v.kind == kind)
    ]


@router.get(
    "/{node}",
    summary="One node with its latest values",
    response_model=NodeDetailOut,
    responses=problem_responses(404),
)
def get_node(
    node: str, twin: FleetNodesDep, _who: ViewerDep, scope: ScopeDep, site: FilterText | None = None
) -> NodeDetailOut:
    """One node; 404 `not-found` for an unknown id. Rule beyond the schema, answered 422
    `invalid-request`: pass `site` when the id exists at several sites."""
    return NodeDetailOut.of(scoped_node(twin, node, site, scope))


@router.get(
    "/{node}/telemetry",
    summary="Stored samples of one signal",
    response_model=TelemetryOut,
    responses=problem_responses(404),
)
def get_telemetry(
    node: str,
    coordinator: CoordinatorDep,
    store: StoreDep,
    settings: SettingsDep,
    _who: ViewerDep,
    scope: ScopeDep,
    signal: Annotated[str, Query(min_length=1, max_length=64)],
    start: Annotated[
        str | None, Query(max_length=64, description="ms since epoch or ISO 8601")
    ] = None,
    end: Annotated[
        str | None, Query(max_length=64, description="ms since epoch or ISO 8601")
    ] = None,
    resolution: Literal["auto", "raw", "1m"] = "auto",
    site: FilterText | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> TelemetryOut:
    """Raw samples for short recent ranges, 1-minute rollups (min, max, mean, count) for
    long ones; 404 `not-found` for an unknown node.

    Rules beyond the schema, answered 422 `invalid-request` with the offending `field`:
    `start` and `end` are ms since the epoch or ISO 8601 with an offset, `start` is not
    after `end`; `site` is given when the node id exists at several sites."""
    view = scoped_node(coordinator.twin, node, site, scope)
    series = query_telemetry(
        store,
        site=view.site,
        node=view.node,
        signal=signal,
        start=start,
        end=end,
        resolution=resolution,
        now_ms=now_ms(coordinator.clock),
        raw_retention_ms=int(settings.raw_retention_days * DAY_MS),
        rollup_threshold_ms=int(settings.rollup_query_threshold_s * 1000),
        limit=min(limit, settings.max_query_points),
    )
    return TelemetryOut.of(series)


__all__ = ["router"]
