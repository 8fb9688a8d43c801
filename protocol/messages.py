"""The message kinds of the wire protocol, as immutable, strictly validated values.

Sparkplug B's rules, adapted to JSON over MQTT 5:
- `Birth` on every (re)connect with the node's signals, capabilities and `bd_seq`;
  `Death` is the MQTT last will with the same `bd_seq` (Sparkplug 3.0 §5.5, §5.9).
- Data messages (`Birth`, `Telemetry`, `Stock`, `Event`) carry `seq`, one counter per
  node that grows by one per message and persists across restarts, so the coordinator
  can find gaps and duplicates (see `protocol.sequence`). Replayed data has
  `historical=True`.
- `Command` / `CommandAck` are a request/response pair matched by `cmd_id`; they are not
  part of the data stream and carry no `seq`.
- `CoordinatorState` is the coordinator's retained online/offline flag.

Every message validates itself on construction, whether built in code or decoded:
no type coercion (`"1"` is not a number, `true` is not `1`), unknown fields refused,
floats finite, and every string and collection bounded, so a hostile payload cannot
ask for unbounded work. Plain frozen dataclasses keep the edge agent's footprint small.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal

from protocol import checks, reports
from protocol.errors import InvalidMessage
from protocol.topics import ID_PATTERN, NAME_PATTERN

PROTOCOL_VERSION: Final = 3
SUPPORTED_VERSIONS: Final = (1, 2, 3)
"""Versions this code reads. A message is written with the lowest version that can carry
it (`min_version`), so agents of an older version keep reading what they are sent."""
MAX_SEQ: Final = 2**63 - 1
# Timestamps are milliseconds since the Unix epoch, between 2000-01-01 and 2100-01-01.
MIN_TS_MS: Final = 946_684_800_000
MAX_TS_MS: Final = 4_102_444_800_000
MAX_SAMPLES: Final = 20_000
MAX_SIGNALS: Final = 2_000
MAX_SITES: Final = 1_000
MAX_WINDOW: Final = 512
MAX_ABS_VALUE: Final = 1e15
MAX_STOCK_QTY: Final = 10**9
MAX_STOCK_ITEMS: Final = MAX_SIGNALS
"""SKUs in one stock message; a larger snapshot goes in parts (`stock_parts`)."""
MAX_SNAPSHOT_PARTS: Final = 100
SEVERITIES: Final = ("CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE")
NODE_KINDS: Final = ("machine", "warehouse", "gateway", "vehicle")

Severity = Literal["CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE"]
NodeKind = Literal["machine", "warehouse", "gateway", "vehicle"]
Sample = tuple[str, int, float]
"""One reading: (signal name, timestamp in ms, value)."""

_id = checks.text(max_len=64, pattern=ID_PATTERN)
_name = checks.text(max_len=64, pattern=NAME_PATTERN)
_seq = checks.integer(0, MAX_SEQ)
_ts = checks.integer(MIN_TS_MS, MAX_TS_MS)
_value = checks.number(-MAX_ABS_VALUE, MAX_ABS_VALUE)
_reason = checks.text(max_len=1000)
_SEQUENCED: Final[Mapping[str, checks.Checker]] = {
    "site": _id,
    "node": _id,
    "bd_seq": _seq,
    "seq": _seq,
    "ts": _ts,
    "historical": checks.boolean,
}
"""Checks of the header every sequenced message (telemetry, stock, event) carries."""
_LATER_FIELDS: Final = frozenset({"transfer_id", "part", "parts"})
"""Optional fields added after version 1: omitted from the payload when unset."""


class _Validated:
    """Validates and normalises fields after construction, from `_CHECKS`."""

    __slots__ = ()
    _CHECKS: ClassVar[Mapping[str, checks.Checker]]
    kind: ClassVar[str]

    def __post_init__(self) -> None:
        for name, check in self._CHECKS.items():
            object.__setattr__(self, name, check(getattr(self, name), name))
        self._check_whole()

    def _check_whole(self) -> None:
        """Rules spanning several fields; subclasses override."""

    def min_version(self) -> int:
        """The lowest protocol version that can carry this message; subclasses override."""
        return 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON object for this message, versioned by `min_version`; fields added in a
        later version are left out while unset, so the payload stays readable by older code."""
        body: dict[str, Any] = {"v": self.min_version(), "kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.name in _LATER_FIELDS:
                continue
            if f.name == "signals":
                value = [spec.to_dict() for spec in value]
            body[f.name] = value
        return body

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Any:
        """Build from a decoded JSON object (with `v` and `kind` already checked)."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(obj) - names - {"v", "kind"})
        if unknown:
            raise InvalidMessage(f"unknown field {unknown[0][:64]!r}", field=unknown[0][:64])
        missing = [
            f.name
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if f.name not in obj
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise InvalidMessage(f"missing field {missing[0]!r}", field=missing[0])
        kwargs = {k: v for k, v in obj.items() if k in names}
        if "signals" in kwargs and isinstance(kwargs["signals"], list | tuple):
            kwargs["signals"] = tuple(
                SignalSpec.from_dict(s) if isinstance(s, dict) else s for s in kwargs["signals"]
            )
        return cls(**kwargs)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalSpec(_Validated):
    """A signal a node reports, announced in its birth."""

    kind: ClassVar[str] = "signal"
    name: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "name": _name,
        "unit": checks.text(max_len=32),
        "low": checks.optional(_value),
        "high": checks.optional(_value),
    }

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, "low": self.low, "high": self.high}


def _signal_spec(value: object, name: str) -> object:
    if not isinstance(value, SignalSpec):
        raise checks.fail(name, "expected a signal object {name, unit, low, high}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Birth(_Validated):
    """Sent on every (re)connect: what the node is and what it reports.

    `pending_from_seq` is the lowest seq still waiting in the node's outbox (None if the
    outbox is empty): any gap the coordinator sees below it will never be filled.
    `stats` reports counters such as `dropped_telemetry` since the node's outbox began.
    """

    kind: ClassVar[str] = "birth"
    site: str
    node: str
    bd_seq: int
    seq: int
    ts: int
    historical: bool = False
    node_kind: NodeKind
    firmware: str = ""
    signals: tuple[SignalSpec, ...] = ()
    capabilities: tuple[str, ...] = ()
    pending_from_seq: int | None = None
    stats: dict[str, int] = field(default_factory=dict)
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        **_SEQUENCED,
        "node_kind": checks.one_of(*NODE_KINDS),
        "firmware": checks.text(max_len=64),
        "signals": checks.array(_signal_spec, max_len=MAX_SIGNALS),
        "capabilities": checks.array(_name, max_len=64),
        "pending_from_seq": checks.optional(_seq),
        "stats": checks.mapping(_name, checks.integer(0, MAX_SEQ), max_len=64),
    }

    def min_version(self) -> int:
        return 2 if self.node_kind == "vehicle" else 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Death(_Validated):
    """The node's MQTT last will: its session `bd_seq` ended."""

    kind: ClassVar[str] = "death"
    site: str
    node: str
    bd_seq: int
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {"site": _id, "node": _id, "bd_seq": _seq}


