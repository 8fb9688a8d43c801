"""The alarms of every site in one list: this coordinator's own, and the other coordinators'
from the alarm board they share on PostgreSQL (`coordinator.store.alarm_board`).

Each coordinator keeps its alarms in its own file and copies every change onto the board;
reading them back needs the alarm rebuilt from its JSON (`alarm_of`), the list query applied
to it (`matches`, the same rules as `AlarmStore.query`) and two newest-first lists merged
(`merged`). Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from typing import Any, Protocol

from coordinator.alarms.model import Alarm, AlarmQuery

_FIELDS = frozenset(f.name for f in fields(Alarm))


def alarm_of(body: Mapping[str, Any]) -> Alarm:
    """The alarm `Alarm.to_dict` gave (its derived `status` left out)."""
    return Alarm(**{k: v for k, v in body.items() if k in _FIELDS})


def matches(alarm: Alarm, q: AlarmQuery) -> bool:
    """Whether `alarm` passes the filter of `q` (paging aside)."""
    if q.statuses and alarm.status not in q.statuses:
        return False
    if q.severities and alarm.severity not in q.severities:
        return False
    for wanted, value in (
        (q.site, alarm.site),
        (q.source, alarm.source),
        (q.alarm_type, alarm.alarm_type),
        (q.assignee, alarm.assignee),
    ):
        if wanted is not None and value != wanted:
            return False
    if q.sites is not None and alarm.site not in q.sites:
        return False
    if q.until_ms is not None and alarm.start_ms >= q.until_ms:
        return False
    return not (
        q.since_ms is not None
        and alarm.cleared
        and (alarm.clear_ms is None or alarm.clear_ms < q.since_ms)
    )


def merged(lists: Iterable[Iterable[Alarm]], *, offset: int, limit: int) -> list[Alarm]:
    """Newest start first (ties by id, as the store orders them), one page."""
    every = sorted((a for alarms in lists for a in alarms), key=lambda a: (-a.start_ms, a.alarm_id))
    return every[max(0, offset) : max(0, offset) + max(0, limit)]


class AlarmBoard(Protocol):
    """The shared board's read side (`coordinator.store.alarm_board.PostgresAlarmBoard`)."""

    def query(self, q: AlarmQuery, *, except_sites: tuple[str, ...] = ()) -> list[Alarm]:
        """Alarms passing `q`'s filter, newest first, at most `q.offset + q.limit`."""
        ...


class OwnAlarms(Protocol):
    """This coordinator's alarm service, as far as listing goes."""

    def list_alarms(self, query: AlarmQuery | None = None) -> list[Alarm]:
        """Alarms passing the filter, newest first, one page."""
        ...


class FleetAlarms:
    """The alarm list of every site: `own` (the service of `own_sites`; None on a
    standby) and `board` (the others'; None on SQLite, where one coordinator has them all)."""

    def __init__(
        self, own: OwnAlarms | None, own_sites: tuple[str, ...], board: AlarmBoard | None
    ) -> None:
        self.own = own
        self.own_sites = own_sites
        self.board = board

    def list_alarms(self, q: AlarmQuery) -> list[Alarm]:
        """One page of the alarms of every site passing `q`, newest first."""
        if self.board is None or (self.own is not None and not self.own_sites):
            return [] if self.own is None else self.own.list_alarms(q)
        head = replace(q, offset=0, limit=max(0, q.offset) + max(0, q.limit))
        own = [] if self.own is None else self.own.list_alarms(head)
        others = self.board.query(head, except_sites=self.own_sites if self.own else ())
        return merged((own, others), offset=q.offset, limit=q.limit)


__all__ = ["AlarmBoard", "FleetAlarms", "OwnAlarms", "alarm_of", "matches", "merged"]
