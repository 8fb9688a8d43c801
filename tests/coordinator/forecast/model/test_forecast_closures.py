"""The closure calendar: last year's closures carried into the forecast horizon."""

from __future__ import annotations

import datetime as dt

import numpy as np

from coordinator.forecast.model.closures import easter_sunday
from coordinator.forecast.model.features import OPEN_FEATURE, feature_names
from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.predictor import panel_features

_EPOCH = dt.date(1970, 1, 1)


def _day(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - _EPOCH).days


def _panel(first: str, last: str, closed: list[str], n_series: int = 30) -> SeriesPanel:
    """Series selling about 3 a day on every weekday, 0 for all of them on `closed`."""
    start, end = _day(first), _day(last)
    rng = np.random.default_rng(5)
    y = rng.poisson(3.0, (n_series, end - start + 1)).astype(np.float64)
    for iso in closed:
        y[:, _day(iso) - start] = 0.0
    return SeriesPanel(
        ids=tuple(f"s{i}" for i in range(n_series)),
        y=y,
        exog=np.zeros((n_series, y.shape[1], 0)),
        exog_names=(),
        end_days=np.full(n_series, end, dtype=np.int64),
        lengths=np.full(n_series, y.shape[1], dtype=np.int64),
    )


def _expected_closed(panel: SeriesPanel, horizon: int) -> list[str]:
    """The target days whose `target_open` feature is 0 (the same for every series)."""
    rows = panel_features(
        panel, horizon=horizon, window_days=364, exog_names=(), future=np.zeros((30, horizon, 0))
    )
    open_ = rows.x[:, feature_names(()).index(OPEN_FEATURE)].reshape(panel.n_series, horizon)
    assert (open_ == open_[0]).all()
    first = int(panel.end_days[0]) + 1
    return [
        (_EPOCH + dt.timedelta(days=first + int(h))).isoformat()
        for h in np.flatnonzero(~(open_[0] > 0))
    ]


def test_easter_sunday_matches_known_dates() -> None:
    """The computus gives the Western Easter Sundays of 1818, 2008–2011, 2019 and 2038."""
    for iso in ("1818-03-22", "2008-03-23", "2010-04-04", "2011-04-24", "2019-04-21", "2038-04-25"):
        assert easter_sunday(int(iso[:4])) == _day(iso)


def test_easter_closures_follow_easter_and_others_the_weekday() -> None:
    """With one year of history, Good Friday and Easter Monday 2010 give 22 and 25 April
    2011, not the days 364 later; the first Monday of May 2010 gives the first Monday
    of May 2011; an ordinary day gives nothing."""
    panel = _panel("2010-03-01", "2011-03-31", ["2010-04-02", "2010-04-05", "2010-05-03"])
    assert _expected_closed(panel, 40) == ["2011-04-22", "2011-04-25", "2011-05-02"]


def test_a_closure_on_the_same_date_two_years_running_follows_the_date() -> None:
    """Christmas Day closed in 2009 and 2010 is expected on 25 December 2011 (a Sunday),
    not on the 24th, which is 364 days after the 2010 closure."""
    panel = _panel("2009-12-01", "2011-11-30", ["2009-12-25", "2010-12-25"])
    assert _expected_closed(panel, 40) == ["2011-12-25"]


def test_a_panel_without_closures_expects_none() -> None:
    """No day without sales, no expected closure: every `target_open` is 1."""
    panel = _panel("2010-01-01", "2011-06-30", [])
    assert _expected_closed(panel, 28) == []


def test_series_ending_on_different_days_share_one_calendar() -> None:
    """When some series end three days earlier, each series' expected closures are the
    same calendar days (the panel's closures are read by date, not by column)."""
    panel = _panel("2010-03-01", "2011-03-31", ["2010-04-02", "2010-04-05", "2010-05-03"])
    y = panel.y.copy()
    y[:15] = np.roll(y[:15], 3, axis=1)
    y[:15, :3] = np.nan  # the first 15 series: the same days, ending 3 days earlier
    end = panel.end_days.copy()
    end[:15] -= 3
    lengths = panel.lengths.copy()
    lengths[:15] -= 3
    shifted = SeriesPanel(panel.ids, y, panel.exog, (), end, lengths)
    rows = panel_features(
        shifted, horizon=40, window_days=364, exog_names=(), future=np.zeros((30, 40, 0))
    )
    open_ = rows.x[:, feature_names(()).index(OPEN_FEATURE)].reshape(30, 40)
    days = shifted.end_days[:, None] + 1 + np.arange(40)[None, :]
    expected = {_day(d) for d in ("2011-04-22", "2011-04-25", "2011-05-02")}
    assert ((open_ == 0) == np.isin(days, list(expected))).all()
