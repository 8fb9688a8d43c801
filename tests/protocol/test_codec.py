"""The JSON codec: canonical round trips, and DecodeError for every bad payload."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, Literal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    Birth,
    Command,
    CommandAck,
    CoordinatorState,
    Death,
    DecodeError,
    EncodeError,
    Event,
    IncompleteMessage,
    InvalidMessage,
    MalformedPayload,
    Message,
    PayloadTooLarge,
    Severity,
    SignalSpec,
    Stock,
    Telemetry,
    TopicError,
    TopicMismatch,
    UnknownKind,
    UnsupportedVersion,
    decode,
    encode,
    topic_for,
)

TS = 1_700_000_000_000
BASE: dict[str, Any] = {"site": "yiwu-1", "node": "press-01"}
DATA: dict[str, Any] = {**BASE, "bd_seq": 3, "seq": 41, "ts": TS}

CANONICAL: list[Message] = [
    Birth(
        **DATA,
        node_kind="machine",
        firmware="sim-1.0",
        signals=(SignalSpec(name="spindle_temp", unit="degC", low=0.0, high=120.0),),
        capabilities=("rebirth", "config"),
        pending_from_seq=12,
        stats={"dropped_telemetry": 0},
    ),
    Death(**BASE, bd_seq=3),
    Telemetry(**DATA, samples=(("spindle_temp", TS, 61.5), ("vibration_rms", TS + 100, 0.8))),
    Telemetry(**DATA, historical=True, samples=(("x", TS, -1e15),)),
    Stock(**DATA, mode="snapshot", items={"SKU-1": 40, "SKU-2": 0}),
    Stock(**DATA, mode="delta", items={"SKU-1": -3}, reason="pick"),
    Event(
        **DATA,
        name="anomaly",
        severity="MAJOR",
        state="raised",
        signal="spindle_temp",
        detector="baseline",
        score=7.5,
        window=(60.0, 61.0, 75.0),
        reason="spindle_temp 75.0 is 7.5 spreads above its baseline 60.8",
        data={"from": "RUN", "count": 2, "ratio": 0.5, "ok": True},
    ),
    Command(
        **BASE, name="config", cmd_id="c-1", ts=TS, args={"deadband": {"t": 0.5}, "x": [1, None]}
    ),
    CommandAck(**BASE, name="config", cmd_id="c-1", ts=TS, ok=False, reason="unknown signal 'q'"),
    CoordinatorState(online=True, ts=TS, coordinator="coord-a"),
    CoordinatorState(online=False, ts=TS, coordinator="coord-a", sites=("yiwu-1", "yiwu-2")),
]


@pytest.mark.parametrize("message", CANONICAL, ids=lambda m: m.kind)
def test_canonical_messages_round_trip(message: Message) -> None:
    """encode then decode on the message's own topic gives back an equal message."""
    assert decode(topic_for(message), encode(message)) == message


def test_wire_form_is_versioned_json() -> None:
    """The payload is a JSON object carrying v=1 and its kind."""
    obj = orjson.loads(encode(CANONICAL[1]))
    assert obj == {"v": 1, "kind": "death", "site": "yiwu-1", "node": "press-01", "bd_seq": 3}


def test_integers_in_float_fields_become_floats() -> None:
    """A sample value sent as 3 decodes as 3.0."""
    payload = orjson.dumps({"v": 1, "kind": "telemetry", **DATA, "samples": [["a", TS, 3]]})
    message = decode("ff/v1/yiwu-1/press-01/telemetry", payload)
    assert isinstance(message, Telemetry)
    assert message.samples == (("a", TS, 3.0),)
    assert type(message.samples[0][2]) is float


@pytest.mark.parametrize("message", CANONICAL, ids=lambda m: m.kind)
def test_every_truncation_raises_decode_error(message: Message) -> None:
    """Every strict prefix of a valid payload raises a DecodeError subclass."""
    payload = encode(message)
    topic = topic_for(message)
    for cut in range(len(payload)):
        with pytest.raises(DecodeError):
            decode(topic, payload[:cut])


def test_truncated_json_is_incomplete_not_malformed() -> None:
    """A payload cut mid-document is IncompleteMessage ('need more bytes')."""
    payload = encode(CANONICAL[2])
    with pytest.raises(IncompleteMessage):
        decode(topic_for(CANONICAL[2]), payload[:-5])


