"""Judging a signal per operating mode: a machine's idle and running normals are learnt
apart, what a left mode raised is cleared, and missing data and hard limits still see every
sample."""

from __future__ import annotations

import random

from edge_agent.detection import DetectorBank
from edge_agent.modes import MAX_MODES, ModedMonitor

IDLE, RUN = 0.0, 2.0


def _cycles(bank: DetectorBank, *, cycles: int = 6, seed: int = 1) -> list[tuple[int, str, str]]:
    """Idle (current ~0.1 A) and run (~12 A) spells of 60 s at 10 Hz; returns
    (sample, detector, state) of every anomaly."""
    rng = random.Random(seed)
    found: list[tuple[int, str, str]] = []
    i = 0
    for _ in range(cycles):
        for mode, level in ((IDLE, 0.1), (RUN, 12.0)):
            for _ in range(600):
                current = level + rng.gauss(0.0, 0.02 + 0.01 * level)
                values = (("current", current), ("state", mode))
                bank.observe_modes(values)
                for name, value in values:
                    found += [(i, a.detector, a.state) for a in bank.update(name, 100 * i, value)]
                i += 1
    return found


def test_each_mode_is_learnt_apart() -> None:
    """One normal across modes calls every start and stop an anomaly; learnt per mode, the
    same cycles raise nothing."""
    plain = DetectorBank({}, ["current", "state"], stepped=frozenset({"state"}))
    assert [d for _, d, s in _cycles(plain) if s == "raised"]
    moded = DetectorBank(
        {}, ["current", "state"], stepped=frozenset({"state"}), modes={"current": "state"}
    )
    assert _cycles(moded) == []
    monitor = moded.monitors["current"]
    assert isinstance(monitor, ModedMonitor)
    assert set(monitor.per_mode) == {(IDLE, ""), (RUN, "")}


def test_what_a_mode_raised_is_cleared_when_the_mode_is_left() -> None:
    """A level shift raised while running is cleared, with the reason, at the stop."""
    bank = DetectorBank({}, ["current", "state"], modes={"current": "state"})
    rng = random.Random(2)
    events = []
    for i in range(1200):
        mode = RUN if i < 1100 else IDLE
        current = (12.0 if i < 1000 else 30.0) + rng.gauss(0.0, 0.1)
        if mode == IDLE:
            current = 0.1
        bank.observe_modes([("state", mode)])
        events += [(i, a) for a in bank.update("current", 100 * i, current)]
    states = [(a.detector, a.state) for _, a in events]
    assert ("baseline", "raised") in states
    stop = [a for i, a in events if i == 1100 and a.state == "cleared"]
    assert stop
    assert {a.reason for a in stop} == {"operating mode changed"}


def test_missing_data_and_hard_limits_see_every_mode() -> None:
    """A mode change is no gap; a real gap raises `missing` once; a NaN raises
    `out_of_range` once, not once per monitor."""
    bank = DetectorBank(
        {"out_of_range": {"max_value": 50.0}}, ["current", "state"], modes={"current": "state"}
    )
    found = []
    ts = 0
    for i in range(2000):
        bank.observe_modes([("state", RUN if (i // 200) % 2 else IDLE)])
        found += bank.update("current", ts, 1.0 + 0.01 * (i % 7))
        ts += 100
    assert [a for a in found if a.detector == "missing"] == []
    assert [a.detector for a in bank.check_missing(ts + 60_000)] == ["missing"]
    nan = bank.update("current", ts + 60_100, float("nan"))
    assert [(a.detector, a.state) for a in nan if a.state == "raised"] == [
        ("out_of_range", "raised")
    ]


def test_mode_monitors_are_bounded() -> None:
    """A mode signal taking many values gives at most MAX_MODES + 1 monitors per signal."""
    bank = DetectorBank({}, ["current", "code"], modes={"current": "code"})
    for i in range(200):
        bank.observe_modes([("code", float(i % 50))])
        bank.update("current", 100 * i, 1.0)
    monitor = bank.monitors["current"]
    assert isinstance(monitor, ModedMonitor)
    assert len(monitor.per_mode) == MAX_MODES + 1


def test_a_mode_map_naming_unknown_signals_is_ignored() -> None:
    """Only pairs of two different known signals are judged per mode."""
    bank = DetectorBank({}, ["a", "b"], modes={"a": "zz", "b": "b", "zz": "a"})
    assert not any(isinstance(m, ModedMonitor) for m in bank.monitors.values())
