"""The chunked CSV reader against straightforward expectations.

Files are generated from known rows (any column order, quoted and multi-line fields,
blank lines, CRLF, midnight time parts, empty exogenous cells, gaps), read with chunks
from one line to the whole file, and compared with a panel built directly from the
rows; corrupted copies must fail with the error and line of their first bad row.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.forecast.errors import CsvFormatError
from coordinator.forecast.model import csv_input
from coordinator.forecast.model.csv_input import _parse, day_to_iso, parse_csv_text, read_csv
from coordinator.forecast.model.panel import SeriesPanel

BASE_DAY = 19_000
EXOG_NAMES = ("price", "flag")
CHUNKS = st.sampled_from([0, 1, 20, 90, 1 << 20])  # 0: row by row throughout
Draw = Callable[[st.SearchStrategy[Any]], Any]


@dataclass
class Row:
    """One data row as written: raw cells by column name."""

    uid: str
    day: int
    cells: dict[str, str]
    extra: str = ""  # written after the last field (a fault: one field too many)


@dataclass
class File:
    """A generated CSV: its text, the rows in file order, the line each ends on and the
    exogenous columns in header order."""

    text: str
    rows: list[Row]
    end_lines: list[int]
    exog: tuple[str, ...]


def parse(text: str, chunk_chars: int, max_rows: int = 1_000) -> SeriesPanel:
    return _parse(
        io.StringIO(text, newline=""),
        max_rows=max_rows,
        chunk_chars=chunk_chars,
        zero_negatives=False,
    )[0]


@st.composite
def rows(draw: st.DrawFn) -> tuple[list[Row], tuple[str, ...]]:
    """Rows of 1-4 series with gaps, in any order, with varied but valid cells."""
    exog = EXOG_NAMES[: draw(st.integers(0, 2))]
    uids = draw(
        st.lists(st.sampled_from(["a", "b", "c,d", 'e"f', "g\nh", "Z"]), min_size=1, max_size=4)
    )
    out = []
    for uid in dict.fromkeys(uids):
        for day in sorted(draw(st.sets(st.integers(0, 40), min_size=1, max_size=10))):
            cells = {
                "unique_id": draw(st.sampled_from(["{}", " {}", "{} "])).format(uid),
                "ds": draw(st.sampled_from(["{}", "{} 00:00", "{}T00:00:00Z"])).format(
                    day_to_iso(BASE_DAY + day)
                ),
                "y": draw(st.sampled_from(["0", "1", "2.5", "10", "3e1", " 4 ", "0.0"])),
            }
            for name in exog:
                cells[name] = draw(st.sampled_from(["", " ", "0", "1", "2.25", "7"]))
            out.append(Row(uid, day, cells))
    return draw(st.permutations(out)), exog


@st.composite
def files(draw: st.DrawFn) -> File:
    """A file of `rows()`."""
    data, exog = draw(rows())
    return render(draw, data, exog)


def render(draw: Draw, data: list[Row], exog: tuple[str, ...]) -> File:
    """The rows as CSV text: columns in any order, any line ending, blank lines, quoted
    cells, with or without a final line break."""
    names = draw(st.permutations(["unique_id", "ds", "y", *exog]))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = ",".join(names) + end
    line = 1
    end_lines = []
    for row in data:
        blank = draw(st.sampled_from(["", "", "", "   "]))
        if draw(st.booleans()) and blank == "   ":
            text += blank + end
            line += 1
        record = ",".join(field(draw, row.cells[n]) for n in names) + row.extra
        text += record + end
        line += record.count("\n") + 1
        end_lines.append(line)
    if draw(st.booleans()):
        text = text[: -len(end)]
    return File(text, data, end_lines, tuple(n for n in names if n in exog))


def field(draw: Draw, value: str) -> str:
    if draw(st.booleans()) or any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def expected_panel(data: list[Row], exog: tuple[str, ...]) -> SeriesPanel:
    """The panel built row by row: sorted ids, right-aligned, gaps are y = 0 and carry
    the exogenous values of the day before (0 before any); empty cells carry too."""
    by_id: dict[str, dict[int, Row]] = {}
    for row in data:
        by_id.setdefault(row.uid, {})[row.day] = row
    ids = tuple(sorted(by_id))
    spans = [(min(by_id[u]), max(by_id[u])) for u in ids]
    width = max(last - first + 1 for first, last in spans)
    y = np.full((len(ids), width), np.nan)
    ex = np.full((len(ids), width, len(exog)), np.nan)
    for s, (uid, (first, last)) in enumerate(zip(ids, spans, strict=True)):
        carry = [0.0] * len(exog)
        for day in range(first, last + 1):
            t = width - (last - day) - 1
            given_row = by_id[uid].get(day)
            y[s, t] = float(given_row.cells["y"]) if given_row else 0.0
            for k, name in enumerate(exog):
                if given_row and given_row.cells[name].strip():
                    carry[k] = float(given_row.cells[name])
                ex[s, t, k] = carry[k]
    return SeriesPanel(
        ids=ids,
        y=y,
        exog=ex,
        exog_names=exog,
        end_days=np.array([BASE_DAY + last for _, last in spans], dtype=np.int64),
        lengths=np.array([last - first + 1 for first, last in spans], dtype=np.int64),
    )


def assert_same(panel: SeriesPanel, expected: SeriesPanel) -> None:
    assert panel.ids == expected.ids
    assert panel.exog_names == expected.exog_names
    assert np.array_equal(panel.y, expected.y, equal_nan=True)
    assert np.array_equal(panel.exog, expected.exog, equal_nan=True)
    assert panel.end_days.tolist() == expected.end_days.tolist()
    assert panel.lengths.tolist() == expected.lengths.tolist()


@settings(max_examples=150, deadline=None)
@given(files(), CHUNKS)
def test_any_valid_file_reads_as_its_rows(file: File, chunk_chars: int) -> None:
    """Whatever the chunk size, layout and quoting, the panel is the one the rows give."""
    assert_same(parse(file.text, chunk_chars), expected_panel(file.rows, file.exog))


@settings(max_examples=100, deadline=None)
@given(st.data(), CHUNKS)
def test_negatives_read_as_zero_and_counted_when_asked(
    data: st.DataObject, chunk_chars: int
) -> None:
    """With `zero_negatives`, rows whose y is negative (net returns) read as y = 0 and are
    counted, whatever the chunk size; the other rows are as written."""
    rows_, exog = data.draw(rows())
    negative = data.draw(st.sets(st.integers(0, len(rows_) - 1), max_size=len(rows_)))
    for i in negative:
        rows_[i].cells["y"] = data.draw(st.sampled_from(["-1", "-2.5", " -3e1 "]))
    file = render(data.draw, rows_, exog)
    panel, zeroed = _parse(
        io.StringIO(file.text, newline=""),
        max_rows=1_000,
        chunk_chars=chunk_chars,
        zero_negatives=True,
    )
    for i in negative:
        rows_[i].cells["y"] = "0"
    assert zeroed == len(negative)
    assert_same(panel, expected_panel(rows_, file.exog))


def test_read_csv_says_how_many_negatives_it_read_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "returns.csv"
    path.write_text("unique_id,ds,y\na,2024-01-01,3\na,2024-01-02,-2\nb,2024-01-01,-1\n")
    notes: list[str] = []
    panel = read_csv(path, negatives="zero", note=notes.append)
    assert panel.y[~np.isnan(panel.y)].tolist() == [3.0, 0.0, 0.0]
    assert notes == ["  2 row(s) with y < 0 (net returns?) read as 0"]
    with pytest.raises(CsvFormatError, match="line 3: y must be a finite number ≥ 0"):
        read_csv(path)


# A bad cell per kind: (column, cell, reason given the column name and the cell).
FAULTS = {
    "y not a number": ("y", "abc", "y 'abc' is not a number"),
    "y negative": ("y", "-1", "y must be a finite number ≥ 0, got '-1'"),
    "y nan": ("y", "nan", "y must be a finite number ≥ 0, got 'nan'"),
    "y empty": ("y", "", "y '' is not a number"),
    "exog not a number": ("price", "x", "price 'x' is not a number"),
    "exog infinite": ("price", "inf", "price 'inf' is not a finite number"),
    "bad date": ("ds", "2024-02-30", "ds '2024-02-30' is not an ISO date"),
    "time of day": ("ds", "2024-01-01 13:00", "ds '2024-01-01 13:00' is not an ISO date"),
    "empty id": ("unique_id", "  ", "empty unique_id"),
}


@settings(max_examples=150, deadline=None)
@given(st.data(), CHUNKS)
def test_first_bad_row_is_reported_at_its_line(data: st.DataObject, chunk_chars: int) -> None:
    """With bad cells, extra fields, NUL bytes, a row limit or duplicates anywhere, the
    error is the first one in file order, at its line, whatever the chunk size."""
    rows_, exog = data.draw(rows())
    kinds = [k for k in FAULTS if exog or FAULTS[k][0] != "price"] + ["fields", "nul"]
    bad: dict[int, str] = {}
    for _ in range(data.draw(st.integers(0, 2))):
        bad[data.draw(st.integers(0, len(rows_) - 1))] = data.draw(st.sampled_from(kinds))
    for i, kind in bad.items():
        if kind in FAULTS:
            rows_[i].cells[FAULTS[kind][0]] = FAULTS[kind][1]
        elif kind == "fields":
            rows_[i].extra = ",1"
        else:
            rows_[i].cells["y"] = "1\x00"
    for _ in range(data.draw(st.integers(0, 2))):  # duplicates, anywhere
        src = data.draw(st.integers(0, len(rows_) - 1))
        at = data.draw(st.integers(0, len(rows_)))
        copied = bad.get(src)
        rows_.insert(at, replace(rows_[src], cells=dict(rows_[src].cells)))
        bad = {(j + 1 if j >= at else j): k for j, k in bad.items()}
        if copied is not None:
            bad[at] = copied
    max_rows = data.draw(st.integers(1, len(rows_) + 1))
    file = render(data.draw, rows_, exog)
    expected = first_error(file, bad, max_rows)
    if expected is None:
        assert_same(parse(file.text, chunk_chars, max_rows), expected_panel(file.rows, file.exog))
        return
    with pytest.raises(CsvFormatError) as info:
        parse(file.text, chunk_chars, max_rows)
    assert (info.value.reason, info.value.line) == expected


def first_error(file: File, bad: dict[int, str], max_rows: int) -> tuple[str, int] | None:
    """The (reason, line) the reader must raise, None if the file is valid: row by row,
    NUL bytes (at their own line), then the row limit, then a bad cell; after all rows,
    the first row whose series and date came before."""
    width = 3 + len(file.exog)
    for i in range(len(file.rows)):
        kind = bad.get(i)
        if kind == "nul":
            before_nul = file.text.split("\x00", 1)[0]
            return "file contains NUL bytes", before_nul.count("\n") + 1
        if i + 1 > max_rows:
            return f"more than {max_rows} rows", file.end_lines[i]
        if kind == "fields":
            return f"expected {width} fields, found {width + 1}", file.end_lines[i]
        if kind is not None:
            return FAULTS[kind][2], file.end_lines[i]
    seen = set()
    for i, row in enumerate(file.rows):
        if (row.uid, row.day) in seen:
            return f"duplicate date {day_to_iso(BASE_DAY + row.day)} for {row.uid!r}", (
                file.end_lines[i]
            )
        seen.add((row.uid, row.day))
    return None


def test_date_cache_still_rejects_a_bad_date_at_its_line() -> None:
    """Dates parsed once per distinct string: a bad one after many good ones, in a later
    chunk and repeated, is still reported at its first line."""
    good = "".join(f"s{i},2024-01-{1 + i % 28:02d},1\n" for i in range(200))
    text = (
        "unique_id,ds,y\n"
        + good
        + "x,2024-01-32,1\n"
        + good.replace("s", "t")
        + ("y,2024-01-32,1\n")
    )
    for chunk_chars in (64, 1 << 20):
        with pytest.raises(CsvFormatError) as info:
            parse(text, chunk_chars)
        assert (info.value.reason, info.value.line) == ("ds '2024-01-32' is not an ISO date", 202)


def test_number_cache_keeps_the_rules_of_each_column() -> None:
    """Number strings parsed once: an empty cell stays legal in an exogenous column and
    illegal as y, and a value seen as a finite y is no excuse for 'inf' later."""
    head = "unique_id,ds,y,price\n"
    rows_ = "".join(f"a,2024-01-{d:02d},5,{'' if d % 2 else 5}\n" for d in range(1, 29))
    panel = parse_csv_text(head + rows_)
    assert panel.exog[0, :4, 0].tolist() == [0.0, 5.0, 5.0, 5.0]
    for tail, reason in [
        ("b,2024-01-01,,5\n", "y '' is not a number"),
        ("b,2024-01-01,5,inf\n", "price 'inf' is not a finite number"),
        ("b,2024-01-01,nan,5\n", "y must be a finite number ≥ 0, got 'nan'"),
    ]:
        with pytest.raises(CsvFormatError) as info:
            parse(head + rows_ + tail, 200)
        assert (info.value.reason, info.value.line) == (reason, 30)


def test_caches_at_their_bound_give_the_same_panel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the number of distinct dates and numbers remembered, strings are parsed
    each time: same panel, same errors."""
    text = "unique_id,ds,y,price\n" + "".join(
        f"a,2024-01-{d:02d}{' 00:00' * (d % 3)},{d},{d / 4}\n" for d in range(1, 29)
    )
    expected = parse_csv_text(text)
    monkeypatch.setattr(csv_input, "_MAX_CACHED_DATES", 3)
    monkeypatch.setattr(csv_input, "_MAX_CACHED_NUMBERS", 3)
    for chunk_chars in (1, 100, 1 << 20):
        assert_same(parse(text, chunk_chars), expected)
        with pytest.raises(CsvFormatError) as info:
            parse(text + "a,2024-02-30,1,1\n", chunk_chars)
        assert info.value.line == 30


