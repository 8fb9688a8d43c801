"""Read a long-format CSV (`unique_id, ds, y` plus optional numeric exogenous columns).

Rules, each with a clear `CsvFormatError` when broken: the three key columns must be
present; `ds` is an ISO date (a midnight time part is accepted); `y` is a finite number
≥ 0; no (unique_id, ds) pair twice; exogenous cells are numbers (an empty cell carries
the previous value forward, 0 before any value); the file stays under `max_bytes` and
`max_rows`. Days missing inside a series are filled with y = 0 (no sale recorded).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from coordinator.forecast.errors import CsvFormatError
from coordinator.forecast.panel import SeriesPanel

REQUIRED_COLUMNS = ("unique_id", "ds", "y")
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_ROWS = 20_000_000
MAX_SPAN_DAYS = 20 * 366
_EPOCH = dt.date(1970, 1, 1)


def read_csv(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_rows: int = DEFAULT_MAX_ROWS
) -> SeriesPanel:
    """Read and validate a long-format CSV file into a `SeriesPanel` (streamed, not
    loaded whole)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise CsvFormatError(f"file is {size} bytes, limit {max_bytes}", path=str(p))
        with p.open(encoding="utf-8-sig", newline="") as stream:
            return _parse(stream, max_rows=max_rows)
    except CsvFormatError as exc:
        raise CsvFormatError(exc.reason, line=exc.line, path=str(p)) from None
    except UnicodeDecodeError as exc:
        raise CsvFormatError("file is not UTF-8 text", path=str(p)) from exc
    except OSError as exc:
        raise CsvFormatError(f"cannot read file: {exc.strerror or exc}", path=str(p)) from exc


def parse_date(text: str) -> int:
    """Days since 1970-01-01 of an ISO date string (`YYYY-MM-DD[ 00:00[:00]]`)."""
    s = text.strip()
    if len(s) > 10:
        rest = s[10:].lstrip("T ").rstrip("Z")
        if rest.strip("0:. ") != "":
            raise ValueError("only whole days are supported")
        s = s[:10]
    if len(s) != 10:
        raise ValueError("not an ISO date")
    return (dt.date.fromisoformat(s) - _EPOCH).days


def day_to_iso(day: int) -> str:
    """ISO date string of a day number (days since 1970-01-01)."""
    return (_EPOCH + dt.timedelta(days=int(day))).isoformat()


def parse_csv_text(text: str, *, max_rows: int = DEFAULT_MAX_ROWS) -> SeriesPanel:
    """Parse long-format CSV text into a `SeriesPanel` (see the module rules)."""
    return _parse(io.StringIO(text, newline=""), max_rows=max_rows)


@dataclass
class _Columns:
    """Parsed rows held column-wise (compact: a large panel has millions of rows)."""

    series: array[int] = field(default_factory=lambda: array("q"))
    days: array[int] = field(default_factory=lambda: array("q"))
    lines: array[int] = field(default_factory=lambda: array("q"))
    y: array[float] = field(default_factory=lambda: array("d"))
    exog: array[float] = field(default_factory=lambda: array("d"))


def _header(reader: Any) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("file is empty", line=1) from None
    except csv.Error as exc:
        raise _csv_error(exc, 1) from exc
    names = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise CsvFormatError(f"missing required column(s) {missing}; header is {names}", line=1)
    if len(set(names)) != len(names):
        raise CsvFormatError(f"duplicate column names in header {names}", line=1)
    return names


def _checked_lines(stream: TextIO) -> Iterator[str]:
    for number, line in enumerate(stream, start=1):
        if "\x00" in line:
            raise CsvFormatError("file contains NUL bytes", line=number)
        yield line


def _parse(stream: TextIO, *, max_rows: int) -> SeriesPanel:
    reader = csv.reader(_checked_lines(stream))
    names = _header(reader)
    i_id, i_ds, i_y = (names.index(c) for c in REQUIRED_COLUMNS)
    exog_idx = [i for i, n in enumerate(names) if n not in REQUIRED_COLUMNS]
    exog_names = tuple(names[i] for i in exog_idx)
    uids: dict[str, int] = {}
    dates: dict[str, int] = {}
    cols = _Columns()
    n_rows = 0
    try:
        for record in reader:
            line = reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            n_rows += 1
            if n_rows > max_rows:
                raise CsvFormatError(f"more than {max_rows} rows", line=line)
            if len(record) != len(names):
                raise CsvFormatError(
                    f"expected {len(names)} fields, found {len(record)}", line=line
                )
            uid = record[i_id].strip()
            if not uid:
                raise CsvFormatError("empty unique_id", line=line)
            day = dates.get(record[i_ds])
            if day is None:
                try:
                    day = dates[record[i_ds]] = parse_date(record[i_ds])
                except ValueError:
                    raise CsvFormatError(
                        f"ds {record[i_ds]!r} is not an ISO date", line=line
                    ) from None
            y = _number(record[i_y], "y", line)
            if y is None or y < 0:
                raise CsvFormatError(
                    f"y must be a finite number ≥ 0, got {record[i_y]!r}", line=line
                )
            cols.series.append(uids.setdefault(uid, len(uids)))
            cols.days.append(day)
            cols.lines.append(line)
            cols.y.append(y)
            try:  # fast path: all exogenous cells are numbers; else check cell by cell
                ex = [float(record[i]) for i in exog_idx]
                total = sum(ex)
                if total - total != 0.0:
                    raise ValueError
            except ValueError:
                ex = [_exog(record[i], names[i], line) for i in exog_idx]
            cols.exog.extend(ex)
    except csv.Error as exc:
        raise _csv_error(exc, reader.line_num) from exc
    if not uids:
        raise CsvFormatError("no data rows", line=2)
    return _panel_from_columns(tuple(uids), cols, exog_names)


