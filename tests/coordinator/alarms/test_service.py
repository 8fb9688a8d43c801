"""The alarm service: the sink contract, operator actions, notifications and thread safety."""

from __future__ import annotations

import threading

import orjson
import pytest

from coordinator.alarms.errors import AlarmNotFound, InvalidAlarmInput, InvalidTransition
from coordinator.alarms.port import AlarmSink
from coordinator.alarms.service import AlarmService
from coordinator.notify.events import AlarmEvent, RecordingNotifier
from coordinator.notify.publisher import InMemoryPublisher
from fleet_runtime.clock import FakeClock, now_ms


def raise_(svc: AlarmSink, ts_ms: int, severity: str = "MINOR", source: str = "n1") -> None:
    svc.trigger(
        site="s1",
        source=source,
        alarm_type="overheat",
        severity=severity,  # type: ignore[arg-type]
        message="hot",
        details={"t": ts_ms},
        ts_ms=ts_ms,
    )


def test_service_is_an_alarm_sink(service: AlarmService) -> None:
    """AlarmService satisfies the AlarmSink port other modules code against."""
    sink: AlarmSink = service
    raise_(sink, 1)
    assert len(service.list_alarms()) == 1


def test_repeat_triggers_dedupe_into_one_alarm(service: AlarmService) -> None:
    """Many triggers on one key make one alarm with the count and highest severity."""
    for i, sev in enumerate(["MINOR", "CRITICAL", "WARNING", "MAJOR"]):
        raise_(service, 1000 + i, sev)
    [alarm] = service.list_alarms()
    assert (alarm.count, alarm.severity, alarm.last_ms, alarm.start_ms) == (
        4,
        "CRITICAL",
        1003,
        1000,
    )


def test_trigger_after_clear_opens_a_new_alarm(service: AlarmService) -> None:
    """Once cleared, the next trigger on the key opens a new alarm; the old keeps its history."""
    raise_(service, 1)
    service.clear(site="s1", source="n1", alarm_type="overheat", message="cool", ts_ms=2)
    raise_(service, 3)
    alarms = service.list_alarms()
    assert [a.status for a in alarms] == ["ACTIVE_UNACK", "CLEARED_UNACK"]
    assert alarms[0].alarm_id != alarms[1].alarm_id
    old = service.get(alarms[1].alarm_id)
    assert [(t.action, t.actor, t.note) for t in old.transitions][-1] == (
        "CLEARED",
        "system",
        "cool",
    )


def test_active_lists_only_the_open_alarms_of_one_type(service: AlarmService) -> None:
    """`active(type)` gives (site, source, details) of the active alarms of that type only:
    not cleared ones, not other types, acknowledged ones included."""
    raise_(service, 1, source="n1")
    raise_(service, 2, source="n2")
    raise_(service, 3, source="n3")
    service.clear(site="s1", source="n2", alarm_type="overheat", message="cool", ts_ms=4)
    [n3] = [a for a in service.list_alarms() if a.source == "n3"]
    service.acknowledge(n3.alarm_id, actor="op")
    service.trigger(site="s1", source="n4", alarm_type="other", severity="MINOR", message="m",
                    details={}, ts_ms=5)  # fmt: skip
    assert sorted(service.active("overheat")) == [
        ("s1", "n1", {"t": 1}),
        ("s1", "n3", {"t": 3}),
    ]


def test_sink_clear_without_active_alarm_is_a_no_op(service: AlarmService) -> None:
    """Clearing a key with nothing active changes nothing and does not raise."""
    service.clear(site="s1", source="n1", alarm_type="x", message="", ts_ms=1)
    assert service.list_alarms() == []


def test_sink_trigger_refuses_bad_input_without_raising(service: AlarmService) -> None:
    """Bad triggers from ingest are counted, not raised into the caller's thread."""
    service.trigger(
        site="no/slash",
        source="n1",
        alarm_type="t",
        severity="MINOR",
        message="",
        details={},
        ts_ms=1,
    )
    service.trigger(
        site="s1",
        source="",
        alarm_type="t",
        severity="BAD",  # type: ignore[arg-type]
        message="",
        details={},
        ts_ms=1,
    )
    assert service.rejected_triggers == 2
    assert service.list_alarms() == []


def test_raise_alarm_raises_for_bad_input(service: AlarmService) -> None:
    """The explicit API raises InvalidAlarmInput for a malformed trigger."""
    with pytest.raises(InvalidAlarmInput):
        service.raise_alarm(
            site="s1", source="n1", alarm_type="t", severity="MINOR", message="", ts_ms=-5
        )


def test_operator_actions_record_who_and_clock_time(
    service: AlarmService, clock: FakeClock
) -> None:
    """Ack, comment, assign and clear are stamped with the actor and the clock's time."""
    raise_(service, 1)
    [a] = service.list_alarms()
    clock.advance(5)
    service.acknowledge(a.alarm_id, actor="ana")
    service.add_comment(a.alarm_id, actor="ana", text="checking the fan")
    service.assign(a.alarm_id, actor="ana", assignee="bo")
    cleared = service.clear_alarm(a.alarm_id, actor="bo", note="fan replaced")
    assert (cleared.status, cleared.clear_by, cleared.assignee) == ("CLEARED_ACK", "bo", "bo")
    detail = service.get(a.alarm_id)
    assert [(t.action, t.actor) for t in detail.transitions] == [
        ("CREATED", "system"),
        ("ACKNOWLEDGED", "ana"),
        ("COMMENTED", "ana"),
        ("ASSIGNED", "ana"),
        ("CLEARED", "bo"),
    ]
    assert {t.ts_ms for t in detail.transitions[1:]} == {now_ms(clock)}
    assert detail.comments[0].text == "checking the fan"


