"""Vans lent between depots: hand-computed cases of who is short, who can spare a van,
which one lends and when a borrowed van goes home; and properties over random fleets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.plan.routing.lending import DepotVans, VanMove, loans, returns

H = 3600.0
DAY = 10 * H  # a 10-hour delivery day
LEFT = 5 * H  # half of it left
KM = {frozenset(("A", "B")): 50.0, frozenset(("A", "C")): 120.0, frozenset(("B", "C")): 80.0}


def km(a: str, b: str) -> float:
    return KM[frozenset((a, b))]


def _short(id_: str = "A", *, waiting_h: float = 30.0) -> DepotVans:
    """Needs 30 h + 25 h × 1.5 = 67.5 h of van time; has 10 h + 3 vans × 10 h = 40 h."""
    return DepotVans(id_, vans=3, free=0, waiting_s=waiting_h * H, left_s=10 * H, daily_s=25 * H)


def _spare(id_: str, *, daily_h: float = 10.0) -> DepotVans:
    """Needs 2 h + 10 h × 1.5 = 17 h; has 15 h + 30 h = 45 h, 30 h without a free van
    (its 5 h left today and its 10 h tomorrow)."""
    return DepotVans(id_, vans=3, free=2, waiting_s=2 * H, left_s=15 * H, daily_s=daily_h * H)


def _loans(depots: list[DepotVans], **kw: float) -> list[VanMove]:
    return loans(depots, day_s=DAY, day_left_s=LEFT, distance_km=km, **kw)


def test_a_short_depot_borrows_from_the_nearest_that_can_spare_a_van() -> None:
    assert _loans([_short(), _spare("B"), _spare("C")]) == [VanMove("B", "A", "lend")]
    assert _loans([_short(), _spare("C")]) == [VanMove("C", "A", "lend")]


def test_no_loan_when_nobody_is_short() -> None:
    """A depot that needs exactly what it has is not short."""
    even = _short(waiting_h=40 - 37.5)  # 2.5 h + 37.5 h = 40 h
    assert _loans([even, _spare("B")]) == []


def test_a_depot_lends_only_what_it_can_do_without() -> None:
    """B without a van would have 30 h: at a usual day of 19 h it needs 2 + 28.5 = 30.5 h."""
    assert _loans([_short(), _spare("B", daily_h=19)]) == []
    assert _loans([_short(), _spare("B", daily_h=18)]) == [VanMove("B", "A", "lend")]


def test_a_depot_without_a_free_van_or_borrowing_one_does_not_lend() -> None:
    busy = DepotVans("B", vans=3, free=0, waiting_s=0.0, left_s=15 * H, daily_s=H)
    borrower = DepotVans("B", vans=3, free=2, waiting_s=0.0, left_s=15 * H, daily_s=H,
                         borrowed=("C",))  # fmt: skip
    assert _loans([_short(), busy]) == []
    assert _loans([_short(), borrower]) == []


def test_no_van_comes_from_further_than_max_km() -> None:
    assert _loans([_short(), _spare("C")], max_km=100.0) == []
    assert _loans([_short(), _spare("B"), _spare("C")], max_km=60.0) == [VanMove("B", "A", "lend")]


def test_the_most_short_borrows_first_one_van_each() -> None:
    """B can spare one van (30 h less 15 h for a second is too little): it goes to C, the
    more short of A and C, and A goes without; with a second spare depot both borrow."""
    more_short = _short("C", waiting_h=40)
    b = _spare("B")
    assert _loans([_short(), more_short, b]) == [VanMove("B", "C", "lend")]
    roomy = DepotVans("B", vans=4, free=3, waiting_s=0.0, left_s=20 * H, daily_s=H)
    assert _loans([_short(), more_short, roomy]) == [
        VanMove("B", "C", "lend"),
        VanMove("B", "A", "lend"),
    ]


def test_a_borrowed_van_goes_home_when_the_borrower_manages_a_day_without_it() -> None:
    """Between days: A has 4 vans (one borrowed from B); 3 × 10 h cover what waits and a
    usual day at 29 h, not at 31 h."""

    def a(waiting_h: float, free: int = 1) -> DepotVans:
        return DepotVans("A", vans=4, free=free, waiting_s=waiting_h * H, left_s=0.0,
                         daily_s=25 * H, borrowed=("B",))  # fmt: skip

    home = DepotVans("B", vans=2, free=2, waiting_s=0.0, left_s=0.0, daily_s=5 * H)
    assert returns([a(4.0), home], day_s=DAY) == [VanMove("A", "B", "return")]
    assert returns([a(6.0), home], day_s=DAY) == []
    assert returns([a(4.0, free=0), home], day_s=DAY) == []  # still out on a tour


def test_a_borrowed_van_goes_home_when_its_home_is_short() -> None:
    a = DepotVans("A", vans=4, free=1, waiting_s=30 * H, left_s=0.0, daily_s=25 * H,
                  borrowed=("B",))  # fmt: skip
    short_home = DepotVans("B", vans=2, free=0, waiting_s=10 * H, left_s=0.0, daily_s=15 * H)
    assert returns([a, short_home], day_s=DAY) == [VanMove("A", "B", "return")]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"free": 4}, "free"),
        ({"free": -1}, "free"),
        ({"waiting_s": -1.0}, "waiting_s"),
        ({"left_s": float("nan")}, "left_s"),
        ({"daily_s": float("inf")}, "daily_s"),
        ({"borrowed": ("B",) * 4}, "borrowed"),
    ],
)
def test_impossible_figures_are_refused_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {"vans": 3, "free": 1, "waiting_s": 0.0, "left_s": 0.0,
                                 "daily_s": 0.0, **kwargs}  # fmt: skip
    with pytest.raises(ValueError, match=field):
        DepotVans("A", **values)  # type: ignore[arg-type]


def test_a_bad_day_or_repeated_depots_are_refused() -> None:
    with pytest.raises(ValueError, match="day_s"):
        loans([], day_s=0.0, day_left_s=0.0, distance_km=km)
    with pytest.raises(ValueError, match="day_left_s"):
        loans([], day_s=DAY, day_left_s=DAY + 1, distance_km=km)
    with pytest.raises(ValueError, match="unique"):
        _loans([_spare("B"), _spare("B")])
    with pytest.raises(ValueError, match="day_s"):
        returns([], day_s=float("nan"))


_depot = st.builds(
    lambda vans, free_share, waiting, left, daily: (vans, free_share, waiting, left, daily),
    st.integers(1, 5),
    st.floats(0, 1),
    st.floats(0, 80 * H),
    st.floats(0, 50 * H),
    st.floats(0, 50 * H),
)


@given(st.lists(_depot, min_size=1, max_size=5), st.floats(0, DAY), st.randoms())
def test_loans_respect_who_is_short_and_who_is_free_in_any_order(
    raw: list[tuple[int, float, float, float, float]], left: float, rnd: object
) -> None:
    ids = "ABCDE"
    depots = [
        DepotVans(ids[i], vans=v, free=round(v * f), waiting_s=w, left_s=lf, daily_s=d)
        for i, (v, f, w, lf, d) in enumerate(raw)
    ]
    at = {ids[i]: float(i * 37 % 11) for i in range(len(depots))}

    def dist(a: str, b: str) -> float:
        return abs(at[a] - at[b]) + 1.0

    moves = loans(depots, day_s=DAY, day_left_s=left, distance_km=dist)
    shuffled = list(depots)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert loans(shuffled, day_s=DAY, day_left_s=left, distance_km=dist) == moves
    by_id = {d.id: d for d in depots}

    def short(d: DepotVans) -> bool:
        return d.waiting_s + d.daily_s * (1 + left / DAY) > d.left_s + d.vans * DAY

    lent: dict[str, int] = {}
    for m in moves:
        assert m.reason == "lend"
        assert m.van_from != m.to
        assert short(by_id[m.to])
        assert not short(by_id[m.van_from])
        lent[m.van_from] = lent.get(m.van_from, 0) + 1
    assert all(n <= by_id[d].free for d, n in lent.items())
    assert len({m.to for m in moves}) == len(moves)  # one van each per decision
