"""Operator feedback on alarms: was it a false alert, or a confirmed fault?

An operator's verdict on an alarm is recorded as a `FEEDBACK` transition (note `false` or
`confirmed`); the latest verdict per alarm counts. `feedback_counts` turns verdicts into
counts per (detector, signal, verdict) for `/metrics`, so a signal whose detector keeps
being marked false shows up, and its sensitivity can be lowered through the agent's
`config` command (`detectors.per_signal.<signal>.sensitivity`).

An agent's `anomaly` alarm names one signal and detector (its source is `node/signal`); an
`incident` alarm names several, in its details' `data` (`signals`, `<signal>.detector`),
and each of them counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Literal

Verdict = Literal["false", "confirmed"]
VERDICTS: Final[tuple[Verdict, ...]] = ("false", "confirmed")
FEEDBACK_ACTION: Final = "FEEDBACK"


def judged_signals(
    source: str, alarm_type: str, details: Mapping[str, object]
) -> list[tuple[str, str]]:
    """(detector, signal) pairs an alarm stands for; [] for alarms of no detector."""
    if alarm_type.startswith("anomaly."):
        return [(alarm_type.removeprefix("anomaly."), source)]
    if alarm_type != "incident":
        return []
    data = details.get("data")
    if not isinstance(data, dict):
        return []
    node = source.split("/", 1)[0]
    found = []
    for signal in str(data.get("signals", "")).split(","):
        if not signal:
            continue
        machine = str(data.get("machine", ""))
        short = signal.removeprefix(f"{machine}.") if machine and machine != "node" else signal
        detector = data.get(f"{short}.detector")
        if isinstance(detector, str):
            found.append((detector, f"{node}/{signal}"))
    return found


def feedback_counts(
    verdicts: Iterable[tuple[str, str, Mapping[str, object], str]],
) -> dict[tuple[str, str, str], int]:
    """Counts per (detector, signal, verdict) from (source, alarm_type, details, verdict)
    rows, one row per alarm (its latest verdict)."""
    counts: dict[tuple[str, str, str], int] = {}
    for source, alarm_type, details, verdict in verdicts:
        if verdict not in VERDICTS:
            continue
        for detector, signal in judged_signals(source, alarm_type, details):
            key = (detector, signal, verdict)
            counts[key] = counts.get(key, 0) + 1
    return counts


__all__ = ["FEEDBACK_ACTION", "VERDICTS", "Verdict", "feedback_counts", "judged_signals"]
