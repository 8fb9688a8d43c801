"""A policy whose facts from the world reach it over MQTT (`flexfleet scenario run --broker`).

`BrokerPolicy` wraps either policy. Each fact the world reports travels as the protocol
message its device would send, from its node, through a real broker
(`flexfleet.scenario.broker_link`), and reaches the wrapped policy only as what the
coordinator's ingest made of it (`BatchOutcome`):

| fact | node | message | read by ingest as |
|---|---|---|---|
| a machine finished a job (`on_made`) | the machine | event `operation_finished` (`protocol.reports.OperationReport`) | an operation report (`batch.progress`), state done |
| a machine broke down (`on_machine_down`) | the machine | event `machine_down`, `until_s` in its data | an agent event |
| goods arrived at a warehouse (`on_received`) | `{warehouse}-shelf` | stock delta with `transfer_id` = the job | a receipt (`batch.receipts`) |
| a van took a consignment (`on_picked`) | `{warehouse}-vans` | event `stop_arrived` (`StopReport`, the consignment as stop) | an agent event |
| an order's last part was delivered (`on_delivered`) | `{warehouse}-vans` | event `stop_delivered` (`StopReport`, the order as stop) | an agent event |
| a burnt warehouse lost a consignment (`on_lost_consignment`) | `{warehouse}-shelf` | event `consignment_lost` | an agent event |

The world objects a fact names (the job's work item, the consignment) are looked up by
the ids the accepted message carries. Everything else is called in-process as without a
broker: orders from the storefront (an HTTP call in production), what an idle machine
makes next, the tours, the per-step re-planning and stock reviews, and the shelves and
machines the policies read.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from coordinator.ingest.records import AgentEvent, BatchOutcome
from coordinator.jobs.progress import operation_id
from flexfleet.scenario.broker_link import BrokerLink, WireError
from flexfleet.scenario.demand import Order
from flexfleet.scenario.schema import WarehouseSpec
from flexfleet.scenario.world import (
    Consignment,
    MachineState,
    OrderState,
    Policy,
    WorkItem,
    World,
)
from protocol import Event, OperationReport, Stock, StopReport, stock_parts
from protocol.messages import NodeKind

K = TypeVar("K")
ROUTE_VERSION = 1  # the scenario's vans report against one standing route
SCHEDULE_VERSION = 1


def shelf_node(warehouse: str) -> str:
    """The node of a warehouse's shelves."""
    return f"{warehouse}-shelf"


def vans_node(warehouse: str) -> str:
    """The node of a warehouse's vans."""
    return f"{warehouse}-vans"


def nodes_of(world: World) -> dict[str, NodeKind]:
    """Every node of the world and its kind."""
    out: dict[str, NodeKind] = dict.fromkeys(world.machines, "machine")
    for w in world.warehouses:
        out[shelf_node(w)] = "warehouse"
        out[vans_node(w)] = "vehicle"
    return out