@dataclass(frozen=True, slots=True, kw_only=True)
class Telemetry(_Validated):
    """A batch of samples, many signals per message."""

    kind: ClassVar[str] = "telemetry"
    site: str
    node: str
    bd_seq: int
    seq: int
    ts: int
    historical: bool = False
    samples: tuple[Sample, ...]
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        **_SEQUENCED,
        "samples": checks.samples(
            name_check=_name,
            ts_lo=MIN_TS_MS,
            ts_hi=MAX_TS_MS,
            value_bound=MAX_ABS_VALUE,
            max_len=MAX_SAMPLES,
        ),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Stock(_Validated):
    """Stock of a micro-warehouse: a full `snapshot` of levels, or signed `delta` changes.

    A receipt of goods moved to the warehouse (version 2) is a delta of positive
    quantities naming its `transfer_id`, so the reader can apply each transfer once.
    A snapshot of more SKUs than one message carries (`MAX_STOCK_ITEMS`) goes as `parts`
    messages of consecutive seqs (version 3), `part` 0 first, each with its share of the
    SKUs (`stock_parts`): together they are one snapshot taken at the first part.
    """

    kind: ClassVar[str] = "stock"
    site: str
    node: str
    bd_seq: int
    seq: int
    ts: int
    historical: bool = False
    mode: Literal["snapshot", "delta"]
    items: dict[str, int]
    reason: str = ""
    transfer_id: str | None = None
    part: int | None = None
    parts: int | None = None
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        **_SEQUENCED,
        "transfer_id": checks.optional(_name),
        "mode": checks.one_of("snapshot", "delta"),
        "items": checks.mapping(
            _name, checks.integer(-MAX_STOCK_QTY, MAX_STOCK_QTY), max_len=MAX_STOCK_ITEMS
        ),
        "reason": checks.text(max_len=64),
        "part": checks.optional(checks.integer(0, MAX_SNAPSHOT_PARTS - 1)),
        "parts": checks.optional(checks.integer(2, MAX_SNAPSHOT_PARTS)),
    }

    def _check_whole(self) -> None:
        if self.mode == "snapshot":
            negative = sorted(sku for sku, qty in self.items.items() if qty < 0)
            if negative:
                raise checks.fail("items", f"snapshot levels cannot be negative: {negative[:5]}")
        if self.transfer_id is not None:
            if self.mode != "delta":
                raise checks.fail("transfer_id", "a receipt is a delta, not a snapshot")
            if not self.items or min(self.items.values()) <= 0:
                raise checks.fail("items", "a receipt needs positive quantities")
        if (self.part is None) != (self.parts is None):
            raise checks.fail("part", "part and parts come together")
        if self.part is not None and self.parts is not None:
            if self.mode != "snapshot":
                raise checks.fail("part", "only a snapshot goes in parts")
            if self.part >= self.parts:
                raise checks.fail("part", f"part {self.part} of {self.parts} parts")

    @property
    def first_seq(self) -> int:
        """The seq of the snapshot's first part (its own seq when it is whole)."""
        return self.seq - (self.part or 0)

    def min_version(self) -> int:
        if self.parts is not None:
            return 3
        return 1 if self.transfer_id is None else 2