@pytest.mark.parametrize("alarm_id", ["nope", "", "x" * 10_000, "'; DROP TABLE alarms; --"])
def test_unknown_alarm_ids_raise_not_found(service: AlarmService, alarm_id: str) -> None:
    """Every operator action on an unknown id raises AlarmNotFound and changes nothing."""
    for action in (
        lambda: service.acknowledge(alarm_id, actor="ana"),
        lambda: service.clear_alarm(alarm_id, actor="ana"),
        lambda: service.add_comment(alarm_id, actor="ana", text="hi"),
        lambda: service.assign(alarm_id, actor="ana", assignee="bo"),
        lambda: service.get(alarm_id),
    ):
        with pytest.raises(AlarmNotFound):
            action()
    assert service.list_alarms() == []


def test_invalid_transitions_are_refused(service: AlarmService) -> None:
    """Acking or clearing twice raises InvalidTransition and records nothing more."""
    raise_(service, 1)
    [a] = service.list_alarms()
    service.acknowledge(a.alarm_id, actor="ana")
    service.clear_alarm(a.alarm_id, actor="ana")
    with pytest.raises(InvalidTransition):
        service.acknowledge(a.alarm_id, actor="ana")
    with pytest.raises(InvalidTransition):
        service.clear_alarm(a.alarm_id, actor="ana")
    assert len(service.get(a.alarm_id).transitions) == 3


def test_oversized_comment_is_refused(service: AlarmService) -> None:
    """A comment over the limit raises InvalidAlarmInput and is not stored."""
    raise_(service, 1)
    [a] = service.list_alarms()
    with pytest.raises(InvalidAlarmInput):
        service.add_comment(a.alarm_id, actor="ana", text="x" * 1_000_000)
    assert service.get(a.alarm_id).comments == ()


def test_every_change_is_notified_in_order(
    service: AlarmService, recorder: RecordingNotifier, publisher: InMemoryPublisher
) -> None:
    """Each change reaches the notifiers; the MQTT channel only gets the urgent kinds."""
    raise_(service, 1, "MINOR")
    raise_(service, 2, "MINOR")
    raise_(service, 3, "MAJOR")
    [a] = service.list_alarms()
    service.acknowledge(a.alarm_id, actor="ana")
    service.add_comment(a.alarm_id, actor="ana", text="x")
    service.clear_alarm(a.alarm_id, actor="ana")
    assert recorder.kinds() == [
        "created",
        "updated",
        "severity_raised",
        "acknowledged",
        "commented",
        "cleared",
    ]
    ids = [e.event_id for e in recorder.events]
    assert ids == sorted(ids)
    assert [m.topic.split("/")[4] for m in publisher.messages] == [
        "MINOR",
        "MAJOR",
        "MAJOR",
        "MAJOR",
    ]
    payload = orjson.loads(publisher.messages[-1].payload)
    assert (payload["kind"], payload["alarm"]["status"]) == ("cleared", "CLEARED_ACK")
    assert all(m.qos == 1 and not m.retain for m in publisher.messages)


class _Broken:
    def notify(self, event: AlarmEvent) -> None:
        raise RuntimeError("channel down")


def test_broken_channel_does_not_stop_others(db_path: object, clock: FakeClock) -> None:
    """A notifier that raises is counted; the alarm is stored and other channels still hear."""
    from coordinator.alarms.store import AlarmStore

    good = RecordingNotifier()
    svc = AlarmService(store=AlarmStore.open(db_path), clock=clock, notifiers=[_Broken(), good])  # type: ignore[arg-type]
    try:
        raise_(svc, 1)
        assert svc.notify_failures == 1
        assert good.kinds() == ["created"]
        assert len(svc.list_alarms()) == 1
    finally:
        svc.close()


def test_concurrent_triggers_make_one_alarm(service: AlarmService) -> None:
    """Triggers racing from many threads on one key still make one alarm with every count."""

    def burst() -> None:
        for i in range(25):
            raise_(service, i)

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [alarm] = service.list_alarms()
    assert alarm.count == 200
    assert service.rejected_triggers == 0


def test_channel_stats_count_what_happened(service: AlarmService) -> None:
    """channel_stats reports rejected triggers and MQTT alerts published, for metrics."""
    raise_(service, 1)
    raise_(service, 2, "MAJOR")
    service.trigger(
        site="s1", source="", alarm_type="t", severity="MINOR", message="", details={}, ts_ms=1
    )
    stats = service.channel_stats()
    assert stats["rejected_triggers"] == 1
    assert stats["mqtt_alerts_published"] == 2  # created, severity_raised
    assert (stats["mqtt_alerts_failed"], stats["sse_subscribers"]) == (0, 0)
    assert "webhooks_delivered" not in stats  # not wired in this service
