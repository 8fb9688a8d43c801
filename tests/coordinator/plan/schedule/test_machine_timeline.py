"""The dispatch rule's machine timeline answers every query exactly as a plain scan of all
its entries would (the indexed search only skips entries that cannot matter)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.plan.schedule.dispatch import MachineTimeline
from coordinator.plan.schedule.problem import SchedulingProblem, Setup
from tests.coordinator.plan.plan_fixtures import machines

FAMILIES = ("", "A", "B", "C")
PROBLEM = SchedulingProblem(
    machines=machines("M"),
    jobs=(),
    setups=(Setup("A", "B", 7), Setup("B", "A", 3), Setup("A", "C", 11), Setup("C", "B", 5)),
    now=4,
)


@dataclass
class _Busy:
    start: int
    end: int
    family: str | None
    rush_only: bool


@dataclass
class PlainTimeline:
    """The reference: every query scans every entry."""

    initial_family: str
    entries: list[_Busy] = field(default_factory=list)

    def add(self, start: int, end: int, family: str | None, rush_only: bool) -> None:
        self.entries.append(_Busy(start, end, family, rush_only))
        self.entries.sort(key=lambda b: (b.start, b.end))

    def fits(self, start: int, duration: int, family: str, rush: bool) -> int | None:
        setup = PROBLEM.setup_time
        prev_family = self.initial_family
        prev_end = PROBLEM.now if self.initial_family else start
        for b in self.entries:
            if b.family is not None and b.start < start:
                prev_family, prev_end = b.family, b.end
        s = max(start, prev_end + setup(prev_family, family)) if prev_family else start
        end = s + duration
        for b in self.entries:
            if b.rush_only and rush:
                continue
            if b.start < end and s < b.end and not (duration == 0 and b.start == s):
                return None
            if b.family is not None and b.start >= end:
                return None if end + setup(family, b.family) > b.start else s
        return s

    def earliest(self, ready: int, duration: int, family: str, rush: bool) -> int:
        for candidate in sorted({ready} | {b.end for b in self.entries if b.end > ready}):
            s = self.fits(candidate, duration, family, rush)
            if s is not None and self.fits(s, duration, family, rush) == s:
                return s
        raise AssertionError("unreachable")

    def setup_added(self, start: int, end: int, family: str) -> int:
        setup = PROBLEM.setup_time
        before, after = self.initial_family, ""
        for b in self.entries:
            if b.family is None:
                continue
            if b.start < start:
                before = b.family
            elif b.start >= end:
                after = b.family
                break
        added = setup(before, family) if before else 0
        if after:
            added += setup(family, after) - (setup(before, after) if before else 0)
        return added


# Entries as dispatch adds them: an operation takes at least one unit (zero-length ones take
# no machine time and are never added); downtime and reserve, which carry no family, may be
# empty. (A zero-length entry with a family at the last end could leave no candidate that
# fits an instantaneous operation of another family.)
entry = st.one_of(
    st.tuples(st.integers(0, 60), st.integers(1, 15), st.sampled_from(FAMILIES), st.booleans()),
    st.tuples(st.integers(0, 60), st.integers(0, 15), st.none(), st.booleans()),
)
query = st.tuples(st.integers(0, 80), st.integers(0, 12), st.sampled_from(FAMILIES), st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    initial=st.sampled_from(FAMILIES),
    entries=st.lists(entry, max_size=14),
    queries=st.lists(query, min_size=1, max_size=6),
)
def test_every_query_matches_a_plain_scan(
    initial: str,
    entries: list[tuple[int, int, str | None, bool]],
    queries: list[tuple[int, int, str, bool]],
) -> None:
    """Free slots, earliest starts and added changeovers agree with the plain scan, for
    overlapping, zero-length, reserved and family-less entries added in any order."""
    timeline = MachineTimeline(PROBLEM, initial)
    plain = PlainTimeline(initial)
    for start, length, family, rush_only in entries:
        timeline.add(start, start + length, family, rush_only=rush_only)
        plain.add(start, start + length, family, rush_only)
    assert [(b.start, b.end, b.family, b.rush_only) for b in timeline.entries] == [
        (b.start, b.end, b.family, b.rush_only) for b in plain.entries
    ]
    for at, duration, family, rush in queries:
        assert timeline.is_free(at, duration, family, rush=rush) == (
            plain.fits(at, duration, family, rush) == at
        )
        assert timeline.earliest(at, duration, family, rush=rush) == plain.earliest(
            at, duration, family, rush
        )
        assert timeline.setup_added(at, at + duration, family) == plain.setup_added(
            at, at + duration, family
        )


def test_a_machine_booked_solid_is_not_walked_one_operation_at_a_time() -> None:
    """2,000 back-to-back operations of one family: the earliest start of a 30-unit
    operation of another family, asked from the first, is after the last one and its
    changeover (as the plain scan finds on a shorter run), found in a few probes instead
    of one per operation."""
    timeline = MachineTimeline(PROBLEM, "A")
    plain = PlainTimeline("A")
    for i in range(2000):
        timeline.add(10 * i, 10 * i + 10, "A")
        if i < 30:
            plain.add(10 * i, 10 * i + 10, "A", False)
    probes = 0
    fits = timeline._fits

    def counted(start: int, duration: int, family: str, rush: bool) -> int | None:
        nonlocal probes
        probes += 1
        return fits(start, duration, family, rush)

    timeline._fits = counted  # type: ignore[method-assign]
    assert timeline.earliest(0, 30, "B", rush=False) == 20_000 + 7
    assert plain.earliest(0, 30, "B", False) == 300 + 7  # the same answer on 30 of them
    assert probes <= 6
