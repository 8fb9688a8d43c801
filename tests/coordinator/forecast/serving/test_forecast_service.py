"""The forecast service, its schedule, sales-to-history conversion and the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.csv_input import day_to_iso
from coordinator.forecast.model.history import DailySales, panel_from_sales, split_series_id
from coordinator.forecast.serving.ports import InMemoryForecaster
from coordinator.forecast.serving.service import ForecastService, RefreshSchedule
from fleet_runtime.clock import FakeClock
from flexfleet.cli import main
from tests.coordinator.forecast.forecast_support import synthetic_rows, write_csv

DAY0 = 19_700


def _sales() -> list[DailySales]:
    return [
        DailySales("tea", "yiwu-1", DAY0, 2),
        DailySales("tea", "yiwu-1", DAY0, 1),
        DailySales("tea", "yiwu-1", DAY0 + 2, 6),
        DailySales("cup", "yiwu-2", DAY0 + 1, 4),
    ]


def test_sales_become_daily_series() -> None:
    """Records are summed per SKU × location and day; missing days are zero."""
    panel = panel_from_sales(_sales())
    assert panel.ids == ("cup@yiwu-2", "tea@yiwu-1")
    assert panel.y[1].tolist() == [3.0, 0.0, 6.0]
    assert split_series_id("tea@yiwu-1") == ("tea", "yiwu-1")
    assert split_series_id("plain") == ("plain", None)


@pytest.mark.parametrize(
    "bad",
    [DailySales("a@b", "x", 0, 1), DailySales("a", "", 0, 1), DailySales("a", "x", 0, -1)],
)
def test_bad_sales_records_are_refused(bad: DailySales) -> None:
    """Ids with the separator, empty locations and negative units raise DataError."""
    with pytest.raises(DataError):
        panel_from_sales([bad])


def test_refresh_serves_json_per_sku_and_location() -> None:
    """A refresh forecasts every series once, in one batch, and serves JSON."""
    forecaster = InMemoryForecaster(version="v-test")
    clock = FakeClock(start_s=1_000.0)
    service = ForecastService(forecaster, clock=clock, horizon_days=3)
    out = service.refresh(panel_from_sales(_sales()))
    assert len(forecaster.calls) == 1
    assert [f.unique_id for f in out] == ["cup@yiwu-2", "tea@yiwu-1"]
    tea = service.get("tea@yiwu-1")
    assert tea is not None
    assert tea.mean == (3.0, 3.0, 3.0)
    doc = json.loads(json.dumps(service.to_json()))
    first = doc["forecasts"][1]
    assert first["sku"] == "tea"
    assert first["location"] == "yiwu-1"
    assert first["dates"] == [day_to_iso(DAY0 + 3 + h) for h in range(3)]
    assert first["quantiles"]["p90"] == [4.5, 4.5, 4.5]
    assert first["model_version"] == "v-test"
    assert first["generated_at_ms"] == 1_000_000
    assert doc["count"] == 2


def test_schedule_is_due_on_interval_and_request() -> None:
    """Due at start, not again until the interval passes, and at once when requested."""
    clock = FakeClock()
    schedule = RefreshSchedule(clock=clock, interval_s=60.0)
    assert schedule.due()
    schedule.mark_done()
    assert not schedule.due()
    clock.advance(59.0)
    assert not schedule.due()
    schedule.request()
    assert schedule.due()
    schedule.mark_done()
    clock.advance(60.0)
    assert schedule.due()


def test_cli_train_predict_roundtrip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`forecast train` then `forecast predict` write a model and a 5-column forecast CSV;
    training reports the blends chosen on its inner validation windows."""
    data = write_csv(tmp_path / "d.csv")
    model_dir = tmp_path / "model"
    args = ["forecast", "train", "--data", str(data), "--horizon", "7", "--out", str(model_dir)]
    assert main([*args, "--no-holdout", "--seed", "3"]) == 0
    assert "inner validation (4 windows): mean blend" in capsys.readouterr().out
    assert (model_dir / "model.onnx").is_file()
    out = tmp_path / "preds.csv"
    pargs = ["--model", str(model_dir), "--data", str(data), "--horizon", "7", "--out", str(out)]
    assert main(["forecast", "predict", *pargs]) == 0
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["unique_id", "ds", "p10", "p50", "p90"]
    assert len(rows) == 1 + 5 * 7
    assert all(float(r[2]) <= float(r[3]) <= float(r[4]) for r in rows[1:])


