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

Validation is strict: no type coercion (`"1"` is not a number, `true` is not `1`),
unknown fields are refused, floats must be finite, and every string and collection has
an upper bound so a hostile payload cannot ask for unbounded work.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

from protocol.topics import ID_PATTERN

PROTOCOL_VERSION: Final = 1
MAX_SEQ: Final = 2**63 - 1
# Timestamps are milliseconds since the Unix epoch, between 2000-01-01 and 2100-01-01.
MIN_TS_MS: Final = 946_684_800_000
MAX_TS_MS: Final = 4_102_444_800_000
MAX_SAMPLES: Final = 20_000
MAX_SIGNALS: Final = 2_000
MAX_WINDOW: Final = 512
MAX_ABS_VALUE: Final = 1e15
MAX_STOCK_QTY: Final = 10**9

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
Text = Annotated[str, StringConstraints(max_length=1000)]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
TsMs = Annotated[int, Field(ge=MIN_TS_MS, le=MAX_TS_MS)]
Value = Annotated[float, Field(ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)]
Severity = Literal["CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE"]
NodeKind = Literal["machine", "warehouse", "gateway"]

Sample = tuple[Name, TsMs, Value]
"""One reading: (signal name, timestamp in ms, value)."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class SignalSpec(_Strict):
    """A signal a node reports, announced in its birth."""

    name: Name
    unit: Annotated[str, StringConstraints(max_length=32)] = ""
    low: Value | None = None
    high: Value | None = None


class _FromNode(_Strict):
    v: Literal[1] = PROTOCOL_VERSION
    site: Id
    node: Id


class _DataMessage(_FromNode):
    bd_seq: Seq
    seq: Seq
    ts: TsMs
    historical: bool = False


class Birth(_DataMessage):
    """Sent on every (re)connect: what the node is and what it reports.

    `pending_from_seq` is the lowest seq still waiting in the node's outbox (None if the
    outbox is empty): any gap the coordinator sees below it will never be filled.
    `stats` reports counters such as `dropped_telemetry` since the node's outbox began.
    """

    kind: Literal["birth"] = "birth"
    node_kind: NodeKind
    firmware: Annotated[str, StringConstraints(max_length=64)] = ""
    signals: Annotated[tuple[SignalSpec, ...], Field(max_length=MAX_SIGNALS)] = ()
    capabilities: Annotated[tuple[Name, ...], Field(max_length=64)] = ()
    pending_from_seq: Seq | None = None
    stats: Annotated[dict[Name, Annotated[int, Field(ge=0)]], Field(max_length=64)] = Field(
        default_factory=dict
    )


class Death(_FromNode):
    """The node's MQTT last will: its session `bd_seq` ended."""

    kind: Literal["death"] = "death"
    bd_seq: Seq


class Telemetry(_DataMessage):
    """A batch of samples, many signals per message."""

    kind: Literal["telemetry"] = "telemetry"
    samples: Annotated[tuple[Sample, ...], Field(min_length=1, max_length=MAX_SAMPLES)]


class Stock(_DataMessage):
    """Stock of a micro-warehouse: a full `snapshot` of levels, or signed `delta` changes."""

    kind: Literal["stock"] = "stock"
    mode: Literal["snapshot", "delta"]
    items: Annotated[
        dict[Name, Annotated[int, Field(ge=-MAX_STOCK_QTY, le=MAX_STOCK_QTY)]],
        Field(max_length=MAX_SIGNALS),
    ]
    reason: Annotated[str, StringConstraints(max_length=64)] = ""

    @model_validator(mode="after")
    def _snapshot_levels_not_negative(self) -> Stock:
        if self.mode == "snapshot":
            negative = [sku for sku, qty in self.items.items() if qty < 0]
            if negative:
                raise ValueError(f"snapshot levels cannot be negative: {negative[:5]}")
        return self


class Event(_DataMessage):
    """Something that happened on the node: an anomaly raised or cleared, a state change, a fault."""

    kind: Literal["event"] = "event"
    name: Name
    severity: Severity = "INDETERMINATE"
    state: Literal["raised", "cleared"] | None = None
    signal: Name | None = None
    detector: Name | None = None
    score: Value | None = None
    window: Annotated[tuple[Value, ...], Field(max_length=MAX_WINDOW)] = ()
    reason: Text = ""
    data: Annotated[dict[Name, str | int | float | bool], Field(max_length=64)] = Field(
        default_factory=dict
    )


class Command(_FromNode):
    """A request to one node; `site`/`node` name the addressee."""

    kind: Literal["cmd"] = "cmd"
    name: Id
    cmd_id: Id
    ts: TsMs
    args: Annotated[dict[Name, JsonValue], Field(max_length=256)] = Field(default_factory=dict)


class CommandAck(_FromNode):
    """A node's answer to a command: `ok`, or a nack with a `reason`."""

    kind: Literal["ack"] = "ack"
    name: Id
    cmd_id: Id
    ts: TsMs
    ok: bool
    reason: Text = ""


class CoordinatorState(_Strict):
    """The coordinator's retained presence; its last will says `online=False`."""

    v: Literal[1] = PROTOCOL_VERSION
    kind: Literal["state"] = "state"
    online: bool
    ts: TsMs
    coordinator: Id


Message = Birth | Death | Telemetry | Stock | Event | Command | CommandAck | CoordinatorState
DataMessage = Birth | Telemetry | Stock | Event
