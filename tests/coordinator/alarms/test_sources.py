"""Alarm sources: agent anomaly events, node inactivity, dead-letter bursts, low stock."""

from __future__ import annotations

from coordinator.alarms import sources
from coordinator.alarms.port import RecordingAlarmSink
from coordinator.alarms.service import AlarmService
from protocol.messages import Event
from protocol.reports import OperationReport, StopReport

T0 = 1_700_000_000_000


def event(**kw: object) -> Event:
    fields: dict[str, object] = {
        "site": "s1",
        "node": "press-1",
        "bd_seq": 1,
        "seq": 7,
        "ts": T0,
        "name": "anomaly",
        "severity": "MAJOR",
        "state": "raised",
        "signal": "temp",
        "detector": "zscore",
        "score": 4.5,
        "reason": "temp 3 sigma high",
    }
    fields.update(kw)
    return Event(**fields)  # type: ignore[arg-type]


def test_anomaly_raised_then_cleared_drives_one_alarm(service: AlarmService) -> None:
    """A raised anomaly event opens an alarm keyed by node/signal and detector; cleared clears it."""
    sources.on_event(service, event())
    sources.on_event(service, event(seq=8, ts=T0 + 1000))
    [alarm] = service.list_alarms()
    assert (alarm.source, alarm.alarm_type, alarm.count) == ("press-1/temp", "anomaly.zscore", 2)
    assert alarm.details["score"] == 4.5
    sources.on_event(service, event(seq=9, ts=T0 + 2000, state="cleared", score=None))
    [cleared] = service.list_alarms()
    assert (cleared.status, cleared.clear_ms) == ("CLEARED_UNACK", T0 + 2000)


def test_two_detectors_on_one_signal_are_separate_alarms() -> None:
    """Clearing one detector's alarm leaves another detector's alarm on the same signal alone."""
    sink = RecordingAlarmSink()
    sources.on_event(sink, event(detector="zscore"))
    sources.on_event(sink, event(detector="flatline", state="cleared"))
    assert [(c[0], c[1]["alarm_type"]) for c in sink.calls] == [
        ("trigger", "anomaly.zscore"),
        ("clear", "anomaly.flatline"),
    ]


def test_node_level_event_without_signal_or_state() -> None:
    """A one-shot node event (no signal, no state) raises an alarm on the node itself."""
    sink = RecordingAlarmSink()
    sources.on_event(
        sink, event(name="fault", signal=None, detector=None, state=None, historical=True)
    )
    [(verb, call)] = sink.calls
    assert (verb, call["source"], call["alarm_type"]) == ("trigger", "press-1", "fault")
    assert call["details"]["historical"] is True  # type: ignore[index]


def test_operation_and_stop_reports_raise_no_alarm() -> None:
    """Machines' operation reports and vehicles' stop events are facts, not alarms."""
    sink = RecordingAlarmSink()
    operation = OperationReport(
        schedule_version=1, operation_id="j1:0", job_id="j1", index=0, family="cups",
        quantity=10, state="run", good=3, scrap=0,
    ).to_data()  # fmt: skip
    stop = StopReport(
        route_version=1, stop_id="stop-1", index=0, lat=29.3, lon=120.1, quantity=5
    ).to_data()
    for name, data in (("operation_started", operation), ("operation_counts", operation),
                       ("stop_arrived", stop),
                       ("stop_delivered", stop)):  # fmt: skip
        sources.on_event(
            sink, event(name=name, signal=None, detector=None, state=None, data=data, score=None)
        )
    assert sink.calls == []
    sources.on_event(sink, event(name="fault", signal=None, detector=None, state=None))
    assert len(sink.calls) == 1


def test_node_offline_and_back_online(service: AlarmService) -> None:
    """Inactivity raises node_offline; a new birth clears it."""
    sources.on_node_offline(service, site="s1", node="n9", reason="no data for 60 s", ts_ms=1)
    sources.on_node_offline(service, site="s1", node="n9", reason="death", ts_ms=2)
    [alarm] = service.list_alarms()
    assert (alarm.alarm_type, alarm.severity, alarm.count) == ("node_offline", "MAJOR", 2)
    sources.on_node_online(service, site="s1", node="n9", ts_ms=3)
    assert service.list_alarms()[0].status == "CLEARED_UNACK"