def _csv_error(exc: csv.Error, line: int) -> CsvFormatError:
    return CsvFormatError(f"malformed CSV: {exc}", line=line)


def _number(cell: str, column: str, line: int) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        raise CsvFormatError(f"{column} {cell!r} is not a number", line=line) from None
    return value if math.isfinite(value) else None


def _exog(cell: str, column: str, line: int) -> float:
    if not cell.strip():
        return math.nan  # filled forward later
    value = _number(cell, column, line)
    if value is None:
        raise CsvFormatError(f"{column} {cell!r} is not a finite number", line=line)
    return value


def panel_from_rows(
    rows: dict[str, dict[int, tuple[float, tuple[float, ...]]]], exog_names: tuple[str, ...]
) -> SeriesPanel:
    """A panel from per-series `{day: (y, exog values)}` (every series non-empty)."""
    cols = _Columns()
    for s, days in enumerate(rows.values()):
        for day, (y, ex) in days.items():
            cols.series.append(s)
            cols.days.append(day)
            cols.lines.append(0)
            cols.y.append(y)
            cols.exog.extend(ex)
    return _panel_from_columns(tuple(rows), cols, exog_names)


def _panel_from_columns(
    uids: tuple[str, ...], cols: _Columns, exog_names: tuple[str, ...]
) -> SeriesPanel:
    """Series sorted by id, right-aligned; a day without a row has y = 0 and the
    exogenous values of the day before (0 before the first value)."""
    e = len(exog_names)
    rank = np.argsort(np.array(uids, dtype=object), kind="stable")
    ids = tuple(uids[int(i)] for i in rank)
    series = np.empty(len(uids), dtype=np.int64)
    series[rank] = np.arange(len(uids))
    series = series[np.frombuffer(cols.series, dtype=np.int64)]
    days = np.frombuffer(cols.days, dtype=np.int64)
    lines = np.frombuffer(cols.lines, dtype=np.int64)
    order = np.lexsort((days, series))
    same = (np.diff(series[order]) == 0) & (np.diff(days[order]) == 0)
    if same.any():
        later = order[1:][same]  # the later row of each duplicate pair, in file order
        first = later[np.argmin(lines[later])]
        raise CsvFormatError(
            f"duplicate date {day_to_iso(int(days[first]))} for {ids[series[first]]!r}",
            line=int(lines[first]),
        )
    n = len(ids)
    first_day = np.full(n, np.iinfo(np.int64).max)
    last_day = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first_day, series, days)
    np.maximum.at(last_day, series, days)
    lengths = last_day - first_day + 1
    too_long = np.flatnonzero(lengths > MAX_SPAN_DAYS)
    if too_long.size:
        raise CsvFormatError(f"series {ids[too_long[0]]!r} spans more than {MAX_SPAN_DAYS} days")
    width = int(lengths.max())
    offset = width - lengths
    inside = np.arange(width)[None, :] >= offset[:, None]
    y = np.where(inside, 0.0, np.nan)  # a day with no row is a day with no sale
    col = offset[series] + days - first_day[series]
    y[series, col] = np.frombuffer(cols.y, dtype=np.float64)
    exog = np.full((n, width, e), np.nan)
    if e:
        given = np.frombuffer(cols.exog, dtype=np.float64).reshape(-1, e)
        for k in range(e):
            column = np.full((n, width), np.nan)
            column[series, col] = given[:, k]
            exog[:, :, k] = _fill_forward(column, inside)
    return SeriesPanel(ids, y, exog, exog_names, last_day.astype(np.int64), lengths)


def _fill_forward(column: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Each NaN inside a series takes the last value before it (0 before any)."""
    n, width = column.shape
    known = inside & ~np.isnan(column)
    at = np.maximum.accumulate(np.where(known, np.arange(width)[None, :], -1), axis=1)
    filled = np.where(at >= 0, column[np.arange(n)[:, None], np.maximum(at, 0)], 0.0)
    return np.where(inside, filled, np.nan)