@dataclass
class BrokerPolicy:
    """`inner`, told what happened through the broker (see the module)."""

    inner: Policy
    link: BrokerLink
    name: str = ""
    _made: dict[tuple[str, str], deque[WorkItem]] = field(default_factory=dict)
    _shipped: dict[str, deque[WorkItem]] = field(default_factory=dict)
    _picks: dict[str, Consignment] = field(default_factory=dict)
    _lost: dict[str, Consignment] = field(default_factory=dict)
    _serial: int = 0
    _world: World | None = None

    def __post_init__(self) -> None:
        self.name = self.inner.name

    @property
    def replans(self) -> int:
        """The wrapped policy's re-plans."""
        return int(getattr(self.inner, "replans", 0))

    @property
    def tour_reasons(self) -> Sequence[str]:
        """Why each tour of the wrapped policy's last `tours` answer leaves."""
        return self.inner.tour_reasons

    # ---- in-process, as without a broker ---------------------------------------------------
    def start(self, world: World) -> None:
        """Connect every node, let the wrapped policy start (and stock the shelves), count
        the shelves into a snapshot each, then report every stock move."""
        self._world = world
        self.link.open(nodes_of(world))
        if hasattr(self.inner, "commands") and hasattr(self.inner, "schedules"):
            # plan commands go to the machines over MQTT
            self.inner.commands = _Commands(self.link)
            self.inner.schedules = self.link.queue
        self.inner.start(world)
        for w in sorted(world.warehouses):
            self._stock(world, w, "snapshot", dict(world.on_hand[w]), "count")
        world.stock_watch = self._stock_moved
        if hasattr(self.inner, "shelves"):  # the coordinator reads the shelves it was told
            self.inner.shelves = self._shelf

    def _shelf(self, warehouse: str) -> Mapping[str, int]:
        """A warehouse's levels in the coordinator's fleet twin."""
        entry = self.link.twin.entries.get((self.link.site, shelf_node(warehouse)))
        return {} if entry is None else entry.stock

    def _stock_moved(self, warehouse: str, changes: dict[str, int] | None, why: str) -> None:
        world = self._world
        if why == "receipt" or world is None:
            return  # a receipt's units go in its own message (`on_received`)
        if changes is None:
            self._stock(world, warehouse, "snapshot", {}, why)
        else:
            self._stock(world, warehouse, "delta", changes, why)

    def _stock(
        self, world: World, warehouse: str, mode: str, items: dict[str, int], why: str
    ) -> None:
        node = shelf_node(warehouse)
        for part, parts, chunk in stock_parts(mode, items):  # a large shelf's count in parts
            build = functools.partial(
                _stock_message, self.link.site, node, _ts(world), mode, chunk, why, part, parts
            )
            self.link.send(node, build, ts_ms=_ts(world))

    def on_order(self, world: World, order: Order) -> None:
        self.inner.on_order(world, order)

    def next_work(self, world: World, machine: MachineState) -> WorkItem | None:
        return self.inner.next_work(world, machine)

    def on_step(self, world: World) -> None:
        self.inner.on_step(world)

    def wave_times(self, day: int) -> Sequence[float]:
        return self.inner.wave_times(day)

    def tours(
        self, world: World, warehouse: WarehouseSpec, ready: Sequence[Consignment], capacity: int
    ) -> list[list[int]]:
        return self.inner.tours(world, warehouse, ready, capacity)

    # ---- facts, over the broker --------------------------------------------------------------
    def on_made(self, world: World, item: WorkItem, machine: MachineState) -> None:
        self._made.setdefault((machine.id, item.job_id), deque()).append(item)
        report = OperationReport(
            schedule_version=SCHEDULE_VERSION,
            operation_id=operation_id(item.job_id, 0),
            job_id=item.job_id,
            index=0,
            family=item.family,
            quantity=item.qty,
            state="done",
            good=item.qty,
            scrap=0,
        )
        self._event(world, machine.id, "operation_finished", report.to_data())

    def on_machine_down(self, world: World, machine: MachineState, until_s: float) -> None:
        self._event(world, machine.id, "machine_down", {"until_s": until_s}, severity="MAJOR")

    def on_received(self, world: World, item: WorkItem) -> None:
        self._shipped.setdefault(item.job_id, deque()).append(item)
        node = shelf_node(item.dest)
        outcome = self.link.send(
            node,
            lambda seq, bd: Stock(
                site=self.link.site, node=node, bd_seq=bd, seq=seq, ts=_ts(world),
                mode="delta", items={item.sku: item.qty}, reason="receipt",
                transfer_id=item.job_id,
            ),
            ts_ms=_ts(world),
        )  # fmt: skip
        self._apply(world, outcome)
        if item.order_id is not None:  # made for an order: from the dock to its van, not shelved
            self._stock(world, item.dest, "delta", {item.sku: -item.qty}, "to-order")

    def on_picked(self, world: World, consignment: Consignment) -> None:
        self._serial += 1
        stop = f"c{self._serial}"
        self._picks[stop] = consignment
        report = StopReport(
            route_version=ROUTE_VERSION,
            stop_id=stop,
            index=0,
            lat=consignment.point[0],
            lon=consignment.point[1],
            quantity=consignment.qty,
        )
        self._event(world, vans_node(consignment.warehouse), "stop_arrived", report.to_data())

    def on_delivered(self, world: World, state: OrderState) -> None:
        order = state.order
        report = StopReport(
            route_version=ROUTE_VERSION,
            stop_id=order.id,
            index=0,
            lat=order.lat,
            lon=order.lon,
            quantity=order.qty,
        )
        near = world.nearest_warehouse((order.lat, order.lon))
        self._event(world, vans_node(near), "stop_delivered", report.to_data())

    def on_lost_consignment(self, world: World, consignment: Consignment) -> None:
        self._serial += 1
        key = f"c{self._serial}"
        self._lost[key] = consignment
        data = {"consignment": key, "sku": consignment.sku, "qty": consignment.qty}
        node = shelf_node(consignment.warehouse)
        self._event(world, node, "consignment_lost", data, severity="MAJOR", reason="fire")

    # ---- the wire ----------------------------------------------------------------------------
    def _event(
        self,
        world: World,
        node: str,
        name: str,
        data: dict[str, Any],
        *,
        severity: str = "INDETERMINATE",
        reason: str = "",
    ) -> None:
        outcome = self.link.send(
            node,
            lambda seq, bd: Event(
                site=self.link.site, node=node, bd_seq=bd, seq=seq, ts=_ts(world), name=name,
                severity=severity, reason=reason, data=data,  # type: ignore[arg-type]
            ),
            ts_ms=_ts(world),
        )  # fmt: skip
        self._apply(world, outcome)

    def _apply(self, world: World, outcome: BatchOutcome) -> None:
        """Hand the wrapped policy the facts the coordinator's ingest accepted."""
        for progress in outcome.batch.progress:
            if progress.state == "done":
                item = _pop(self._made, (progress.node, progress.job_id))
                self.inner.on_made(world, item, world.machines[progress.node])
        for receipt in outcome.batch.receipts:
            self.inner.on_received(world, _pop(self._shipped, receipt.transfer_id))
        for happening in outcome.happenings:
            if isinstance(happening, AgentEvent):
                self._agent_event(world, happening.event)

    def _agent_event(self, world: World, event: Event) -> None:
        if event.name == "machine_down":
            until = event.data["until_s"]
            if not isinstance(until, float | int) or isinstance(until, bool):
                raise WireError(f"machine_down from {event.node}: until_s {until!r}")
            self.inner.on_machine_down(world, world.machines[event.node], float(until))
        elif event.name == "stop_arrived":
            stop: StopReport = StopReport.from_data(event.data)
            self.inner.on_picked(world, self._picks.pop(stop.stop_id))
        elif event.name == "stop_delivered":
            stop = StopReport.from_data(event.data)
            self.inner.on_delivered(world, world.orders[stop.stop_id])
        elif event.name == "consignment_lost":
            self.inner.on_lost_consignment(world, self._lost.pop(str(event.data["consignment"])))


