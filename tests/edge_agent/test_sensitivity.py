"""Per-signal sensitivity through the detector settings the `config` command carries."""

from __future__ import annotations

import math
import random

import pytest

from edge_agent.detection import DetectorBank, check_detector_settings
from edge_agent.detectors import DetectorConfig
from edge_agent.errors import ConfigError


def _spikes(bank: DetectorBank) -> list[str]:
    """Noise on two signals, then a spike of about 12 spreads on both; the signals that raised."""
    rng = random.Random(2)
    raised: list[str] = []
    for i in range(400):
        for name in ("a", "b"):
            value = 10.0 + rng.gauss(0.0, 0.1) + (1.0 if i == 399 else 0.0)
            raised += [x.signal for x in bank.update(name, i * 1000, value) if x.state == "raised"]
    return raised


def test_a_less_sensitive_signal_stays_quiet_where_the_other_raises() -> None:
    """Sensitivity 0.25 for one signal, set live as the config command does, quiets only it."""
    settings = {"warmup_samples": 100, "rate_of_change": {"enabled": False}}
    bank = DetectorBank(settings, ["a", "b"])
    bank.reconfigure({**settings, "per_signal": {"b": {"sensitivity": 0.25}}})
    assert _spikes(bank) == ["a"]
    more = DetectorBank({**settings, "per_signal": {"a": {"sensitivity": 0.25}}}, ["a", "b"])
    assert _spikes(more) == ["b"]


def test_sensitivity_divides_the_statistical_raise_scores_only() -> None:
    """Sensitivity 2 halves baseline and rate thresholds and leaves hard limits alone."""
    config = DetectorConfig.from_dict(
        {"sensitivity": 2.0, "out_of_range": {"max_value": 90.0}}
    ).judged()
    assert config.baseline.raise_score == 3.0
    assert config.baseline.clear_score == 1.5
    assert config.rate_of_change.raise_score == 6.0
    assert config.out_of_range.max_value == 90.0
    assert DetectorConfig().judged() == DetectorConfig()


@pytest.mark.parametrize("bad", [0.0, 0.09, 10.5, math.nan, math.inf, "high", True])
def test_a_bad_sensitivity_is_refused(bad: object) -> None:
    """Out of 0.1..10, not finite or not a number: refused, naming the signal's key."""
    with pytest.raises(ConfigError) as err:
        check_detector_settings({"per_signal": {"a": {"sensitivity": bad}}})
    assert err.value.field.endswith("sensitivity")