def test_cli_reports_bad_csv_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed CSV gives exit code 2 and a one-line error, not a traceback; so does a
    negative y with `--negatives error`."""
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,ds,y\na,2024-01-01,many\n")
    code = main(["forecast", "train", "--data", str(bad), "--out", str(tmp_path / "m")])
    assert code == 2
    assert "bad.csv:line 2: y 'many' is not a number" in capsys.readouterr().err
    bad.write_text("unique_id,ds,y\na,2024-01-01,-3\n")
    args = ["--data", str(bad), "--out", str(tmp_path / "m"), "--negatives", "error"]
    assert main(["forecast", "train", *args]) == 2
    assert "≥ 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("windows", "says"),
    [
        ("0", "the backtest needs at least 1 window, got 0"),
        ("-2", "the backtest needs at least 1 window, got -2"),
        ("23", "23 windows of 7 days leave no history before the first: the data spans 160"),
    ],
)
def test_cli_eval_refuses_windows_the_data_cannot_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], windows: str, says: str
) -> None:
    """No window, or more windows than the data has days before them: exit 2, one line."""
    data = write_csv(tmp_path / "d.csv")
    args = ["--data", str(data), "--horizon", "7", "--windows", windows, "--baselines-only"]
    assert main(["forecast", "eval", *args]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err


def test_cli_refuses_an_output_it_cannot_write_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output under a plain file: exit 2 and one line before the data is even read
    (training first, then a traceback, was what it did)."""
    data = write_csv(tmp_path / "d.csv")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    runs = [
        ["train", "--data", str(data), "--out", str(blocker / "model")],
        ["eval", "--data", str(data), "--baselines-only", "--json", str(blocker / "s.json")],
        ["predict", "--model", str(tmp_path), "--data", str(data), "--out", str(blocker / "p")],
    ]
    for run in runs:
        assert main(["forecast", *run]) == 2, run
        err = capsys.readouterr().err
        assert "flexfleet forecast: error:" in err
        assert "reading" not in err
        assert "Traceback" not in err


def test_cli_eval_names_the_series_it_cannot_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A series that never changed before a window (constant, or no sale yet) has no M5
    scale: the report names it, the JSON lists it, and the scaled means are those without
    it (coverage needs no scale and counts it)."""
    rows = synthetic_rows()
    flat = [("FLAT@A", d, 4.0, p, e) for u, d, _y, p, e in rows if u == "SKU0@A"]
    args = ["--horizon", "7", "--windows", "2", "--baselines-only"]
    for name, data in (("with", rows + flat), ("without", rows)):
        path = write_csv(tmp_path / f"{name}.csv", data)
        out = ["--json", str(tmp_path / f"{name}.json")]
        assert main(["forecast", "eval", "--data", str(path), *args, *out]) == 0
    text = capsys.readouterr().out
    assert text.count("1 series with no sales change before it (M5 scale 0)") == 2
    assert "not in the means: FLAT@A" in text
    docs = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("with", "without")]
    assert [w["unscored"] for w in docs[0]["windows"]] == [["FLAT@A"], ["FLAT@A"]]
    assert [w["unscored"] for w in docs[1]["windows"]] == [[], []]
    scaled = [
        {n: {m: v[m] for m in ("rmsse", "mase", "spl")} for n, v in d["backtest_means"].items()}
        for d in docs
    ]
    assert scaled[0] == scaled[1]


def test_cli_eval_reads_net_returns_as_zero_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Retail data with days of net returns (negative y) is evaluated, those days read as
    no sale, and stderr says how many; the scores are those of the file with 0 there."""
    rows = synthetic_rows()
    returns = [
        (u, d, -2.0 if i % 9 == 0 and y == 0 else y, p, e) for i, (u, d, y, p, e) in enumerate(rows)
    ]
    changed = sum(a != b for a, b in zip(rows, returns, strict=True))
    assert changed > 0
    args = ["--horizon", "7", "--windows", "2", "--baselines-only"]
    for name, data in (("r", returns), ("d", rows)):
        path = write_csv(tmp_path / f"{name}.csv", data)
        out = ["--json", str(tmp_path / f"{name}.json")]
        assert main(["forecast", "eval", "--data", str(path), *args, *out]) == 0
        if name == "r":
            note = f"{changed:,} row(s) with y < 0 (net returns?) read as 0"
            assert note in capsys.readouterr().err
    scores = [json.loads((tmp_path / f"{n}.json").read_text())["backtest_means"] for n in "rd"]
    assert scores[0] == scores[1]