def stock_parts(
    mode: str, items: Mapping[str, int], *, max_items: int = MAX_STOCK_ITEMS
) -> list[tuple[int | None, int | None, dict[str, int]]]:
    """The (part, parts, items) of the stock messages carrying a `snapshot` of levels or
    `delta` of changes: one whole message (None, None, items) when they fit; else, in SKU
    order, chunks of at most `max_items` SKUs: the parts of one snapshot, or whole deltas
    (changes add up). Raises `InvalidMessage` past `MAX_SNAPSHOT_PARTS` snapshot parts."""
    if len(items) <= max_items:
        return [(None, None, dict(items))]
    skus = sorted(items)
    chunks = [skus[i : i + max_items] for i in range(0, len(skus), max_items)]
    if mode != "snapshot":
        return [(None, None, {s: items[s] for s in chunk}) for chunk in chunks]
    if len(chunks) > MAX_SNAPSHOT_PARTS:
        raise InvalidMessage(
            f"{len(items)} SKUs need {len(chunks)} parts; at most {MAX_SNAPSHOT_PARTS}",
            field="items",
        )
    return [(i, len(chunks), {s: items[s] for s in chunk}) for i, chunk in enumerate(chunks)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(_Validated):
    """Something that happened on the node: an anomaly raised or cleared, a state change."""

    kind: ClassVar[str] = "event"
    site: str
    node: str
    bd_seq: int
    seq: int
    ts: int
    historical: bool = False
    name: str
    severity: Severity = "INDETERMINATE"
    state: Literal["raised", "cleared"] | None = None
    signal: str | None = None
    detector: str | None = None
    score: float | None = None
    window: tuple[float, ...] = ()
    reason: str = ""
    data: dict[str, str | int | float | bool] = field(default_factory=dict)
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        **_SEQUENCED,
        "name": _name,
        "severity": checks.one_of(*SEVERITIES),
        "state": checks.optional(checks.one_of("raised", "cleared")),
        "signal": checks.optional(_name),
        "detector": checks.optional(_name),
        "score": checks.optional(_value),
        "window": checks.array(_value, max_len=MAX_WINDOW),
        "reason": _reason,
        "data": checks.mapping(_name, checks.scalar, max_len=64),
    }

    def _check_whole(self) -> None:
        reports.check_event_data(self.name, self.data, self.reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class Command(_Validated):
    """A request to one node; `site`/`node` name the addressee."""

    kind: ClassVar[str] = "cmd"
    site: str
    node: str
    name: str
    cmd_id: str
    ts: int
    args: dict[str, Any] = field(default_factory=dict)
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "site": _id,
        "node": _id,
        "name": _id,
        "cmd_id": _id,
        "ts": _ts,
        "args": checks.mapping(_name, checks.json_value, max_len=256),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandAck(_Validated):
    """A node's answer to a command: `ok`, or a nack with a `reason`."""

    kind: ClassVar[str] = "ack"
    site: str
    node: str
    name: str
    cmd_id: str
    ts: int
    ok: bool
    reason: str = ""
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "site": _id,
        "node": _id,
        "name": _id,
        "cmd_id": _id,
        "ts": _ts,
        "ok": checks.boolean,
        "reason": _reason,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class CoordinatorState(_Validated):
    """A coordinator's retained presence; its last will says `online=False`. `sites` are
    the sites it owns (empty: every site)."""

    kind: ClassVar[str] = "state"
    online: bool
    ts: int
    coordinator: str
    sites: tuple[str, ...] = ()
    _CHECKS: ClassVar[Mapping[str, checks.Checker]] = {
        "online": checks.boolean,
        "ts": _ts,
        "coordinator": _id,
        "sites": checks.array(_id, max_len=MAX_SITES),
    }

    def _check_whole(self) -> None:
        if "coordinator" in self.sites:
            raise InvalidMessage("site id 'coordinator' is reserved", field="sites")
        if len(set(self.sites)) != len(self.sites):
            raise InvalidMessage("a site is named twice", field="sites")


Message = Birth | Death | Telemetry | Stock | Event | Command | CommandAck | CoordinatorState
DataMessage = Birth | Telemetry | Stock | Event
MESSAGE_TYPES: Final[dict[str, type[Message]]] = {
    cls.kind: cls
    for cls in (Birth, Death, Telemetry, Stock, Event, Command, CommandAck, CoordinatorState)
}