@pytest.mark.parametrize("message", CANONICAL[:4], ids=lambda m: m.kind)
def test_every_single_byte_corruption_is_decode_error_or_valid(message: Message) -> None:
    """Flipping any byte gives a DecodeError or a message that still validates."""
    payload = bytearray(encode(message))
    topic = topic_for(message)
    for i in range(len(payload)):
        for replacement in (0x00, 0x22, 0x7B, 0xFF):
            corrupted = bytes(payload[:i]) + bytes([replacement]) + bytes(payload[i + 1 :])
            with contextlib.suppress(DecodeError):
                decode(topic, corrupted)


def _payload(**fields: object) -> bytes:
    return json.dumps({"v": 1, **fields}).encode()


TELEMETRY_TOPIC = "ff/v1/yiwu-1/press-01/telemetry"


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        (b"", IncompleteMessage, "ends early"),
        (b"\xff\xfe\x00garbage", MalformedPayload, "not valid JSON"),
        (b"not json", MalformedPayload, "not valid JSON"),
        (b"[1, 2]", MalformedPayload, "not a JSON object"),
        (b'"text"', MalformedPayload, "not a JSON object"),
        (b"{" * 5000 + b"}" * 5000, MalformedPayload, "not valid JSON"),
        (b'{"v": 1} trailing', MalformedPayload, "not valid JSON"),
        (b'{"v": NaN}', MalformedPayload, "not valid JSON"),
        (orjson.dumps({"kind": "telemetry"}), InvalidMessage, "missing field 'v'"),
        (_payload(), InvalidMessage, "missing field 'kind'"),
        (orjson.dumps({"v": 4, "kind": "telemetry"}), UnsupportedVersion, "version 4"),
        (orjson.dumps({"v": True, "kind": "telemetry"}), UnsupportedVersion, "version"),
        (orjson.dumps({"v": "1", "kind": "telemetry"}), UnsupportedVersion, "version"),
        (_payload(kind="sparkle"), UnknownKind, "sparkle"),
        (
            _payload(kind="state", online=True, ts=TS, coordinator="c", sites=["coordinator"]),
            InvalidMessage,
            "reserved",
        ),
        (
            _payload(kind="state", online=True, ts=TS, coordinator="c", sites=["a", "a"]),
            InvalidMessage,
            "named twice",
        ),
        (
            _payload(kind="state", online=True, ts=TS, coordinator="c", sites=["a/b"]),
            InvalidMessage,
            "'sites",
        ),
        (_payload(kind=7), UnknownKind, "unknown message kind"),
        (_payload(kind="telemetry", **DATA), InvalidMessage, "missing field 'samples'"),
        (
            _payload(kind="telemetry", **DATA, samples=[["a", TS, 1]], extra=1),
            InvalidMessage,
            "unknown field 'extra'",
        ),
        (
            _payload(kind="telemetry", **{**DATA, "seq": "41"}, samples=[["a", TS, 1]]),
            InvalidMessage,
            "'seq': expected an integer, got a string",
        ),
        (
            _payload(kind="telemetry", **{**DATA, "seq": -1}, samples=[["a", TS, 1]]),
            InvalidMessage,
            "outside",
        ),
        (
            _payload(kind="telemetry", **{**DATA, "seq": 2**70}, samples=[["a", TS, 1]]),
            InvalidMessage,
            "'seq'",
        ),
        (
            _payload(kind="telemetry", **{**DATA, "ts": 5}, samples=[["a", TS, 1]]),
            InvalidMessage,
            "'ts'",
        ),
        (
            _payload(kind="telemetry", **{**DATA, "historical": 1}, samples=[["a", TS, 1]]),
            InvalidMessage,
            "expected a boolean",
        ),
        (_payload(kind="telemetry", **DATA, samples=[]), InvalidMessage, "0 samples"),
        (_payload(kind="telemetry", **DATA, samples={}), InvalidMessage, "expected an array"),
        (
            _payload(kind="telemetry", **DATA, samples=[["a", TS]]),
            InvalidMessage,
            r"samples\[0\]': expected \[signal, ts_ms, value\]",
        ),
        (
            _payload(kind="telemetry", **DATA, samples=[["a", TS, 1], ["b", TS, True]]),
            InvalidMessage,
            r"samples\[1\]\[2\]': expected a number, got a boolean",
        ),
        (
            _payload(kind="telemetry", **DATA, samples=[["a", TS, "1"]]),
            InvalidMessage,
            "expected a number, got a string",
        ),
        (
            _payload(kind="telemetry", **DATA, samples=[["a", TS, 1e16]]),
            InvalidMessage,
            "outside",
        ),
        (
            _payload(kind="telemetry", **DATA, samples=[["a", 1.5, 1]]),
            InvalidMessage,
            r"\[1\]': expected an integer",
        ),
        (
            _payload(kind="telemetry", **DATA, samples=[["a", 10, 1]]),
            InvalidMessage,
            "outside",
        ),
        (
            _payload(kind="telemetry", **DATA, samples=[[5, TS, 1]]),
            InvalidMessage,
            "expected a string",
        ),
        (
            _payload(kind="telemetry", **DATA, samples=[["bad name", TS, 1]]),
            InvalidMessage,
            "does not match",
        ),
        (
            _payload(kind="telemetry", **DATA, samples=[["a", TS, None]]),
            InvalidMessage,
            "got null",
        ),
        (
            _payload(kind="telemetry", **DATA, samples=[["a", TS, [1]]]),
            InvalidMessage,
            "got a list",
        ),
        (
            _payload(kind="stock", **DATA, mode="snapshot", items={"a": -1}),
            InvalidMessage,
            "cannot be negative",
        ),
        (
            _payload(kind="stock", **DATA, mode="sideways", items={}),
            InvalidMessage,
            "expected one of",
        ),
        (_payload(kind="stock", **DATA, mode="delta", items=[1]), InvalidMessage, "object"),
        (
            _payload(kind="stock", **DATA, mode="delta", items={f"s{i}": 1 for i in range(2001)}),
            InvalidMessage,
            "entries exceed",
        ),
        (
            _payload(kind="event", **DATA, name="anomaly", reason="x" * 1001),
            InvalidMessage,
            "exceeds 1000",
        ),
        (
            _payload(kind="event", **DATA, name="anomaly", data={"k": {"nested": 1}}),
            InvalidMessage,
            "string, number or boolean",
        ),
        (
            _payload(kind="event", **DATA, name="anomaly", window=list(range(513))),
            InvalidMessage,
            "513 items",
        ),
        (
            _payload(kind="event", **DATA, name="anomaly", window="1,2,3"),
            InvalidMessage,
            "expected an array, got a string",
        ),
        (
            _payload(kind="birth", **DATA, node_kind="machine", signals=[5]),
            InvalidMessage,
            "signal object",
        ),
        (
            _payload(kind="birth", **DATA, node_kind="machine", signals=[{"name": "a", "q": 1}]),
            InvalidMessage,
            "unknown field 'q'",
        ),
    ],
)
def test_bad_payloads_raise_specific_decode_errors(
    payload: bytes, error: type[DecodeError], match: str
) -> None:
    """Each kind of bad payload raises its own DecodeError subclass with a clear reason."""
    found = re.search(rb'"kind": "(stock|event|birth)"', payload)
    topic = f"ff/v1/yiwu-1/press-01/{found[1].decode()}" if found else TELEMETRY_TOPIC
    with pytest.raises(error, match=match) as info:
        decode(topic, payload)
    assert info.value.topic == topic
    assert topic in str(info.value)