def test_dead_letter_burst_triggers_once_and_clears_with_hysteresis() -> None:
    """A burst over the threshold raises one alarm; it clears only once the rate halves."""
    sink = RecordingAlarmSink()
    rule = sources.DeadLetterBurstRule(sink=sink, site="fleet", threshold=4, window_s=10)
    for t in range(6):
        rule.on_dead_letter(reason="bad json", ts_ms=t * 100)
    assert [c[0] for c in sink.calls] == ["trigger"]
    assert sink.calls[0][1]["details"]["count"] == 4  # type: ignore[index]
    rule.tick(now_ms=10_150)  # window now holds 4 of the 6 → still at threshold, no clear
    assert [c[0] for c in sink.calls] == ["trigger"]
    rule.tick(now_ms=10_450)  # 1 left in the window < 4 // 2
    assert [c[0] for c in sink.calls] == ["trigger", "clear"]
    rule.tick(now_ms=99_999)
    assert len(sink.calls) == 2


def test_low_stock_triggers_below_threshold_and_clears_after_restock() -> None:
    """Low stock warns, stock-out is MAJOR, and the alarm clears at threshold + hysteresis."""
    sink = RecordingAlarmSink()
    rule = sources.LowStockRule(sink=sink, thresholds={"sku-1": 5}, hysteresis=2)
    rule.on_stock(site="s1", node="wh-1", sku="sku-1", quantity=6, ts_ms=1)
    rule.on_stock(site="s1", node="wh-1", sku="sku-1", quantity=4, ts_ms=2)
    rule.on_stock(site="s1", node="wh-1", sku="sku-1", quantity=0, ts_ms=3)
    rule.on_stock(site="s1", node="wh-1", sku="sku-1", quantity=6, ts_ms=4)  # < 5 + 2
    rule.on_stock(site="s1", node="wh-1", sku="sku-1", quantity=7, ts_ms=5)
    rule.on_stock(site="s1", node="wh-1", sku="other", quantity=0, ts_ms=6)  # not watched
    assert [(c[0], c[1].get("severity")) for c in sink.calls] == [
        ("trigger", "WARNING"),
        ("trigger", "MAJOR"),
        ("clear", None),
    ]
    assert sink.calls[0][1]["source"] == "wh-1/sku-1"


def test_low_stock_default_threshold_applies_to_every_sku() -> None:
    """With a default threshold, SKUs without their own threshold are watched too."""
    sink = RecordingAlarmSink()
    rule = sources.LowStockRule(sink=sink, default_threshold=3)
    rule.on_stock(site="s1", node="wh-1", sku="any", quantity=1, ts_ms=1)
    assert sink.calls[0][1]["alarm_type"] == "low_stock"


def test_feedback_names_the_detector_and_signal_of_each_alarm() -> None:
    """An anomaly alarm stands for its one signal; an incident for each signal it names;
    other alarms for none."""
    from coordinator.alarms.feedback import feedback_counts, judged_signals

    assert judged_signals("n1/temp", "anomaly.baseline", {}) == [("baseline", "n1/temp")]
    data = {"machine": "m2", "signals": "m2.a,m2.b", "a.detector": "flatline"}
    assert judged_signals("n1/m2", "incident", {"data": data}) == [("flatline", "n1/m2.a")]
    node = {"machine": "node", "signals": "temp", "temp.detector": "missing"}
    assert judged_signals("n1", "incident", {"data": node}) == [("missing", "n1/temp")]
    assert judged_signals("n1/m2", "incident", {"data": "hostile"}) == []
    assert judged_signals("n1", "node_offline", {}) == []
    rows: list[tuple[str, str, dict[str, object], str]] = [
        ("n1/t", "anomaly.baseline", {}, "false"),
        ("n1/t", "anomaly.baseline", {}, "x"),
    ]
    assert feedback_counts(rows) == {("baseline", "n1/t", "false"): 1}
