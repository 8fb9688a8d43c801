"""Plan diffs: what changed between two schedules or two sets of routes.

A diff is what the coordinator publishes to the agents concerned, so it is keyed by the
node that must act: machines for a schedule, vehicles (and their depots) for routes.
"""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.plan.routing.problem import RoutingResult
from coordinator.plan.schedule.problem import Schedule

__all__ = ["RouteDiff", "ScheduleDiff", "diff_routes", "diff_schedules"]


@dataclass(frozen=True, slots=True)
class ScheduleDiff:
    """Operations added, removed, moved in time, or reassigned to another machine."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    moved: tuple[str, ...]  # same machine, other start
    reassigned: tuple[str, ...]  # other machine
    machines: tuple[str, ...]  # every machine whose sequence changed

    @property
    def empty(self) -> bool:
        """True when nothing changed."""
        return not (self.added or self.removed or self.moved or self.reassigned)


def diff_schedules(old: Schedule | None, new: Schedule) -> ScheduleDiff:
    """Compare two schedules operation by operation."""
    before = old.by_operation() if old else {}
    after = new.by_operation()
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    moved, reassigned = [], []
    machines = {after[o].machine_id for o in added} | {before[o].machine_id for o in removed}
    for op_id in sorted(set(before) & set(after)):
        a, b = before[op_id], after[op_id]
        if a.machine_id != b.machine_id:
            reassigned.append(op_id)
            machines |= {a.machine_id, b.machine_id}
        elif a.start != b.start:
            moved.append(op_id)
            machines.add(b.machine_id)
    return ScheduleDiff(
        tuple(added), tuple(removed), tuple(moved), tuple(reassigned), tuple(sorted(machines))
    )


@dataclass(frozen=True, slots=True)
class RouteDiff:
    """Vehicles whose stop list changed, and orders that changed vehicle."""

    changed_vehicles: tuple[str, ...]
    reassigned_orders: tuple[str, ...]
    added_orders: tuple[str, ...]
    removed_orders: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True when nothing changed."""
        return not self.changed_vehicles


def diff_routes(old: RoutingResult | None, new: RoutingResult) -> RouteDiff:
    """Compare two routing results vehicle by vehicle."""
    before = old.stops_by_vehicle() if old else {}
    after = new.stops_by_vehicle()
    changed = sorted(v for v in set(before) | set(after) if before.get(v) != after.get(v))
    where_before = {o: v for v, stops in before.items() for o in stops}
    where_after = {o: v for v, stops in after.items() for o in stops}
    reassigned = sorted(
        o for o in set(where_before) & set(where_after) if where_before[o] != where_after[o]
    )
    return RouteDiff(
        tuple(changed),
        tuple(reassigned),
        tuple(sorted(set(where_after) - set(where_before))),
        tuple(sorted(set(where_before) - set(where_after))),
    )
