"""Field checkers: small functions that validate one decoded JSON value and convert it.

A checker takes `(value, field_name)` and returns the value in its canonical Python form
(JSON arrays become tuples, integers in float fields become floats) or raises
`InvalidMessage` naming the field. Checks are strict: no coercion from strings, and
`True` is not a number. Every collection and string has an upper bound.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Final

from protocol.errors import InvalidMessage

Checker = Callable[[object, str], object]

_SEQUENCES: Final = (list, tuple)
_MAX_JSON_DEPTH: Final = 16


def _type_name(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), "null" if value is None else f"a {type(value).__name__}"
    )


def fail(name: str, problem: str) -> InvalidMessage:
    """The error for field `name` with a readable `problem`."""
    return InvalidMessage(f"field {name!r}: {problem}", field=name)


def integer(lo: int, hi: int) -> Checker:
    """An integer (not a boolean, not a float) within [lo, hi]."""

    def check(value: object, name: str) -> object:
        if type(value) is not int:
            raise fail(name, f"expected an integer, got {_type_name(value)}")
        if not lo <= value <= hi:
            raise fail(name, f"{value} is outside [{lo}, {hi}]")
        return value

    return check


def number(lo: float, hi: float) -> Checker:
    """A finite number within [lo, hi], returned as a float."""

    def check(value: object, name: str) -> object:
        if type(value) is not float and type(value) is not int:
            raise fail(name, f"expected a number, got {_type_name(value)}")
        result = float(value)
        if not lo <= result <= hi:  # also refuses NaN
            raise fail(name, f"{value} is outside [{lo}, {hi}]")
        return result

    return check


def boolean(value: object, name: str) -> object:
    """`true` or `false`."""
    if type(value) is not bool:
        raise fail(name, f"expected a boolean, got {_type_name(value)}")
    return value


def text(*, max_len: int, pattern: str | None = None) -> Checker:
    """A string of at most `max_len` characters, matching `pattern` if given."""
    regex = re.compile(pattern) if pattern else None

    def check(value: object, name: str) -> object:
        if type(value) is not str:
            raise fail(name, f"expected a string, got {_type_name(value)}")
        if len(value) > max_len:
            raise fail(name, f"string of {len(value)} characters exceeds {max_len}")
        if regex is not None and not regex.match(value):
            raise fail(name, f"{value[:80]!r} does not match {regex.pattern}")
        return value

    return check


def one_of(*allowed: str) -> Checker:
    """One of the given strings."""

    def check(value: object, name: str) -> object:
        if value not in allowed or type(value) is not str:
            raise fail(name, f"expected one of {', '.join(allowed)}, got {str(value)[:40]!r}")
        return value

    return check


def optional(inner: Checker) -> Checker:
    """`null`, or a value `inner` accepts."""

    def check(value: object, name: str) -> object:
        return None if value is None else inner(value, name)

    return check


def array(item: Checker, *, max_len: int, min_len: int = 0) -> Checker:
    """An array of `min_len`..`max_len` items, each checked by `item`; returned as a tuple."""

    def check(value: object, name: str) -> object:
        if type(value) not in _SEQUENCES:
            raise fail(name, f"expected an array, got {_type_name(value)}")
        assert isinstance(value, list | tuple)
        if not min_len <= len(value) <= max_len:
            raise fail(name, f"{len(value)} items, expected {min_len} to {max_len}")
        return tuple(item(element, f"{name}[{i}]") for i, element in enumerate(value))

    return check


def mapping(key: Checker, item: Checker, *, max_len: int) -> Checker:
    """An object of at most `max_len` entries with checked keys and values."""

    def check(value: object, name: str) -> object:
        if type(value) is not dict:
            raise fail(name, f"expected an object, got {_type_name(value)}")
        if len(value) > max_len:
            raise fail(name, f"{len(value)} entries exceed {max_len}")
        return {key(k, f"{name} key"): item(v, f"{name}.{k}") for k, v in value.items()}

    return check


def scalar(value: object, name: str) -> object:
    """A string (≤ 256 chars), finite number or boolean."""
    if type(value) is str:
        return text(max_len=256)(value, name)
    if type(value) is bool:
        return value
    if type(value) is int or type(value) is float:
        if not math.isfinite(value):
            raise fail(name, "must be finite")
        return value
    raise fail(name, f"expected a string, number or boolean, got {_type_name(value)}")


def json_value(value: object, name: str, _depth: int = 0) -> object:
    """Any JSON value, nested at most 16 deep (command arguments)."""
    if _depth > _MAX_JSON_DEPTH:
        raise fail(name, f"nested deeper than {_MAX_JSON_DEPTH} levels")
    if value is None:
        return None
    if type(value) is dict:
        return {
            str(text(max_len=64)(k, name)): json_value(v, f"{name}.{k}", _depth + 1)
            for k, v in value.items()
        }
    if type(value) in _SEQUENCES:
        assert isinstance(value, list | tuple)
        return [json_value(v, f"{name}[{i}]", _depth + 1) for i, v in enumerate(value)]
    return scalar(value, name)


def samples(
    *, name_check: Checker, ts_lo: int, ts_hi: int, value_bound: float, max_len: int
) -> Checker:
    """Telemetry rows `[signal, ts_ms, value]`, checked column-wise at C speed.

    Ingest sees hundreds of thousands of rows a second, so the common case (all valid)
    runs as a few passes of builtins over whole columns; only on failure is the
    offending row searched for, to name it in the error.
    """

    def locate(rows: list[object] | tuple[object, ...], name: str) -> InvalidMessage:
        for i, row in enumerate(rows):
            where = f"{name}[{i}]"
            if not isinstance(row, list | tuple) or len(row) != 3:
                return fail(where, "expected [signal, ts_ms, value]")
            signal, ts, reading = row
            try:
                name_check(signal, f"{where}[0]")
                integer(ts_lo, ts_hi)(ts, f"{where}[1]")
                number(-value_bound, value_bound)(reading, f"{where}[2]")
            except InvalidMessage as exc:
                return exc
        raise AssertionError("locate() called on valid rows")  # pragma: no cover

    def check(value: object, name: str) -> object:
        if type(value) not in _SEQUENCES:
            raise fail(name, f"expected an array, got {_type_name(value)}")
        assert isinstance(value, list | tuple)
        if not 1 <= len(value) <= max_len:
            raise fail(name, f"{len(value)} samples, expected 1 to {max_len}")
        if not all(type(row) in _SEQUENCES and len(row) == 3 for row in value):
            raise locate(value, name)
        signals, stamps, readings = zip(*value, strict=True)
        ok = (
            all(type(t) is int for t in stamps)
            and ts_lo <= min(stamps)
            and max(stamps) <= ts_hi
            and all(type(x) is float or type(x) is int for x in readings)
            and all(map(math.isfinite, readings))
            and -value_bound <= min(readings)
            and max(readings) <= value_bound
            and all(type(s) is str for s in signals)
        )
        if ok:
            try:
                for signal in set(signals):
                    name_check(signal, name)
            except InvalidMessage:
                ok = False
        if not ok:
            raise locate(value, name)
        return tuple(zip(signals, stamps, map(float, readings), strict=True))

    return check
