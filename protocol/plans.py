"""Plan updates: the arguments of the `schedule` and `route` commands.

The coordinator re-plans when the fleet changes and sends each agent concerned what
changed, as a `Command` on `ff/v1/{site}/{node}/cmd/schedule` (a machine's new operation
sequence) or `.../cmd/route` (a vehicle's new stop list, to its depot). The command's
`args` hold one update; `plan_command` builds the command and `plan_update` reads it back,
validated as strictly as every other message (bounded, no coercion, unknown fields refused).

Plan times are integers in `time_unit_s` seconds since `epoch_ms` (the coordinator's plan
clock): an operation runs from `epoch_ms + start * time_unit_s * 1000` to the same at `end`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from protocol import checks
from protocol.errors import InvalidMessage
from protocol.messages import MAX_TS_MS, MIN_TS_MS, Command, _Validated
from protocol.topics import ID_PATTERN, NAME_PATTERN

SCHEDULE_COMMAND: Final = "schedule"
ROUTE_COMMAND: Final = "route"
PLAN_COMMANDS: Final = (SCHEDULE_COMMAND, ROUTE_COMMAND)
EXECUTES_CAPABILITY: Final = "executes"
"""In a birth's `capabilities`: the node's device carries out the plans it takes (a machine
runs its schedule, so each operation needs a quantity); without it, a plan is only held."""
MAX_PLAN_ITEMS: Final = 5_000
MAX_PLAN_TIME: Final = 2**40
MAX_PLAN_VERSION: Final = 2**53
MAX_QUANTITY: Final = 10**9
STOP_ACTIONS: Final = ("delivery", "pickup", "depot")

_id = checks.text(max_len=64, pattern=ID_PATTERN)
_item_id = checks.text(max_len=64, pattern=NAME_PATTERN)
_item_ids = checks.array(_item_id, max_len=MAX_PLAN_ITEMS)
_time = checks.integer(0, MAX_PLAN_TIME)
_version = checks.integer(1, MAX_PLAN_VERSION)
_quantity = checks.integer(1, MAX_QUANTITY)
_optional_id = checks.text(max_len=64, pattern=r"^[A-Za-z0-9_.:\-]*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedOperation(_Validated):
    """One operation of a machine's sequence: from `start` to `end`, after `setup` units
    of changeover; `quantity` parts of product `family` (both optional on the wire, left
    out while unset: a machine that executes its schedule refuses an operation without a
    quantity)."""

    kind: ClassVar[str] = "operation"
    operation_id: str
    job_id: str
    start: int
    end: int
    setup: int = 0
    quantity: int | None = None
    family: str | None = None
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "operation_id": _item_id,
        "job_id": _item_id,
        "start": _time,
        "end": _time,
        "setup": _time,
        "quantity": checks.optional(_quantity),
        "family": checks.optional(_item_id),
    }

    def _check_whole(self) -> None:
        if self.end < self.start:
            raise checks.fail("end", f"end {self.end} is before start {self.start}")

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }


def _operation(value: object, name: str) -> object:
    if isinstance(value, PlannedOperation):
        return value
    if type(value) is not dict:
        raise checks.fail(name, "expected an operation object")
    return _build(PlannedOperation, value, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleUpdate(_Validated):
    """A machine's whole new sequence (`operations`, by start) and what changed in it:
    operations `moved` in time, `reassigned_in` from or `reassigned_out` to another
    machine, `added` (new jobs) and `removed` (finished or withdrawn)."""

    kind: ClassVar[str] = SCHEDULE_COMMAND
    version: int
    machine_id: str
    epoch_ms: int
    time_unit_s: float
    operations: tuple[PlannedOperation, ...] = ()
    moved: tuple[str, ...] = ()
    reassigned_in: tuple[str, ...] = ()
    reassigned_out: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "version": _version,
        "machine_id": _id,
        "epoch_ms": checks.integer(MIN_TS_MS, MAX_TS_MS),
        "time_unit_s": checks.number(0.001, 86_400.0),
        "operations": checks.array(_operation, max_len=MAX_PLAN_ITEMS),
        "moved": _item_ids,
        "reassigned_in": _item_ids,
        "reassigned_out": _item_ids,
        "added": _item_ids,
        "removed": _item_ids,
    }

    def to_dict(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        body["operations"] = [op.to_dict() for op in self.operations]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in body.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteStop(_Validated):
    """One stop of a route, located: `stop_id` (an order or a place), where it is, what
    happens there (`action`), the `quantity` handed over and, for goods moved between
    places, the `transfer_id` and `sku` (both empty if none; a transfer needs a SKU and a
    quantity)."""

    kind: ClassVar[str] = "stop"
    stop_id: str
    lat: float
    lon: float
    action: str = "delivery"
    quantity: int = 0
    transfer_id: str = ""
    sku: str = ""
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "stop_id": _item_id,
        "lat": checks.number(-90.0, 90.0),
        "lon": checks.number(-180.0, 180.0),
        "action": checks.one_of(*STOP_ACTIONS),
        "quantity": checks.integer(0, MAX_QUANTITY),
        "transfer_id": _optional_id,
        "sku": _optional_id,
    }

    def _check_whole(self) -> None:
        if self.transfer_id and (not self.sku or self.quantity < 1):
            raise checks.fail("transfer_id", "a transfer needs a sku and a quantity >= 1")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _stop(value: object, name: str) -> object:
    if isinstance(value, RouteStop):
        return value
    if type(value) is str:
        return _item_id(value, name)
    if type(value) is not dict:
        raise checks.fail(name, "expected a stop id or a stop object")
    return _build(RouteStop, value, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteUpdate(_Validated):
    """A vehicle's new stop list in visiting order (empty: the vehicle is idle). A stop is a
    `RouteStop` with its location, or (as in the first version) a bare id the vehicle must
    already know the place of."""

    kind: ClassVar[str] = ROUTE_COMMAND
    version: int
    vehicle_id: str
    depot_id: str
    stops: tuple[str | RouteStop, ...] = ()
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "version": _version,
        "vehicle_id": _id,
        "depot_id": _id,
        "stops": checks.array(_stop, max_len=MAX_PLAN_ITEMS),
    }

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "vehicle_id": self.vehicle_id,
            "depot_id": self.depot_id,
            "stops": [s if isinstance(s, str) else s.to_dict() for s in self.stops],
        }


PlanUpdate = ScheduleUpdate | RouteUpdate
_UPDATE_TYPES: Final[dict[str, type[ScheduleUpdate] | type[RouteUpdate]]] = {
    SCHEDULE_COMMAND: ScheduleUpdate,
    ROUTE_COMMAND: RouteUpdate,
}


def _build(cls: type[Any], obj: dict[str, Any], name: str) -> Any:
    """`cls` from a JSON object: unknown and missing fields named under `name`."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(obj) - set(fields))
    if unknown:
        raise checks.fail(name, f"unknown field {unknown[0][:64]!r}")
    missing = [
        f.name
        for f in fields.values()
        if f.name not in obj
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise checks.fail(name, f"missing field {missing[0]!r}")
    return cls(**obj)


def plan_command(update: PlanUpdate, *, site: str, node: str, cmd_id: str, ts: int) -> Command:
    """The command that carries `update` to one node."""
    return Command(
        site=site, node=node, name=update.kind, cmd_id=cmd_id, ts=ts, args=update.to_dict()
    )


def plan_update(command: Command) -> PlanUpdate:
    """The update a `schedule` or `route` command carries; `InvalidMessage` if it is not one."""
    cls = _UPDATE_TYPES.get(command.name)
    if cls is None:
        raise InvalidMessage(f"command {command.name!r} carries no plan update", field="name")
    update: PlanUpdate = _build(cls, dict(command.args), "args")
    return update


__all__ = [
    "EXECUTES_CAPABILITY",
    "MAX_PLAN_ITEMS",
    "MAX_QUANTITY",
    "PLAN_COMMANDS",
    "ROUTE_COMMAND",
    "SCHEDULE_COMMAND",
    "STOP_ACTIONS",
    "PlanUpdate",
    "PlannedOperation",
    "RouteStop",
    "RouteUpdate",
    "ScheduleUpdate",
    "plan_command",
    "plan_update",
]
