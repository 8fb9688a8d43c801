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
from pathlib import Path

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
    """Read and validate a long-format CSV file into a `SeriesPanel`."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise CsvFormatError(f"file is {size} bytes, limit {max_bytes}", path=str(p))
        raw = p.read_bytes()
    except OSError as exc:
        raise CsvFormatError(f"cannot read file: {exc.strerror or exc}", path=str(p)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError("file is not UTF-8 text", path=str(p)) from exc
    try:
        return parse_csv_text(text, max_rows=max_rows)
    except CsvFormatError as exc:
        raise CsvFormatError(exc.reason, line=exc.line, path=str(p)) from None


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
    if "\x00" in text:
        raise CsvFormatError("file contains NUL bytes")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("file is empty", line=1) from None
    except csv.Error as exc:
        raise CsvFormatError(f"unreadable header: {exc}", line=1) from exc
    names = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise CsvFormatError(f"missing required column(s) {missing}; header is {names}", line=1)
    if len(set(names)) != len(names):
        raise CsvFormatError(f"duplicate column names in header {names}", line=1)
    i_id, i_ds, i_y = (names.index(c) for c in REQUIRED_COLUMNS)
    exog_idx = [i for i, n in enumerate(names) if n not in REQUIRED_COLUMNS]
    exog_names = tuple(names[i] for i in exog_idx)
    rows: dict[str, dict[int, tuple[float, tuple[float, ...]]]] = {}
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
            try:
                day = parse_date(record[i_ds])
            except ValueError:
                raise CsvFormatError(f"ds {record[i_ds]!r} is not an ISO date", line=line) from None
            y = _number(record[i_y], "y", line)
            if y is None or y < 0:
                raise CsvFormatError(
                    f"y must be a finite number ≥ 0, got {record[i_y]!r}", line=line
                )
            ex = tuple(_exog(record[i], names[i], line) for i in exog_idx)
            series = rows.setdefault(uid, {})
            if day in series:
                raise CsvFormatError(f"duplicate date {day_to_iso(day)} for {uid!r}", line=line)
            series[day] = (y, ex)
    except csv.Error as exc:
        raise CsvFormatError(f"malformed CSV: {exc}", line=reader.line_num) from exc
    if not rows:
        raise CsvFormatError("no data rows", line=2)
    return panel_from_rows(rows, exog_names)


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
    ids = tuple(sorted(rows))
    spans = {}
    for uid in ids:
        days = rows[uid].keys()
        first, last = min(days), max(days)
        if last - first + 1 > MAX_SPAN_DAYS:
            raise CsvFormatError(f"series {uid!r} spans more than {MAX_SPAN_DAYS} days")
        spans[uid] = (first, last)
    width = max(last - first + 1 for first, last in spans.values())
    n, e = len(ids), len(exog_names)
    y = np.full((n, width), np.nan)
    exog = np.full((n, width, e), np.nan)
    end_days = np.zeros(n, dtype=np.int64)
    lengths = np.zeros(n, dtype=np.int64)
    for s, uid in enumerate(ids):
        first, last = spans[uid]
        length = last - first + 1
        offset = width - length
        y[s, offset:] = 0.0  # a day with no row is a day with no sale
        for day, (value, ex) in rows[uid].items():
            col = offset + day - first
            y[s, col] = value
            if e:
                exog[s, col, :] = ex
        end_days[s], lengths[s] = last, length
        for k in range(e):
            exog[s, offset:, k] = _fill_forward(exog[s, offset:, k])
    return SeriesPanel(ids, y, exog, exog_names, end_days, lengths)


def _fill_forward(column: np.ndarray) -> np.ndarray:
    out = column.copy()
    last = 0.0
    for i, v in enumerate(out):
        if math.isnan(v):
            out[i] = last
        else:
            last = v
    return out
