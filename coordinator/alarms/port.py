"""The port through which the rest of the coordinator raises and clears alarms.

Ingest (anomaly events), the fleet twin (node inactivity, low stock) and the dead-letter
counter call an `AlarmSink`; the alarm service implements it. `RecordingAlarmSink` is the
in-memory double for tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Severity = Literal["CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE"]


class AlarmSink(Protocol):
    """Where alarm triggers and clears go. Implementations must not block for long."""

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
        """Open the alarm for (site, source, alarm_type), or update the one already active."""
        ...

    def clear(self, *, site: str, source: str, alarm_type: str, message: str, ts_ms: int) -> None:
        """Clear the active alarm for (site, source, alarm_type), if there is one."""
        ...

    def active(self, alarm_type: str) -> list[tuple[str, str, dict[str, object]]]:
        """(site, source, details) of every active alarm of `alarm_type`: what a raiser
        restarted after a crash must still clear."""
        ...


@dataclass
class RecordingAlarmSink:
    """An `AlarmSink` that remembers every call, in order."""

    calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)

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
        self.calls.append(
            (
                "trigger",
                {
                    "site": site,
                    "source": source,
                    "alarm_type": alarm_type,
                    "severity": severity,
                    "message": message,
                    "details": details,
                    "ts_ms": ts_ms,
                },
            )
        )

    def active(self, alarm_type: str) -> list[tuple[str, str, dict[str, object]]]:
        open_: dict[tuple[str, str], dict[str, object]] = {}
        for kind, call in self.calls:
            if call["alarm_type"] != alarm_type:
                continue
            key = (str(call["site"]), str(call["source"]))
            if kind == "trigger":
                details = call["details"]
                open_[key] = dict(details) if isinstance(details, dict) else {}
            else:
                open_.pop(key, None)
        return [(site, source, details) for (site, source), details in open_.items()]

    def clear(self, *, site: str, source: str, alarm_type: str, message: str, ts_ms: int) -> None:
        self.calls.append(
            (
                "clear",
                {
                    "site": site,
                    "source": source,
                    "alarm_type": alarm_type,
                    "message": message,
                    "ts_ms": ts_ms,
                },
            )
        )
