"""Vans lent between depots: hand-made cases of who is behind, who can spare a van, which
one lends and when a borrowed van goes home; and properties over random fleets."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.plan.routing.lending import BEHIND_S, DepotVans, VanMove, loans, returns

H = 3600.0
DAY = 12 * H  # a 12-hour delivery day
KM = {frozenset(("A", "B")): 50.0, frozenset(("A", "C")): 120.0, frozenset(("B", "C")): 80.0}


def km(a: str, b: str) -> float:
    return KM[frozenset((a, b))]


def _behind(id_: str = "A", *, waited_h: float = 30.0) -> DepotVans:
    """A stop has waited 30 h (over a day): behind."""
    return DepotVans(id_, vans=3, free=0, oldest_wait_s=waited_h * H, busy_s=40 * H)


def _spare(id_: str, *, busy_h: float = 20.0, free: int = 2) -> DepotVans:
    """Three vans, two free; its tours took 20 h over the last day: two vans' 24 h do it."""
    return DepotVans(id_, vans=3, free=free, oldest_wait_s=2 * H, busy_s=busy_h * H)


def _loans(depots: list[DepotVans], **kw: float) -> list[VanMove]:
    return loans(depots, day_s=DAY, distance_km=km, **kw)


def test_a_depot_behind_borrows_from_the_nearest_that_can_spare_a_van() -> None:
    assert _loans([_behind(), _spare("B"), _spare("C")]) == [VanMove("B", "A", "lend")]
    assert _loans([_behind(), _spare("C")]) == [VanMove("C", "A", "lend")]


def test_a_stop_that_waited_a_day_or_less_is_not_behind() -> None:
    assert _loans([_behind(waited_h=24.0), _spare("B")]) == []
    assert _loans([_behind(waited_h=24.1), _spare("B")]) == [VanMove("B", "A", "lend")]
    assert _loans([_behind(waited_h=10.0), _spare("B")], behind_s=8 * H) == [
        VanMove("B", "A", "lend")
    ]


def test_a_depot_lends_only_when_its_last_day_fits_in_one_van_fewer() -> None:
    assert _loans([_behind(), _spare("B", busy_h=24.5)]) == []
    assert _loans([_behind(), _spare("B", busy_h=24.0)]) == [VanMove("B", "A", "lend")]


def test_a_depot_without_a_free_van_behind_or_borrowing_does_not_lend() -> None:
    borrowing = DepotVans("B", vans=3, free=2, oldest_wait_s=0.0, busy_s=H, borrowed=("C",))
    assert _loans([_behind(), _spare("B", free=0)]) == []
    assert _loans([_behind(), borrowing]) == []
    assert _loans([_behind(), _behind("B")]) == []  # both behind: neither lends


def test_no_van_comes_from_further_than_max_km() -> None:
    assert _loans([_behind(), _spare("C")], max_km=100.0) == []
    assert _loans([_behind(), _spare("B"), _spare("C")], max_km=60.0) == [VanMove("B", "A", "lend")]


def test_the_longest_waiting_borrows_first_one_van_each() -> None:
    """B can spare one van (20 h in two vans' 24 h, not in one's 12 h): it goes to C, whose
    stop waited longer, and A goes without; B with 4 vans lends to both."""
    longer = _behind("C", waited_h=40.0)
    assert _loans([_behind(), longer, _spare("B")]) == [VanMove("B", "C", "lend")]
    roomy = DepotVans("B", vans=4, free=3, oldest_wait_s=0.0, busy_s=20 * H)
    assert _loans([_behind(), longer, roomy]) == [
        VanMove("B", "C", "lend"),
        VanMove("B", "A", "lend"),
    ]


