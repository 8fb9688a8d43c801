"""Long-format CSV reading: good files, and every malformed or hostile one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coordinator.forecast.errors import CsvFormatError, DataError
from coordinator.forecast.model.csv_input import parse_csv_text, read_csv
from tests.coordinator.forecast.forecast_support import write_csv


def test_reads_synthetic_file(tmp_path: Path) -> None:
    """A written file comes back with every series right-aligned and exog columns kept."""
    panel = read_csv(write_csv(tmp_path / "d.csv"))
    assert panel.ids == tuple(f"SKU{s}@A" for s in range(5))
    assert panel.exog_names == ("sell_price", "event_flag")
    assert panel.lengths.tolist() == [160, 160, 160, 160, 20]
    assert np.isnan(panel.y[4, :140]).all()
    assert np.isfinite(panel.y[4, 140:]).all()


def test_gap_days_are_zero_sales() -> None:
    """A day missing inside a series counts as zero sales."""
    panel = parse_csv_text("unique_id,ds,y\na,2024-01-01,2\na,2024-01-03,4\n")
    assert panel.y.tolist() == [[2.0, 0.0, 4.0]]


def test_rows_in_any_order_fill_gaps_and_empty_cells_forward() -> None:
    """Series come out sorted by id and right-aligned whatever the row order; a missing
    day or an empty exogenous cell takes the day before's value (0 before any)."""
    text = (
        "unique_id,ds,y,price\n"
        "b,2024-01-04,5,\n"
        "a,2024-01-03,4,2.5\n"
        "b,2024-01-02,1,7\n"
        "a,2024-01-01,2,\n"
    )
    panel = parse_csv_text(text)
    assert panel.ids == ("a", "b")
    assert np.array_equal(panel.y, [[2.0, 0.0, 4.0], [1.0, 0.0, 5.0]], equal_nan=True)
    assert panel.exog[:, :, 0].tolist() == [[0.0, 0.0, 2.5], [7.0, 7.0, 7.0]]
    assert panel.end_days.tolist() == [19725, 19726]
    with pytest.raises(CsvFormatError, match="duplicate date 2024-01-02 for 'b'") as info:
        parse_csv_text(text + "a,2024-01-02,1,1\nb,2024-01-02,1,1\na,2024-01-03,1,1\n")
    assert info.value.line == 7


def test_carried_exog_zeroes_flags_and_keeps_prices() -> None:
    """Unknown future: 0/1 columns become 0, other columns carry their last value."""
    text = "unique_id,ds,y,price,flag\na,2024-01-01,1,2.5,0\na,2024-01-02,1,3.5,1\n"
    future = parse_csv_text(text).carried_exog(2)
    assert future.tolist() == [[[3.5, 0.0], [3.5, 0.0]]]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("unique_id,ds\na,2024-01-01\n", "missing required"),
        ("unique_id,ds,y\n", "no data rows"),
        ("unique_id,ds,y\na,2024-01-01,abc\n", "not a number"),
        ("unique_id,ds,y\na,2024-01-01,-1\n", "≥ 0"),
        ("unique_id,ds,y\na,2024-01-01,nan\n", "≥ 0"),
        ("unique_id,ds,y\na,2024-01-01,inf\n", "≥ 0"),
        ("unique_id,ds,y\na,2024-01-01,1\na,2024-01-01,2\n", "duplicate date"),
        ("unique_id,ds,y\na,01/02/2024,1\n", "ISO date"),
        ("unique_id,ds,y\na,2024-01-01 13:00,1\n", "ISO date"),
        ("unique_id,ds,y\na,2024-01-01\n", "fields"),
        ("unique_id,ds,y\n,2024-01-01,1\n", "empty unique_id"),
        ("unique_id,ds,y,p\na,2024-01-01,1,x\n", "not a number"),
        ("unique_id,ds,y,y\na,2024-01-01,1,1\n", "duplicate column"),
        ("unique_id,ds,y\na,2024-01-01,1\x00\n", "NUL"),
        ("unique_id,ds,y\na,1900-01-01,1\na,2024-01-01,1\n", "spans more"),
    ],
)
def test_malformed_text_raises_csv_format_error(text: str, needle: str) -> None:
    """Each malformed input raises CsvFormatError naming the problem."""
    with pytest.raises(CsvFormatError, match=needle):
        parse_csv_text(text)


def test_error_carries_line_number() -> None:
    """The error says which line is bad."""
    with pytest.raises(CsvFormatError) as info:
        parse_csv_text("unique_id,ds,y\na,2024-01-01,1\na,2024-01-02,x\n")
    assert info.value.line == 3


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    """A file over the byte limit is refused before it is read."""
    path = write_csv(tmp_path / "big.csv")
    with pytest.raises(CsvFormatError, match="limit"):
        read_csv(path, max_bytes=1000)


def test_too_many_rows_are_refused() -> None:
    """More rows than the row limit are refused."""
    text = "unique_id,ds,y\n" + "".join(f"a,2024-01-{d:02d},1\n" for d in range(1, 11))
    with pytest.raises(CsvFormatError, match="rows"):
        parse_csv_text(text, max_rows=5)


def test_binary_and_missing_files(tmp_path: Path) -> None:
    """Non-UTF-8 bytes and a missing path are CsvFormatErrors (both DataErrors)."""
    bad = tmp_path / "bin.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CsvFormatError, match="UTF-8"):
        read_csv(bad)
    with pytest.raises(DataError, match="cannot read"):
        read_csv(tmp_path / "absent.csv")
