"""Hostile `config` command arguments: any JSON value is either applied or nacked, never a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.errors import CommandRejected
from edge_agent.settings import LiveSettings, apply_config_args

SIGNALS = frozenset({"spindle_temp_c", "state"})
KEYS = st.sampled_from(
    ["sampling_interval_ms", "default_deadband", "deadbands", "detectors", "per_signal",
     "baseline", "raise_score", "clear_score", "warmup_samples", "spindle_temp_c", "enabled",
     "out_of_range", "max_value", "x"]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=4))
def test_any_arguments_are_applied_or_rejected(args: dict[str, Any]) -> None:
    """apply_config_args returns valid settings or raises CommandRejected with a reason."""
    current = LiveSettings(interval_ms=100, default_deadband=0.0, deadbands={}, detectors={})
    reason: str | None = None
    try:
        result = apply_config_args(current, args, SIGNALS)
    except CommandRejected as exc:
        reason = exc.reason
    if reason is not None:
        assert reason  # a nack always says why
        return
    assert 10 <= result.interval_ms <= 3_600_000
    assert set(result.deadbands) <= SIGNALS