def test_a_borrowed_van_goes_home_when_the_borrower_has_caught_up() -> None:
    """Between days: A has 4 vans (one borrowed from B). Caught up: no stop waited 12 h and
    its last day (35 h) fits in its 3 own vans' 36 h; not while a stop waited 13 h, nor
    after a 37-hour day, nor with no van free."""

    def a(waited_h: float = 2.0, busy_h: float = 35.0, free: int = 1) -> DepotVans:
        return DepotVans("A", vans=4, free=free, oldest_wait_s=waited_h * H,
                         busy_s=busy_h * H, borrowed=("B",))  # fmt: skip

    home = DepotVans("B", vans=2, free=2, oldest_wait_s=0.0, busy_s=5 * H)
    assert returns([a(), home], day_s=DAY) == [VanMove("A", "B", "return")]
    assert returns([a(waited_h=13.0), home], day_s=DAY) == []
    assert returns([a(busy_h=37.0), home], day_s=DAY) == []
    assert returns([a(free=0), home], day_s=DAY) == []  # still out on a tour


def test_a_borrowed_van_goes_home_when_its_home_is_behind() -> None:
    a = DepotVans("A", vans=4, free=1, oldest_wait_s=30 * H, busy_s=45 * H, borrowed=("B",))
    home = DepotVans("B", vans=2, free=0, oldest_wait_s=25 * H, busy_s=24 * H)
    assert returns([a, home], day_s=DAY) == [VanMove("A", "B", "return")]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"free": 4}, "free"),
        ({"free": -1}, "free"),
        ({"oldest_wait_s": -1.0}, "oldest_wait_s"),
        ({"busy_s": float("nan")}, "busy_s"),
        ({"busy_s": float("inf")}, "busy_s"),
        ({"borrowed": ("B",) * 4}, "borrowed"),
    ],
)
def test_impossible_figures_are_refused_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {"vans": 3, "free": 1, "oldest_wait_s": 0.0, "busy_s": 0.0,
                                 **kwargs}  # fmt: skip
    with pytest.raises(ValueError, match=field):
        DepotVans("A", **values)  # type: ignore[arg-type]


def test_a_bad_day_or_repeated_depots_are_refused() -> None:
    with pytest.raises(ValueError, match="day_s"):
        loans([], day_s=0.0, distance_km=km)
    with pytest.raises(ValueError, match="behind_s"):
        loans([], day_s=DAY, distance_km=km, behind_s=-1.0)
    with pytest.raises(ValueError, match="unique"):
        _loans([_spare("B"), _spare("B")])
    with pytest.raises(ValueError, match="day_s"):
        returns([], day_s=float("nan"))


_depot = st.tuples(
    st.integers(1, 5), st.floats(0, 1), st.floats(0, 3 * BEHIND_S), st.floats(0, 60 * H)
)


@given(st.lists(_depot, min_size=1, max_size=5), st.integers(0, 2**32 - 1))
def test_loans_go_from_depots_able_to_spare_to_depots_behind_in_any_order(
    raw: list[tuple[int, float, float, float]], shuffle_seed: int
) -> None:
    ids = "ABCDE"
    depots = [
        DepotVans(ids[i], vans=v, free=round(v * f), oldest_wait_s=w, busy_s=b)
        for i, (v, f, w, b) in enumerate(raw)
    ]
    at = {ids[i]: float(i * 37 % 11) for i in range(len(depots))}

    def dist(a: str, b: str) -> float:
        return abs(at[a] - at[b]) + 1.0

    moves = loans(depots, day_s=DAY, distance_km=dist)
    shuffled = list(depots)
    random.Random(shuffle_seed).shuffle(shuffled)
    assert loans(shuffled, day_s=DAY, distance_km=dist) == moves
    by_id = {d.id: d for d in depots}
    lent: dict[str, int] = {}
    for m in moves:
        assert m.reason == "lend"
        assert by_id[m.to].oldest_wait_s > BEHIND_S
        lender = by_id[m.van_from]
        assert lender.oldest_wait_s <= BEHIND_S
        assert lender.busy_s <= (lender.vans - 1) * DAY
        lent[m.van_from] = lent.get(m.van_from, 0) + 1
    assert all(n <= by_id[d].free for d, n in lent.items())
    assert len({m.to for m in moves}) == len(moves)  # one van each per decision
