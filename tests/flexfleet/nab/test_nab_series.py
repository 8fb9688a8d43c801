"""Reading timestamp,value CSV files: accepted formats and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexfleet.nab.errors import NabError, SeriesError
from flexfleet.nab.series import parse_timestamp_ms, read_series


def write(tmp_path: Path, text: str | bytes, name: str = "s.csv") -> Path:
    """Write a test file and return its path."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_nab_style_file_is_read(tmp_path: Path) -> None:
    """NAB timestamps (naive, UTC) and float values; order kept as found."""
    path = write(tmp_path, "timestamp,value\n2014-01-01 00:00:00,1.5\n2014-01-01 00:05:00,2\n")
    series = read_series(path)
    assert series.values == (1.5, 2.0)
    assert series.timestamps_ms == (1388534400000, 1388534700000)
    assert series.timestamp_texts[0] == "2014-01-01 00:00:00"
    assert len(series) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-01-01T00:00:00Z", 1388534400000),
        ("2014-01-01T01:00:00+01:00", 1388534400000),
        ("2013-12-10 06:25:00.000000", 1386656700000),
        ("1388534400", 1388534400000),
        ("1388534400000", 1388534400000),
        ("1388534400.5", 1388534400500),
    ],
)
def test_timestamp_formats(text: str, expected: int) -> None:
    """ISO 8601 with or without zone, epoch seconds and epoch milliseconds."""
    assert parse_timestamp_ms(text) == expected


def test_signal_column_of_a_wider_file(tmp_path: Path) -> None:
    """--signal-column picks one column; a two-column file needs no name."""
    wide = write(tmp_path, "timestamp,temp,rpm\n1,20.5,900\n2,20.6,950\n")
    assert read_series(wide, signal_column="rpm").values == (900.0, 950.0)
    two = write(tmp_path, "timestamp,temp\n1,20.5\n", "two.csv")
    assert read_series(two).values == (20.5,)


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        ("", "file is empty", 0),
        ("timestamp,value\n", "no readings", 0),
        ("time,value\n1,2\n", "no 'timestamp' column", 1),
        ("timestamp,a,b\n1,2,3\n", "no 'value' column", 1),
        ("timestamp,value\nyesterday,1\n", "bad timestamp", 2),
        ("timestamp,value\n-5,1\n", "bad timestamp", 2),
        ("timestamp,value\n99999999999999999999,1\n", "bad timestamp", 2),
        ("timestamp,value\n,1\n", "bad timestamp", 2),
        ("timestamp,value\n1,abc\n", "is not a number", 2),
        ("timestamp,value\n1,\n2, \n", "no readings", 0),
        ("timestamp,value\n1,-\n", "is not a number", 2),
        ("timestamp,value\n1,2,3\n", "expected 2 fields", 2),
        ("timestamp,value\n1,2\n2\n", "expected 2 fields", 3),
        ("timestamp,value\n1,2\x00\n", "NUL byte", 2),
        ("timestamp,value\n1," + "9" * 5000 + "\n", "line longer than", 2),
        ('timestamp,value\n1,"2\n', "malformed CSV", 0),
    ],
)
def test_malformed_files_raise_series_error(
    tmp_path: Path, text: str, reason: str, line: int
) -> None:
    """Each malformed input is a SeriesError naming the reason and line."""
    with pytest.raises(SeriesError) as caught:
        read_series(write(tmp_path, text))
    assert reason in caught.value.reason
    assert caught.value.line == line
    assert isinstance(caught.value, NabError)


def test_non_utf8_and_missing_files(tmp_path: Path) -> None:
    """Binary junk and absent files are SeriesErrors too."""
    with pytest.raises(SeriesError, match="not UTF-8"):
        read_series(write(tmp_path, b"timestamp,value\n1,\xff\xfe\n"))
    with pytest.raises(SeriesError, match="cannot read"):
        read_series(tmp_path / "absent.csv")


def test_oversized_file_and_too_many_rows(tmp_path: Path) -> None:
    """Limits on bytes and rows refuse huge input before or while reading."""
    path = write(tmp_path, "timestamp,value\n" + "".join(f"{i},1\n" for i in range(1, 200)))
    with pytest.raises(SeriesError, match="more than the limit"):
        read_series(path, max_bytes=100)
    with pytest.raises(SeriesError, match="more than 50 rows"):
        read_series(path, max_rows=50)


def test_nan_and_inf_values_are_kept_for_the_detectors(tmp_path: Path) -> None:
    """Non-finite numbers are read; the detectors report them as out of range."""
    series = read_series(write(tmp_path, "timestamp,value\n1,nan\n2,inf\n"))
    assert str(series.values) == "(nan, inf)"


def test_an_empty_cell_is_a_row_without_a_reading(tmp_path: Path) -> None:
    """Empty (or blank) values are read as None, the row and its timestamp kept."""
    series = read_series(write(tmp_path, "timestamp,value\n1,\n2,3\n3, \n"))
    assert series.values == (None, 3.0, None)
    assert series.timestamps_ms == (1000, 2000, 3000)
