"""The alarm service: the coordinator's `AlarmSink`, the operator actions, and the fan-out of
every change to the notification channels.

Each change runs under one lock: read the current alarm, apply the pure lifecycle function,
store alarm and transition in one transaction, then hand an `AlarmEvent` to every notifier
(which only enqueue). Operator actions stamp time from the `Clock`; sink triggers keep the
timestamp of the event that caused them.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from coordinator.alarms import lifecycle
from coordinator.alarms.errors import AlarmError, AlarmNotFound, InvalidAlarmInput
from coordinator.alarms.escalation import Escalation, EscalationPolicy, due_escalations
from coordinator.alarms.feedback import VERDICTS, feedback_counts
from coordinator.alarms.model import (
    SYSTEM_ACTOR,
    Alarm,
    AlarmDetail,
    AlarmQuery,
    Comment,
    Transition,
)
from coordinator.alarms.port import Severity
from coordinator.alarms.store import AlarmStore
from coordinator.notify.broadcast import AlarmBroadcaster
from coordinator.notify.delivery import DeliveryRecord
from coordinator.notify.events import AlarmEvent, Notifier
from coordinator.notify.mqtt_alerts import MqttAlertNotifier
from coordinator.notify.webhooks import WebhookNotifier
from fleet_runtime.clock import Clock, now_ms

_log = logging.getLogger(__name__)


@runtime_checkable
class _Startable(Protocol):
    def start(self) -> None: ...


@runtime_checkable
class _Closeable(Protocol):
    def close(self) -> None: ...


def new_alarm_id() -> str:
    """A fresh alarm id: 32 hex digits, valid in an MQTT alert topic."""
    return uuid.uuid4().hex


class AlarmService:
    """Alarms for the whole coordinator; thread-safe.

    `broadcaster` feeds the server-sent-events route; it is also among the notifiers.
    """

    def __init__(
        self,
        *,
        store: AlarmStore,
        clock: Clock,
        notifiers: Sequence[Notifier] = (),
        escalation: EscalationPolicy | None = None,
        broadcaster: AlarmBroadcaster | None = None,
        id_factory: Callable[[], str] = new_alarm_id,
        cleared_retention_s: float | None = None,
        purge_interval_s: float = 3600.0,
    ) -> None:
        if cleared_retention_s is not None and cleared_retention_s <= 0:
            raise ValueError(f"cleared_retention_s must be > 0, got {cleared_retention_s}")
        if purge_interval_s <= 0:
            raise ValueError(f"purge_interval_s must be > 0, got {purge_interval_s}")
        self.store = store
        self.broadcaster = broadcaster or AlarmBroadcaster()
        self.escalation = escalation or EscalationPolicy()
        self._clock = clock
        self._notifiers: tuple[Notifier, ...] = (*notifiers, self.broadcaster)
        self._new_id = id_factory
        self._lock = threading.RLock()
        self._event_ids = itertools.count(1)
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self.rejected_triggers = 0
        self.notify_failures = 0
        self.cleared_retention_s = cleared_retention_s
        self._purge_interval_s = purge_interval_s
        self._next_purge_s = clock.monotonic()  # the first maintenance run purges
        self.purged = 0

    def add_notifier(self, notifier: Notifier) -> None:
        """One more channel for every change (before the service is used)."""
        with self._lock:
            self._notifiers = (*self._notifiers, notifier)

    # -- AlarmSink ------------------------------------------------------------------------

    def trigger(
        self,
        *,
        site: str,
        source: str,
        alarm_type: str,
        severity: Severity,
        message: str,
        details: dict[str, object],
        ts_ms: int,
    ) -> None:
        """`AlarmSink.trigger`: like `raise_alarm`, but bad input is logged and counted
        (`rejected_triggers`) instead of raised into the caller's ingest thread."""
        try:
            self.raise_alarm(
                site=site,
                source=source,
                alarm_type=alarm_type,
                severity=severity,
                message=message,
                details=details,
                ts_ms=ts_ms,
            )
        except AlarmError as exc:
            with self._lock:
                self.rejected_triggers += 1
            _log.warning("alarm trigger refused: %s", exc.reason)

    def clear(self, *, site: str, source: str, alarm_type: str, message: str, ts_ms: int) -> None:
        """`AlarmSink.clear`: clear the active alarm on the key, if any (never raises)."""
        try:
            self.clear_source(
                site=site, source=source, alarm_type=alarm_type, message=message, ts_ms=ts_ms
            )
        except AlarmError as exc:
            with self._lock:
                self.rejected_triggers += 1
            _log.warning("alarm clear refused: %s", exc.reason)

    def active(self, alarm_type: str) -> list[tuple[str, str, dict[str, object]]]:
        """`AlarmSink.active`: the active alarms of one type, from the store."""
        query = AlarmQuery(
            statuses=frozenset({"ACTIVE_UNACK", "ACTIVE_ACK"}),
            alarm_type=alarm_type,
            limit=100_000,
        )
        return [(a.site, a.source, dict(a.details)) for a in self.list_alarms(query)]

    def raise_alarm(
        self,
        *,
        site: str,
        source: str,
        alarm_type: str,
        severity: Severity,
        message: str,
        details: dict[str, object] | None = None,
        ts_ms: int,
    ) -> Alarm:
        """Open the alarm on (site, source, alarm_type) or fold a repeat into the active one."""
        trigger = lifecycle.make_trigger(
            site=site,
            source=source,
            alarm_type=alarm_type,
            severity=severity,
            message=message,
            details=details if details is not None else {},
            ts_ms=ts_ms,
        )
        with self._lock:
            current = self.store.find_active(
                site=trigger.site, source=trigger.source, alarm_type=trigger.alarm_type
            )
            if current is None:
                alarm, transition = lifecycle.open_alarm(trigger, alarm_id=self._new_id())
            else:
                alarm, transition = lifecycle.repeat_trigger(current, trigger)
            self._commit(alarm, transition)
        return alarm

    def clear_source(
        self, *, site: str, source: str, alarm_type: str, message: str = "", ts_ms: int
    ) -> Alarm | None:
        """Clear the active alarm on the key as the system; None when none is active."""
        with self._lock:
            current = self.store.find_active(site=site, source=source, alarm_type=alarm_type)
            if current is None:
                return None
            alarm, transition = lifecycle.clear(
                current, actor=SYSTEM_ACTOR, ts_ms=ts_ms, note=message
            )
            self._commit(alarm, transition)
        return alarm

    # -- operator actions -----------------------------------------------------------------

    def acknowledge(self, alarm_id: str, *, actor: str) -> Alarm:
        """Acknowledge an alarm; raises `AlarmNotFound` or `InvalidTransition`."""
        actor = lifecycle.check_actor(actor)
        with self._lock:
            alarm, transition = lifecycle.acknowledge(
                self._require(alarm_id), actor=actor, ts_ms=now_ms(self._clock)
            )
            self._commit(alarm, transition)
        return alarm

    def clear_alarm(self, alarm_id: str, *, actor: str, note: str = "") -> Alarm:
        """Clear an alarm by hand; raises `AlarmNotFound` or `InvalidTransition`."""
        actor = lifecycle.check_actor(actor)
        note = lifecycle.check_comment(note) if note.strip() else ""
        with self._lock:
            alarm, transition = lifecycle.clear(
                self._require(alarm_id), actor=actor, ts_ms=now_ms(self._clock), note=note
            )
            self._commit(alarm, transition)
        return alarm

    def assign(self, alarm_id: str, *, actor: str, assignee: str | None) -> Alarm:
        """Assign the alarm to someone, or unassign it with None."""
        actor = lifecycle.check_actor(actor)
        with self._lock:
            alarm, transition = lifecycle.assign(
                self._require(alarm_id), actor=actor, assignee=assignee, ts_ms=now_ms(self._clock)
            )
            self._commit(alarm, transition)
        return alarm

    def add_comment(self, alarm_id: str, *, actor: str, text: str) -> Comment:
        """Add an operator's comment; raises `InvalidAlarmInput` for empty or oversized text."""
        actor = lifecycle.check_actor(actor)
        text = lifecycle.check_comment(text)
        with self._lock:
            alarm = self._require(alarm_id)
            ts_ms = now_ms(self._clock)
            comment = Comment(alarm_id=alarm_id, ts_ms=ts_ms, author=actor, text=text)
            transition = lifecycle.comment_transition(alarm, actor=actor, ts_ms=ts_ms, text=text)
            self.store.add_comment(comment, transition)
            self._publish(alarm, transition)
        return comment

    def give_feedback(self, alarm_id: str, *, actor: str, verdict: str) -> Transition:
        """Record an operator's verdict on an alarm (`false` or `confirmed`; the latest
        counts); raises `AlarmNotFound` or `InvalidAlarmInput`."""
        actor = lifecycle.check_actor(actor)
        if verdict not in VERDICTS:
            raise InvalidAlarmInput(
                f"must be one of {', '.join(VERDICTS)}", field="verdict", alarm_id=alarm_id
            )
        with self._lock:
            alarm = self._require(alarm_id)
            transition = lifecycle.feedback_transition(
                alarm, actor=actor, ts_ms=now_ms(self._clock), verdict=verdict
            )
            self.store.record(transition)
        return transition

    def feedback_counts(self) -> dict[tuple[str, str, str], int]:
        """Operators' verdicts per (detector, signal, verdict), for metrics."""
        return feedback_counts(self.store.latest_verdicts())

    # -- reading --------------------------------------------------------------------------

    def get(self, alarm_id: str) -> AlarmDetail:
        """The alarm with its transitions and comments; raises `AlarmNotFound`."""
        alarm = self._require(alarm_id)
        return AlarmDetail(
            alarm=alarm,
            transitions=tuple(self.store.transitions(alarm_id)),
            comments=tuple(self.store.comments(alarm_id)),
        )

    def list_alarms(self, query: AlarmQuery | None = None) -> list[Alarm]:
        """Alarms matching the filter, newest first."""
        return self.store.query(query or AlarmQuery())

    def deliveries(self, alarm_id: str, *, limit: int = 100) -> list[DeliveryRecord]:
        """The webhook delivery log of one alarm, oldest first; raises `AlarmNotFound`."""
        self._require(alarm_id)
        return self.store.deliveries(alarm_id=alarm_id, limit=limit)

    def purge_cleared(self, *, older_than_s: float) -> int:
        """Delete alarms cleared more than `older_than_s` ago (by the clock), with their
        history; active alarms are never touched. Returns how many were deleted."""
        cutoff_ms = now_ms(self._clock) - int(older_than_s * 1000)
        with self._lock:
            return self.store.purge_cleared(cleared_before_ms=cutoff_ms)

    def channel_stats(self) -> dict[str, int]:
        """Counters of the service and its channels, for metrics: rejected triggers, notifier
        failures, SSE subscribers, MQTT alerts published/failed, webhook deliveries
        delivered/failed/retried/dropped (webhook and MQTT keys only when the channel is wired)."""
        stats = {
            "rejected_triggers": self.rejected_triggers,
            "notify_failures": self.notify_failures,
            "sse_subscribers": self.broadcaster.subscriber_count,
        }
        for notifier in self._notifiers:
            if isinstance(notifier, MqttAlertNotifier):
                stats["mqtt_alerts_published"] = notifier.published
                stats["mqtt_alerts_failed"] = notifier.failed
            elif isinstance(notifier, WebhookNotifier):
                stats["webhooks_delivered"] = notifier.delivered
                stats["webhooks_failed"] = notifier.failed
                stats["webhooks_retried"] = notifier.retried
                stats["webhooks_dropped"] = notifier.dropped
        return stats

    def counts(self) -> dict[tuple[str, str], int]:
        """Number of alarms per (status, severity), for metrics."""
        return self.store.counts()

    # -- escalation -----------------------------------------------------------------------

    def check_escalations(self) -> list[Escalation]:
        """Re-notify every unacknowledged alarm whose escalation level is due now."""
        done: list[Escalation] = []
        with self._lock:
            ts_ms = now_ms(self._clock)
            due = due_escalations(
                self.store.unacknowledged_active(), now_ms=ts_ms, policy=self.escalation
            )
            for escalation in due:
                current = self.store.get(escalation.alarm_id)
                if current is None:
                    continue
                alarm, transition = lifecycle.escalate(current, level=escalation.level, ts_ms=ts_ms)
                self.store.save(alarm, transition)
                self._publish(alarm, transition, severity=escalation.notify_severity)
                done.append(escalation)
        return done

    def maintain(self) -> None:
        """The periodic work: re-notify due escalations, and, every `purge_interval_s` (by
        the clock), delete alarms cleared longer ago than `cleared_retention_s` (when set)."""
        if self.escalation.enabled:
            self.check_escalations()
        if self.cleared_retention_s is None:
            return
        mono = self._clock.monotonic()
        if mono < self._next_purge_s:
            return
        self._next_purge_s = mono + self._purge_interval_s
        purged = self.purge_cleared(older_than_s=self.cleared_retention_s)
        self.purged += purged
        if purged:
            _log.info("purged %d alarms cleared over %.0f s ago", purged, self.cleared_retention_s)

    def start(self, *, escalation_check_interval_s: float = 5.0) -> None:
        """Start the channels that have a `start` method (webhook worker) and run `maintain`
        every interval (real seconds) on a daemon thread; idempotent."""
        for notifier in self._notifiers:
            if isinstance(notifier, _Startable):
                notifier.start()
        if self._ticker is not None:
            return
        if not self.escalation.enabled and self.cleared_retention_s is None:
            return
        self._stop.clear()

        def tick() -> None:
            while not self._stop.wait(escalation_check_interval_s):
                try:
                    self.maintain()
                except Exception:  # the ticker must survive a locked database
                    _log.exception("alarm maintenance failed")

        self._ticker = threading.Thread(target=tick, name="alarm-maintenance", daemon=True)
        self._ticker.start()

    def close(self) -> None:
        """Stop the escalation thread, close the channels that have a `close` method and
        close the store: the service owns what it was given."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(5.0)
            self._ticker = None
        for notifier in self._notifiers:
            if isinstance(notifier, _Closeable):
                notifier.close()
        self.store.close()

    # -- internals ------------------------------------------------------------------------

    def _require(self, alarm_id: str) -> Alarm:
        alarm = self.store.get(alarm_id) if isinstance(alarm_id, str) else None
        if alarm is None:
            raise AlarmNotFound(f"no alarm with id {str(alarm_id)[:80]!r}", alarm_id=alarm_id)
        return alarm

    def _commit(self, alarm: Alarm, transition: Transition) -> None:
        self.store.save(alarm, transition)
        self._publish(alarm, transition)

    def _publish(
        self, alarm: Alarm, transition: Transition, *, severity: Severity | None = None
    ) -> None:
        event = AlarmEvent(
            event_id=next(self._event_ids),
            kind=transition.action.lower(),
            alarm_id=alarm.alarm_id,
            site=alarm.site,
            severity=severity or alarm.severity,
            escalation_level=alarm.escalation_level,
            actor=transition.actor,
            ts_ms=transition.ts_ms,
            alarm=alarm.to_dict(),
        )
        for notifier in self._notifiers:
            try:
                notifier.notify(event)
            except Exception:  # one broken channel must not lose the others' notifications
                self.notify_failures += 1
                _log.exception("alarm notifier %r failed", notifier)
