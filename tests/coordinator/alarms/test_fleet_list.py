"""The fleet-wide alarm list's pure parts agree with the alarm store: the same filter, the
same order, the same pages, and an alarm survives its trip through JSON."""

from __future__ import annotations

import itertools
import random

from coordinator.alarms.fleet_list import FleetAlarms, alarm_of, matches, merged
from coordinator.alarms.model import SEVERITIES, Alarm, AlarmQuery, Transition
from coordinator.alarms.store import AlarmStore


def _alarms(count: int, seed: int = 3) -> list[Alarm]:
    rng = random.Random(seed)
    found = []
    for k in range(count):
        start = rng.randrange(0, 10_000)
        cleared = rng.random() < 0.5
        found.append(
            Alarm(
                alarm_id=f"a{k:03d}",
                site=rng.choice(["s1", "s2", "s3"]),
                source=f"m{k}",  # one active alarm per (site, source, type)
                alarm_type=rng.choice(["overheat", "offline"]),
                severity=rng.choice(SEVERITIES),
                message="x",
                start_ms=start,
                last_ms=start + 5,
                acknowledged=rng.random() < 0.5,
                cleared=cleared,
                clear_ms=start + rng.randrange(0, 3000) if cleared else None,
                assignee=rng.choice([None, "ana"]),
            )
        )
    return found


QUERIES = [
    AlarmQuery(),
    AlarmQuery(statuses=frozenset({"ACTIVE_UNACK", "CLEARED_ACK"})),
    AlarmQuery(severities=frozenset({"MAJOR", "CRITICAL"}), site="s2"),
    AlarmQuery(sites=frozenset({"s1", "s3"}), source="m7", alarm_type="offline"),
    AlarmQuery(sites=frozenset(), limit=5),
    AlarmQuery(assignee="ana", since_ms=4000, until_ms=8000),
    AlarmQuery(since_ms=9000, limit=7, offset=3),
    AlarmQuery(limit=10, offset=20),
]


def test_matches_and_merged_give_the_stores_answer() -> None:
    """For each query, filtering and paging in Python equals the SQLite store's query."""
    alarms = _alarms(120)
    store = AlarmStore.open(":memory:")
    for alarm in alarms:
        store.save(
            alarm,
            Transition(alarm_id=alarm.alarm_id, ts_ms=alarm.start_ms, actor="t",
                       action="CREATED", from_status=None, to_status=alarm.status),
        )  # fmt: skip
    for q in QUERIES:
        expected = store.query(q)
        picked = merged([[a for a in alarms if matches(a, q)]], offset=q.offset, limit=q.limit)
        assert picked == expected, q


def test_two_lists_merge_into_one_newest_first_page() -> None:
    """Own alarms and the board's, each newest first, give the page the union would."""
    alarms = _alarms(40)
    own, board = alarms[::2], alarms[1::2]
    every = sorted(alarms, key=lambda a: (-a.start_ms, a.alarm_id))
    for offset, limit in itertools.product((0, 3, 35), (1, 10, 100)):
        assert merged((own, board), offset=offset, limit=limit) == every[offset : offset + limit]


def test_an_alarm_survives_its_json() -> None:
    """`alarm_of(to_dict())` is the alarm again (the derived status left out)."""
    for alarm in _alarms(10):
        assert alarm_of(alarm.to_dict()) == alarm


class _Board:
    def __init__(self, alarms: list[Alarm]) -> None:
        self.alarms = alarms
        self.asked: list[tuple[str, ...]] = []

    def query(self, q: AlarmQuery, *, except_sites: tuple[str, ...] = ()) -> list[Alarm]:
        self.asked.append(except_sites)
        return [a for a in self.alarms if a.site not in except_sites and matches(a, q)]


class _Own:
    def __init__(self, alarms: list[Alarm]) -> None:
        self.alarms = alarms

    def list_alarms(self, query: AlarmQuery | None = None) -> list[Alarm]:
        q = query or AlarmQuery()
        return merged([[a for a in self.alarms if matches(a, q)]], offset=q.offset, limit=q.limit)


def test_fleet_list_reads_the_board_for_other_sites_only() -> None:
    """A coordinator of s1 lists its own s1 alarms and the board's others; one of every
    site reads no board; a standby reads the board alone."""
    alarms = _alarms(60)
    mine = [a for a in alarms if a.site == "s1"]
    board = _Board(alarms)  # the board holds every coordinator's alarms
    q = AlarmQuery(limit=15, offset=5)
    expected = merged([[a for a in alarms if matches(a, q)]], offset=5, limit=15)
    assert FleetAlarms(_Own(mine), ("s1",), board).list_alarms(q) == expected
    assert board.asked == [("s1",)]
    assert FleetAlarms(None, (), board).list_alarms(q) == expected
    assert FleetAlarms(_Own(mine), (), board).list_alarms(q) == _Own(mine).list_alarms(q)
    assert FleetAlarms(_Own(mine), ("s1",), None).list_alarms(q) == _Own(mine).list_alarms(q)
