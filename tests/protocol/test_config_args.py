"""The `config` command's arguments: the shape and bounds both sides check."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import CONFIG_KEYS, InvalidMessage, check_config_args


@pytest.mark.parametrize(
    "args",
    [
        {"sampling_interval_ms": 10},
        {"sampling_interval_ms": 3_600_000},
        {"default_deadband": 0},
        {"default_deadband": 1e12},
        {"deadbands": {}},
        {"deadbands": {"spindle_temp_c": 0.5, "a.b:c-d": 3}},
        {"detectors": {"baseline": {"raise_score": 8.0}}},
        dict(zip(CONFIG_KEYS, (200, 0.1, {"t": 1.0}, {}), strict=True)),
    ],
)
def test_well_formed_arguments_pass(args: dict[str, Any]) -> None:
    """Every known key in bounds is accepted (signal names are the node's to judge)."""
    check_config_args(args)


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        ([], "args", "must be an object"),
        ({}, "args", "no settings given"),
        ({"sampling_interval_ms": 100, "colour": 1}, "colour", "unknown setting 'colour'"),
        ({"sampling_interval_ms": 9}, "sampling_interval_ms", "integer in 10..3600000"),
        ({"sampling_interval_ms": 3_600_001}, "sampling_interval_ms", "integer in"),
        ({"sampling_interval_ms": 100.0}, "sampling_interval_ms", "integer in"),
        ({"sampling_interval_ms": True}, "sampling_interval_ms", "integer in"),
        ({"sampling_interval_ms": "100"}, "sampling_interval_ms", "integer in"),
        ({"default_deadband": -0.1}, "default_deadband", "number in 0.0.."),
        ({"default_deadband": float("nan")}, "default_deadband", "number in"),
        ({"default_deadband": False}, "default_deadband", "number in"),
        ({"deadbands": [1]}, "deadbands", "must be an object"),
        ({"deadbands": {"t": "1"}}, "deadbands.t", "number in"),
        ({"deadbands": {"t": 1e13}}, "deadbands.t", "number in"),
        ({"deadbands": {"a b": 1.0}}, "deadbands", "not a signal name"),
        ({"deadbands": {"x" * 65: 1.0}}, "deadbands", "not a signal name"),
        ({"deadbands": {f"s{i}": 1.0 for i in range(2001)}}, "deadbands", "more than 2000"),
        ({"detectors": "on"}, "detectors", "must be an object"),
    ],
)
def test_malformed_arguments_name_the_field(args: object, field: str, words: str) -> None:
    """Anything else is refused with `InvalidMessage` naming the offending field."""
    with pytest.raises(InvalidMessage) as err:
        check_config_args(args)
    assert err.value.field == field
    assert words in err.value.reason
