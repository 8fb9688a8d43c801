"""What devices report while they carry out plans: operations, stops and receipts.

Machines executing a schedule and vehicles driving a route report through the existing
message kinds, so the data stream, sequence numbers and store-and-forward stay one:

- **events** with well-known names whose `data` follows a fixed schema, checked when the
  event is built or decoded: a machine's `operation_started`, `operation_state`,
  `operation_counts` and `operation_finished` (an `OperationReport`), a vehicle's
  `stop_arrived`, `stop_delivered` and `stop_failed` (a `StopReport`);
- **telemetry samples** with well-known signal names: `op_good`, `op_scrap`, `op_state`
  (the index of the state in `OPERATION_STATES`) for machines, `lat` and `lon` for vehicles.

Counts are cumulative per operation (good and scrap made so far), so a replayed or
duplicated report can never count a part twice: the reader keeps the highest.
Warehouse receipts are `Stock` deltas with a `transfer_id` (see `protocol.messages`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

from protocol import checks
from protocol.errors import InvalidMessage

OPERATION_STATES: Final = ("setup", "run", "paused", "done")
OPERATION_EVENTS: Final = (
    "operation_started",
    "operation_state",
    "operation_counts",
    "operation_finished",
)
STOP_EVENTS: Final = ("stop_arrived", "stop_delivered", "stop_failed")
OPERATION_SIGNALS: Final = ("op_good", "op_scrap", "op_state")
POSITION_SIGNALS: Final = ("lat", "lon")
MAX_COUNT: Final = 10**9
MAX_INDEX: Final = 5_000
MAX_VERSION: Final = 2**53

OperationState = Literal["setup", "run", "paused", "done"]

_item_id = checks.text(max_len=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
_family = checks.text(max_len=64, pattern=r"^[A-Za-z0-9_.:\-]*$")
_count = checks.integer(0, MAX_COUNT)
_index = checks.integer(0, MAX_INDEX)
_version = checks.integer(1, MAX_VERSION)
_latitude = checks.number(-90.0, 90.0)
_longitude = checks.number(-180.0, 180.0)


class _Report:
    """A report validates its fields on construction and converts to and from event data."""

    __slots__ = ()
    _CHECKS: ClassVar[Mapping[str, checks.Checker]]

    def __post_init__(self) -> None:
        for name, check in self._CHECKS.items():
            object.__setattr__(self, name, check(getattr(self, name), name))
        self._check_whole()

    def _check_whole(self) -> None:
        """Rules spanning several fields; subclasses override."""

    def to_data(self) -> dict[str, str | int | float | bool]:
        """The event `data` object for this report."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_data(cls, data: Mapping[str, object], where: str = "data") -> Any:
        """The report in an event's `data`; `InvalidMessage` naming the field if it is not one."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise checks.fail(where, f"unknown field {unknown[0][:64]!r}")
        missing = sorted(names - set(data))
        if missing:
            raise checks.fail(where, f"missing field {missing[0]!r}")
        try:
            return cls(**data)
        except InvalidMessage as exc:
            raise checks.fail(f"{where}.{exc.field}", exc.reason) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationReport(_Report):
    """Where a machine is in one operation of its schedule: the operation (its index in the
    schedule of `schedule_version`), its job, family and quantity, its state and the good
    and scrap parts made so far."""

    schedule_version: int
    operation_id: str
    job_id: str
    index: int
    family: str
    quantity: int
    state: OperationState
    good: int
    scrap: int
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "schedule_version": _version,
        "operation_id": _item_id,
        "job_id": _item_id,
        "index": _index,
        "family": _family,
        "quantity": checks.integer(1, MAX_COUNT),
        "state": checks.one_of(*OPERATION_STATES),
        "good": _count,
        "scrap": _count,
    }

    def _check_whole(self) -> None:
        if self.good > self.quantity:
            raise checks.fail("good", f"{self.good} good parts exceed the quantity {self.quantity}")


@dataclass(frozen=True, slots=True, kw_only=True)
class StopReport(_Report):
    """A vehicle at one stop of its route (index in the route of `route_version`): where it
    is, the quantity delivered (0 unless delivered) and the transfer it carries ("" if none)."""

    route_version: int
    stop_id: str
    index: int
    lat: float
    lon: float
    quantity: int = 0
    transfer_id: str = ""
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "route_version": _version,
        "stop_id": _item_id,
        "index": _index,
        "lat": _latitude,
        "lon": _longitude,
        "quantity": _count,
        "transfer_id": _family,
    }


def check_event_data(name: str, data: Mapping[str, object], reason: str) -> None:
    """Refuse an event whose well-known `name` comes with data not of its schema."""
    if name in OPERATION_EVENTS:
        report: OperationReport = OperationReport.from_data(data)
        if (name == "operation_finished") != (report.state == "done"):
            raise checks.fail("data.state", f"{name} cannot be in state {report.state!r}")
    elif name in STOP_EVENTS:
        StopReport.from_data(data)
        if name == "stop_failed" and not reason:
            raise checks.fail("reason", "a failed stop needs a reason")


__all__ = [
    "OPERATION_EVENTS",
    "OPERATION_SIGNALS",
    "OPERATION_STATES",
    "POSITION_SIGNALS",
    "STOP_EVENTS",
    "OperationReport",
    "OperationState",
    "StopReport",
    "check_event_data",
]