@dataclass
class _Commands:
    """`CommandLog.send` for the planner: to the machine over the broker."""

    link: BrokerLink

    def send(self, *, site: str, node: str, name: str, args: Mapping[str, Any]) -> None:
        """Send the command and return once the machine's session holds it (the run's
        nodes all live under the run's site, whatever site the planner knows them by)."""
        del site
        self.link.command(node, name, args)


def _pop(pending: dict[K, deque[WorkItem]], key: K) -> WorkItem:
    items = pending.get(key)
    if not items:
        raise WireError(f"a fact about {key!r} that nothing published")
    item = items.popleft()
    if not items:
        del pending[key]
    return item


def _ts(world: World) -> int:
    """The world's time in protocol milliseconds."""
    return round((world.start_s + world.t) * 1000)


def _stock_message(
    site: str,
    node: str,
    ts: int,
    mode: str,
    items: dict[str, int],
    why: str,
    part: int | None,
    parts: int | None,
    seq: int,
    bd_seq: int,
) -> Stock:
    return Stock(
        site=site, node=node, bd_seq=bd_seq, seq=seq, ts=ts, mode=mode,  # type: ignore[arg-type]
        items=items, reason=why, part=part, parts=parts,
    )  # fmt: skip


__all__ = ["BrokerPolicy", "nodes_of", "shelf_node", "vans_node"]
