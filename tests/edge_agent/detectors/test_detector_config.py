"""DetectorConfig: defaults, loading from dicts, partial merges and validation errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from edge_agent.detectors import DetectorConfig, DetectorConfigError


def test_defaults_round_trip_through_a_dict() -> None:
    """to_dict then from_dict gives back an equal configuration."""
    config = DetectorConfig()
    assert DetectorConfig.from_dict(config.to_dict()) == config


def test_partial_dict_fills_the_rest_with_defaults() -> None:
    """Only the given keys change; ints are accepted for float settings."""
    config = DetectorConfig.from_dict({"warmup_samples": 10, "baseline": {"raise_score": 9}})
    assert config.warmup_samples == 10
    assert config.baseline.raise_score == 9.0
    assert isinstance(config.baseline.raise_score, float)
    assert config.baseline.clear_score == DetectorConfig().baseline.clear_score


def test_merged_applies_overrides_on_top_of_the_current_values() -> None:
    """merged keeps earlier overrides and applies new ones, section by section."""
    first = DetectorConfig().merged({"out_of_range": {"max_value": 90}})
    second = first.merged({"out_of_range": {"min_value": -5}, "missing": {"enabled": False}})
    assert second.out_of_range.max_value == 90.0
    assert second.out_of_range.min_value == -5.0
    assert not second.missing.enabled
    assert first.missing.enabled


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"warmup_sample": 1}, "warmup_sample"),
        ({"baseline": {"raise": 1}}, "baseline.raise"),
        ({"warmup_samples": "10"}, "warmup_samples"),
        ({"warmup_samples": 1.5}, "warmup_samples"),
        ({"warmup_samples": True}, "warmup_samples"),
        ({"warmup_samples": -1}, "warmup_samples"),
        ({"baseline": {"raise_score": "high"}}, "baseline.raise_score"),
        ({"baseline": {"raise_score": math.nan}}, "baseline.raise_score"),
        ({"baseline": {"raise_score": 0}}, "baseline.raise_score"),
        ({"baseline": {"raise_score": 3, "clear_score": 4}}, "baseline.clear_score"),
        ({"baseline": {"drift_allowance": 0}}, "baseline.drift_allowance"),
        ({"baseline": {"drift_limit": -1}}, "baseline.drift_limit"),
        ({"baseline": {"drift_limit": math.inf}}, "baseline.drift_limit"),
        ({"baseline": {"enabled": 1}}, "baseline.enabled"),
        ({"baseline": {"sustained_samples": 0}}, "baseline.sustained_samples"),
        ({"baseline": {"novelty_ratio": -1}}, "baseline.novelty_ratio"),
        ({"baseline": [1, 2]}, "baseline"),
        ({"rate_of_change": {"max_abs_rate_per_s": -2}}, "rate_of_change.max_abs_rate_per_s"),
        ({"flatline": {"run_factor": 0.5}}, "flatline.run_factor"),
        ({"flatline": {"min_run_samples": 1}}, "flatline.min_run_samples"),
        ({"out_of_range": {"max_value": math.inf}}, "out_of_range.max_value"),
        ({"out_of_range": {"min_value": 5, "max_value": 1}}, "out_of_range.max_value"),
        ({"missing": {"gap_factor": 1}}, "missing.gap_factor"),
        ({"missing": {"max_gap_ms": 0}}, "missing.max_gap_ms"),
        ({"clear_after_samples": None}, "clear_after_samples"),
        ({"window_samples": 10**9}, "window_samples"),
        ({"baseline": {"season_slots": -1}}, "baseline.season_slots"),
        ({"baseline": {"season_slots": 10**6}}, "baseline.season_slots"),
        ({"baseline": {"season_period_s": 0}}, "baseline.season_period_s"),
        ({"baseline": {"season_period_s": math.inf}}, "baseline.season_period_s"),
        ({"baseline": {"season_half_life_periods": 0}}, "baseline.season_half_life_periods"),
        ({"baseline": {"season_enter_ratio": 0}}, "baseline.season_enter_ratio"),
        ({"baseline": {"season_enter_ratio": 1.5}}, "baseline.season_enter_ratio"),
        ({"baseline": {"season_leave_ratio": 0.5}}, "baseline.season_leave_ratio"),
        ({"baseline": {"season_leave_ratio": math.nan}}, "baseline.season_leave_ratio"),
    ],
)
def test_invalid_settings_name_the_field(data: dict[str, Any], field: str) -> None:
    """Unknown keys, wrong types and out-of-range values raise DetectorConfigError(field)."""
    with pytest.raises(DetectorConfigError) as caught:
        DetectorConfig.from_dict(data)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_root_must_be_a_mapping() -> None:
    """A list where a table is expected is refused, also in merged."""
    with pytest.raises(DetectorConfigError):
        DetectorConfig.from_dict([])  # type: ignore[arg-type]
    with pytest.raises(DetectorConfigError):
        DetectorConfig().merged({"baseline": 3})


def test_config_is_frozen() -> None:
    """Configurations cannot be mutated in place."""
    config = DetectorConfig()
    with pytest.raises(AttributeError):
        config.warmup_samples = 3  # type: ignore[misc]