def test_deeply_nested_command_args_are_refused() -> None:
    """Command arguments nested beyond 16 levels are refused, not recursed into."""
    nested: object = 1
    for _ in range(40):
        nested = [nested]
    payload = _payload(kind="cmd", **BASE, name="config", cmd_id="c", ts=TS, args={"a": nested})
    with pytest.raises(InvalidMessage, match="nested deeper"):
        decode("ff/v1/yiwu-1/press-01/cmd/config", payload)


def test_command_args_refuse_infinite_numbers() -> None:
    """Scalars must be finite even where any JSON value is allowed."""
    with pytest.raises(InvalidMessage, match="finite"):
        Command(**BASE, name="config", cmd_id="c", ts=TS, args={"a": float("inf")})


def test_oversized_payload_is_refused_before_parsing() -> None:
    """A payload over the limit raises PayloadTooLarge carrying size and limit."""
    with pytest.raises(PayloadTooLarge) as info:
        decode(TELEMETRY_TOPIC, b"{" + b" " * 100, max_payload_bytes=50)
    assert (info.value.size, info.value.limit) == (101, 50)


def test_encode_refuses_oversized_message() -> None:
    """encode raises EncodeError rather than produce a payload over the limit."""
    with pytest.raises(EncodeError, match="exceeds 100"):
        encode(CANONICAL[2], max_payload_bytes=100)


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("ff/v1/yiwu-1/press-02/death", CANONICAL[1]),
        ("ff/v1/other/press-01/death", CANONICAL[1]),
        ("ff/v1/yiwu-1/press-01/birth", CANONICAL[1]),
        ("ff/v1/yiwu-1/press-01/cmd/rebirth", CANONICAL[7]),
        ("ff/v1/yiwu-1/press-01/death", CANONICAL[9]),
        ("ff/v1/coordinator/state", CANONICAL[1]),
        ("ff/v1/coordinator/state", CANONICAL[10]),
        ("ff/v1/coordinator/coord-a/state", CANONICAL[9]),
        ("ff/v1/coordinator/coord-b/state", CANONICAL[10]),
    ],
)
def test_payload_contradicting_topic_is_refused(topic: str, message: Message) -> None:
    """Node, site, kind or command name in the payload must agree with the topic."""
    with pytest.raises(TopicMismatch):
        decode(topic, encode(message))