def test_quoted_record_across_chunks_keeps_its_lines() -> None:
    """A quoted id holding a line break, split over two chunks, is one record; later
    errors still name the right line."""
    text = 'unique_id,ds,y\n"a\nb",2024-01-01,1\na,2024-01-01,2\n"a\nb",2024-01-02,3\n'
    for chunk_chars in (1, 5, 1 << 20):
        panel = parse(text, chunk_chars)
        assert panel.ids == ("a", "a\nb")
        assert np.array_equal(panel.y, [[np.nan, 2.0], [1.0, 3.0]], equal_nan=True)
        with pytest.raises(CsvFormatError) as info:
            parse(text + "a,2024-01-03,x\n", chunk_chars)
        assert info.value.line == 7


def test_bad_row_before_bytes_that_are_not_utf8_is_reported_first(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 a few kB after a bad row: the bad row is reported, as
    when the file was read line by line; without it, the encoding is."""
    good = "".join(f"a,{day_to_iso(BASE_DAY + d)},1\n" for d in range(1000)).encode()
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"unique_id,ds,y\nb,2024-01-01,x\n" + good + b"b,\xff\n")
    with pytest.raises(CsvFormatError) as info:
        read_csv(path)
    assert (info.value.reason, info.value.line) == ("y 'x' is not a number", 2)
    path.write_bytes(b"unique_id,ds,y\n" + good + b"b,\xff\n")
    with pytest.raises(CsvFormatError, match="not UTF-8"):
        read_csv(path)
