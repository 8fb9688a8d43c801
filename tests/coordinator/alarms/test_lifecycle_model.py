"""Random sequences of triggers, clears and operator actions against a simple reference model."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from coordinator.alarms.errors import InvalidTransition
from coordinator.alarms.model import SEVERITY_RANK, AlarmQuery
from coordinator.alarms.port import Severity
from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import AlarmStore
from fleet_runtime.clock import FakeClock

KEYS = st.sampled_from([("s1", "n1", "t"), ("s2", "n1", "u")])
SEVERITY = st.sampled_from(list(SEVERITY_RANK))


@dataclass
class Expected:
    """What the reference model believes about one alarm."""

    key: tuple[str, str, str]
    severity: Severity
    count: int = 1
    acknowledged: bool = False
    cleared: bool = False
    transitions: int = 1


class AlarmMachine(RuleBasedStateMachine):
    """Drives the real service and a dictionary model side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        ids = itertools.count(1)
        # Deterministic ids, so hypothesis can replay and shrink the same choices.
        self.service = AlarmService(
            store=AlarmStore.open(":memory:"),
            clock=self.clock,
            id_factory=lambda: f"a{next(ids):05d}",
        )
        self.alarms: dict[str, Expected] = {}
        self.ts = 1

    def teardown(self) -> None:
        self.service.close()

    def _active(self, key: tuple[str, str, str]) -> str | None:
        for alarm_id, e in self.alarms.items():
            if e.key == key and not e.cleared:
                return alarm_id
        return None

    @rule(key=KEYS, severity=SEVERITY)
    def trigger(self, key: tuple[str, str, str], severity: Severity) -> None:
        self.ts += 1
        site, source, alarm_type = key
        alarm = self.service.raise_alarm(
            site=site,
            source=source,
            alarm_type=alarm_type,
            severity=severity,
            message="",
            ts_ms=self.ts,
        )
        active = self._active(key)
        if active is None:
            assert alarm.alarm_id not in self.alarms
            self.alarms[alarm.alarm_id] = Expected(key=key, severity=severity)
            return
        assert alarm.alarm_id == active
        e = self.alarms[active]
        e.count += 1
        e.transitions += 1
        if SEVERITY_RANK[severity] > SEVERITY_RANK[e.severity]:
            e.severity = severity
            e.acknowledged = False  # re-armed

    @rule(key=KEYS)
    def source_clears(self, key: tuple[str, str, str]) -> None:
        self.ts += 1
        site, source, alarm_type = key
        cleared = self.service.clear_source(
            site=site, source=source, alarm_type=alarm_type, ts_ms=self.ts
        )
        active = self._active(key)
        assert (cleared is None) == (active is None)
        if active is not None:
            self.alarms[active].cleared = True
            self.alarms[active].transitions += 1

    @rule(data=st.data())
    def operator_acks(self, data: st.DataObject) -> None:
        if not self.alarms:
            return
        alarm_id = data.draw(st.sampled_from(sorted(self.alarms)))
        e = self.alarms[alarm_id]
        try:
            self.service.acknowledge(alarm_id, actor="ana")
        except InvalidTransition:
            assert e.acknowledged
            return
        assert not e.acknowledged
        e.acknowledged = True
        e.transitions += 1

    @rule(data=st.data())
    def operator_clears(self, data: st.DataObject) -> None:
        if not self.alarms:
            return
        alarm_id = data.draw(st.sampled_from(sorted(self.alarms)))
        e = self.alarms[alarm_id]
        try:
            self.service.clear_alarm(alarm_id, actor="ana")
        except InvalidTransition:
            assert e.cleared
            return
        assert not e.cleared
        e.cleared = True
        e.transitions += 1

    @invariant()
    def service_matches_model(self) -> None:
        stored = {a.alarm_id: a for a in self.service.list_alarms(AlarmQuery(limit=1000))}
        assert set(stored) == set(self.alarms)
        for alarm_id, e in self.alarms.items():
            a = stored[alarm_id]
            assert (a.severity, a.count, a.acknowledged, a.cleared) == (
                e.severity,
                e.count,
                e.acknowledged,
                e.cleared,
            )
        active_keys = [(a.site, a.source, a.alarm_type) for a in stored.values() if not a.cleared]
        assert len(active_keys) == len(set(active_keys))  # one active alarm per key

    @invariant()
    def history_has_every_transition(self) -> None:
        for alarm_id, e in self.alarms.items():
            assert len(self.service.store.transitions(alarm_id)) == e.transitions


AlarmMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=25, deadline=None)
TestAlarmLifecycleModel = AlarmMachine.TestCase