def test_foreign_topic_raises_topic_error() -> None:
    """A topic outside the namespace raises TopicError before the payload is read."""
    with pytest.raises(TopicError):
        decode("sensors/temp", encode(CANONICAL[1]))


def test_construction_validates_too() -> None:
    """Messages built in code are checked by the same rules as decoded ones."""
    with pytest.raises(InvalidMessage, match="'node'"):
        Death(site="s", node="bad/node", bd_seq=0)
    with pytest.raises(InvalidMessage, match="outside"):
        Telemetry(**DATA, samples=(("a", TS, float("nan")),))
    with pytest.raises(InvalidMessage, match="expected an integer"):
        Death(site="s", node="n", bd_seq=True)


# --- hypothesis round trips -------------------------------------------------

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,20}", fullmatch=True)
names = st.from_regex(r"[A-Za-z0-9_.:\-]{1,20}", fullmatch=True)
timestamps = st.integers(946_684_800_000, 4_102_444_800_000)
seqs = st.integers(0, 2**63 - 1)
values = st.floats(-1e15, 1e15, allow_nan=False)
severities: st.SearchStrategy[Severity] = st.sampled_from(
    ["CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE"]
)


@st.composite
def telemetry(draw: st.DrawFn) -> Telemetry:
    return Telemetry(
        site=draw(ids),
        node=draw(ids.filter(lambda n: n != "alerts")),
        bd_seq=draw(seqs),
        seq=draw(seqs),
        ts=draw(timestamps),
        historical=draw(st.booleans()),
        samples=tuple(
            draw(st.lists(st.tuples(names, timestamps, values), min_size=1, max_size=30))
        ),
    )


@st.composite
def events(draw: st.DrawFn) -> Event:
    return Event(
        site=draw(ids),
        node=draw(ids.filter(lambda n: n != "alerts")),
        bd_seq=draw(seqs),
        seq=draw(seqs),
        ts=draw(timestamps),
        name=draw(names),
        severity=draw(severities),
        state=draw(st.sampled_from([None, "raised", "cleared"])),
        signal=draw(st.none() | names),
        score=draw(st.none() | values),
        window=tuple(draw(st.lists(values, max_size=10))),
        reason=draw(st.text(max_size=50)),
        data=draw(st.dictionaries(names, st.text(max_size=5) | st.booleans() | values, max_size=4)),
    )


@st.composite
def stock(draw: st.DrawFn) -> Stock:
    mode: Literal["snapshot", "delta"] = draw(st.sampled_from(["snapshot", "delta"]))
    low = 0 if mode == "snapshot" else -(10**9)
    return Stock(
        site=draw(ids),
        node=draw(ids.filter(lambda n: n != "alerts")),
        bd_seq=draw(seqs),
        seq=draw(seqs),
        ts=draw(timestamps),
        mode=mode,
        items=draw(st.dictionaries(names, st.integers(low, 10**9), max_size=10)),
    )


@settings(max_examples=150)
@given(st.one_of(telemetry(), events(), stock()))
def test_hypothesis_round_trip(message: Message) -> None:
    """Any valid message survives encode → decode unchanged."""
    assert decode(topic_for(message), encode(message)) == message


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_decode_error(payload: bytes) -> None:
    """Random bytes either decode or raise DecodeError, never another exception."""
    with contextlib.suppress(DecodeError):
        decode(TELEMETRY_TOPIC, payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(
    st.sampled_from(["telemetry", "birth", "stock", "event", "death"]),
    st.dictionaries(
        st.sampled_from(
            [
                "site",
                "node",
                "bd_seq",
                "seq",
                "ts",
                "samples",
                "items",
                "mode",
                "name",
                "node_kind",
                "signals",
                "window",
                "data",
                "stats",
                "historical",
            ]
        ),
        json_values,
        max_size=8,
    ),
)
def test_type_confused_objects_raise_decode_error(kind: str, fields: dict[str, object]) -> None:
    """Objects with fields of arbitrary JSON types raise DecodeError, never another type."""
    payload = json.dumps({"v": 1, "kind": kind, **fields}).encode()
    with contextlib.suppress(DecodeError):
        decode(f"ff/v1/yiwu-1/press-01/{kind}", payload)