def test_cli_train_max_rows_samples_windows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--max-rows` caps the training rows; the card and the progress lines say so."""
    data = write_csv(tmp_path / "d.csv")
    out = tmp_path / "model"
    args = ["--data", str(data), "--horizon", "7", "--out", str(out), "--no-holdout"]
    assert main(["forecast", "train", *args, "--max-rows", "700"]) == 0
    card = json.loads((out / "model_card.json").read_text())
    assert card["training_window"]["n_training_rows"] == 700
    assert card["training_window"]["n_available_rows"] > 700
    assert "700 training rows from 5 series, a seeded sample of" in capsys.readouterr().err


def test_cli_train_networks_averages_wider_network(tmp_path: Path) -> None:
    """`--networks 2` trains two seeds and serves them as one network twice as wide."""
    import onnx

    data = write_csv(tmp_path / "d.csv")
    out = tmp_path / "model"
    args = ["--data", str(data), "--horizon", "7", "--out", str(out), "--no-holdout"]
    assert main(["forecast", "train", *args, "--networks", "2", "--max-rows", "700"]) == 0
    card = json.loads((out / "model_card.json").read_text())
    assert card["config"]["networks"] == 2
    graph = onnx.load(str(out / "model.onnx")).graph
    w1 = next(t for t in graph.initializer if t.name == "w1")
    assert w1.dims[1] == 2 * card["config"]["hidden_units"]
    assert main(["forecast", "train", *args, "--networks", "0"]) == 2


def test_cli_predict_with_missing_model(tmp_path: Path) -> None:
    """Predicting with a directory holding no model exits 2."""
    data = write_csv(tmp_path / "d.csv")
    args = ["--model", str(tmp_path), "--data", str(data), "--out", str(tmp_path / "p.csv")]
    assert main(["forecast", "predict", *args]) == 2


def test_cli_eval_scores_model_and_baselines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`forecast eval` on any CSV reports every method on the final window and backtest."""
    data = write_csv(tmp_path / "d.csv")
    report = tmp_path / "scores.json"
    args = ["--data", str(data), "--horizon", "7", "--windows", "2", "--json", str(report)]
    assert main(["forecast", "eval", *args]) == 0
    text = capsys.readouterr().out
    assert "rolling-origin backtest, 2 windows" in text
    assert "the best baseline" in text
    assert "goal: ≥ 5% below" in text
    assert "goal: below every baseline" in text
    assert "model P90 coverage" in text
    assert "the goal 85%–95%" in text
    doc = json.loads(report.read_text())
    assert set(doc["backtest_means"]) == {
        "Naive",
        "sNaive7",
        "MA7",
        "MA28",
        "SES",
        "Croston",
        "TSB",
        "Model",
    }
    assert len(doc["windows"]) == 2
    assert 0.0 <= doc["backtest_means"]["Model"]["cov_p90"] <= 1.0


def test_cli_eval_drop_last_moves_every_window_back(tmp_path: Path) -> None:
    """`--drop-last D` scores the windows that end D days before the data does."""
    data = write_csv(tmp_path / "d.csv", synthetic_rows(short_days=100))
    scores = {}
    for drop in (0, 14):
        out = tmp_path / f"s{drop}.json"
        args = ["--data", str(data), "--horizon", "7", "--windows", "3", "--baselines-only"]
        assert main(["forecast", "eval", *args, "--drop-last", str(drop), "--json", str(out)]) == 0
        scores[drop] = json.loads(out.read_text())["windows"]
    assert [w["cut"] for w in scores[0]] == [139, 146, 153]
    assert [w["cut"] for w in scores[14]] == [125, 132, 139]
    assert scores[14][2]["means"] == scores[0][0]["means"]


def test_cli_eval_leaves_out_series_too_short_for_a_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A series that starts inside a backtest window is left out of that window only,
    and the report says so (it used to stop the whole evaluation)."""
    data = write_csv(tmp_path / "d.csv")  # SKU4@A has only the last 20 days
    report = tmp_path / "scores.json"
    args = ["--data", str(data), "--horizon", "7", "--windows", "3", "--json", str(report)]
    assert main(["forecast", "eval", *args]) == 0
    assert "1 series without data over the whole window left out: SKU4@A" in (
        capsys.readouterr().out
    )
    first, second, _ = json.loads(report.read_text())["windows"]
    assert first["left_out"] == ["SKU4@A"]
    assert "SKU4@A" not in first["ids"]
    assert len(first["per_series"]["Model"]["rmsse"]) == 4
    assert second["left_out"] == []
    assert "SKU4@A" in second["ids"]


def test_cli_eval_refuses_windows_beyond_data(tmp_path: Path) -> None:
    """Asking for more backtest windows than the data holds exits 2."""
    data = write_csv(tmp_path / "d.csv")
    args = ["--data", str(data), "--horizon", "28", "--windows", "9", "--baselines-only"]
    assert main(["forecast", "eval", *args]) == 2


def test_cli_predict_refuses_data_without_model_columns(tmp_path: Path) -> None:
    """Data lacking an exogenous column the model was trained with, or a zero horizon, exit 2."""
    data = write_csv(tmp_path / "d.csv")
    model_dir = tmp_path / "model"
    targs = ["--data", str(data), "--horizon", "7", "--out", str(model_dir), "--no-holdout"]
    assert main(["forecast", "train", *targs]) == 0
    lines = data.read_text().splitlines()
    stripped = tmp_path / "no_exog.csv"
    stripped.write_text("\n".join(",".join(ln.split(",")[:3]) for ln in lines) + "\n")
    out = str(tmp_path / "p.csv")
    base = ["forecast", "predict", "--model", str(model_dir), "--out", out]
    assert main([*base, "--data", str(stripped), "--horizon", "7"]) == 2
    assert main([*base, "--data", str(data), "--horizon", "0"]) == 2
    assert main([*base, "--data", str(data), "--horizon", "7"]) == 0
