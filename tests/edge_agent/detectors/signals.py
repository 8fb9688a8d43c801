"""Synthetic signals and a driver for `SignalMonitor`, shared by the detector tests."""

from __future__ import annotations

import random
from collections.abc import Iterable

from edge_agent.detectors import Anomaly, DetectorConfig, SignalMonitor

STEP_MS = 1000


def noise(n: int, *, seed: int = 7, level: float = 20.0, sd: float = 1.0) -> list[float]:
    """`n` Gaussian samples around `level`."""
    rng = random.Random(seed)
    return [level + rng.gauss(0.0, sd) for _ in range(n)]


def feed(
    monitor: SignalMonitor, values: Iterable[float], *, start: int = 0, step_ms: int = STEP_MS
) -> list[tuple[int, Anomaly]]:
    """Feed values at a regular interval; returns (sample index, anomaly) pairs."""
    out: list[tuple[int, Anomaly]] = []
    for i, value in enumerate(values, start=start):
        out.extend((i, a) for a in monitor.update(i * step_ms, value))
    return out


def raised(events: list[tuple[int, Anomaly]], detector: str | None = None) -> list[int]:
    """Sample indices where (the given) detector raised."""
    return [i for i, a in events if a.state == "raised" and detector in (None, a.detector)]


def only(*detectors: str, **overrides: object) -> DetectorConfig:
    """The default configuration with every statistical detector but `detectors` switched off."""
    switch = {
        name: {"enabled": name in detectors}
        for name in ("baseline", "rate_of_change", "flatline", "missing")
    }
    return DetectorConfig().merged({**switch, **overrides})
