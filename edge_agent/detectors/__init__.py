"""Streaming anomaly detectors for the edge agent: pure Python, no I/O, O(1) per sample.

One `SignalMonitor` per signal chains five detectors — a robust adaptive baseline,
rate of change, flatline / stuck sensor, out of range and missing data — each behind a
hysteresis latch, so a flapping signal is one raise and one clear. Every threshold lives
in a frozen `DetectorConfig` that loads from the dict found in the agent's TOML file or
its live `config` command.

Example::

    >>> from edge_agent.detectors import DetectorConfig, SignalMonitor
    >>> config = DetectorConfig.from_dict({"warmup_samples": 50, "out_of_range": {"max_value": 90.0}})
    >>> monitor = SignalMonitor("press-1/temperature", config)
    >>> events = [a for i in range(100) for a in monitor.update(i * 1000, 20.0 + (i % 3) * 0.1)]
    >>> events
    []
    >>> [(a.detector, a.state) for a in monitor.update(100_000, 95.0)]
    [('out_of_range', 'raised'), ('baseline', 'raised'), ('rate_of_change', 'raised')]
    >>> monitor = SignalMonitor("press-1/temperature", config.merged({"baseline": {"raise_score": 9.0}}))

Errors (see `edge_agent.detectors.errors`)::

    DetectorError
    ├── DetectorConfigError
    └── DetectorInputError
"""

from edge_agent.detectors.anomaly import DETECTOR_NAMES, Anomaly, AnomalyState
from edge_agent.detectors.config import (
    BaselineConfig,
    DetectorConfig,
    FlatlineConfig,
    MissingConfig,
    OutOfRangeConfig,
    RateOfChangeConfig,
)
from edge_agent.detectors.errors import DetectorConfigError, DetectorError, DetectorInputError
from edge_agent.detectors.monitor import SignalMonitor

__all__ = [
    "DETECTOR_NAMES",
    "Anomaly",
    "AnomalyState",
    "BaselineConfig",
    "DetectorConfig",
    "DetectorConfigError",
    "DetectorError",
    "DetectorInputError",
    "FlatlineConfig",
    "MissingConfig",
    "OutOfRangeConfig",
    "RateOfChangeConfig",
    "SignalMonitor",
]
