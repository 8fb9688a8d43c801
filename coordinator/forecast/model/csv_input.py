"""Read a long-format CSV (`unique_id, ds, y` plus optional numeric exogenous columns).

Rules, each with a clear `CsvFormatError` when broken: the three key columns must be
present; `ds` is an ISO date (a midnight time part is accepted); `y` is a finite number
≥ 0 (with `negatives="zero"`, a negative `y`, as a day of net returns in retail data, is
read as 0 and counted instead); no (unique_id, ds) pair twice; exogenous cells are
numbers (an empty cell carries the previous value forward, 0 before any value); the file
stays under `max_bytes` and `max_rows`. Days missing inside a series are filled with y = 0 (no sale recorded).

The file is read about 1 MB of lines at a time: a chunk whose rows are all plainly valid
is converted column by column at once (each distinct date or number string parsed
once); any other chunk is read row by row, which raises the first error at its line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np

from coordinator.forecast.errors import CsvFormatError
from coordinator.forecast.model.panel import SeriesPanel

REQUIRED_COLUMNS = ("unique_id", "ds", "y")
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_ROWS = 20_000_000
MAX_SPAN_DAYS = 20 * 366
_EPOCH = dt.date(1970, 1, 1)
_CHUNK_CHARS = 1 << 20  # lines are read and converted about 1 MB at a time
_MAX_CACHED_DATES = 100_000  # distinct `ds` strings remembered (20 years is 7,305 days)
_MAX_CACHED_NUMBERS = 100_000  # distinct number strings remembered


Negatives = Literal["error", "zero"]


def read_csv(
    path: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    negatives: Negatives = "error",
    note: Callable[[str], None] | None = None,
) -> SeriesPanel:
    """Read and validate a long-format CSV file into a `SeriesPanel` (streamed, not
    loaded whole). `negatives`: a negative `y` is an error, or read as 0 ("zero"), how
    many said to `note`."""
    p = Path(path)
    zero = negatives == "zero"
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise CsvFormatError(f"file is {size} bytes, limit {max_bytes}", path=str(p))
        try:
            with p.open(encoding="utf-8-sig", newline="") as stream:
                panel, zeroed = _parse(stream, max_rows=max_rows, zero_negatives=zero)
        except UnicodeDecodeError:  # read again line by line: a bad row before it wins
            with p.open(encoding="utf-8-sig", newline="") as stream:
                panel, zeroed = _parse(
                    stream, max_rows=max_rows, chunk_chars=0, zero_negatives=zero
                )
    except CsvFormatError as exc:
        raise CsvFormatError(exc.reason, line=exc.line, path=str(p)) from None
    except UnicodeDecodeError as exc:
        raise CsvFormatError("file is not UTF-8 text", path=str(p)) from exc
    except OSError as exc:
        raise CsvFormatError(f"cannot read file: {exc.strerror or exc}", path=str(p)) from exc
    if zeroed and note is not None:
        note(f"  {zeroed:,} row(s) with y < 0 (net returns?) read as 0")
    return panel


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
    return _parse(io.StringIO(text, newline=""), max_rows=max_rows, zero_negatives=False)[0]


class _Columns:
    """Parsed rows held column-wise (compact: a large panel has millions of rows)."""

    def __init__(self, n_exog: int) -> None:
        self.series: array[int] = array("q")
        self.days: array[int] = array("q")
        self.lines: array[int] = array("q")
        self.y: array[float] = array("d")
        self.exog: list[array[float]] = [array("d") for _ in range(n_exog)]


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


def _checked_lines(lines: Iterable[str], start: int) -> Iterator[str]:
    for number, line in enumerate(lines, start=start):
        if "\x00" in line:
            raise CsvFormatError("file contains NUL bytes", line=number)
        yield line


def _parse(
    stream: TextIO, *, max_rows: int, chunk_chars: int = _CHUNK_CHARS, zero_negatives: bool
) -> tuple[SeriesPanel, int]:
    """The panel of the rows read about `chunk_chars` at a time (0: the whole stream row by
    row), and how many negative `y` were read as 0."""
    reader = csv.reader(_checked_lines(stream, 1))
    rows = _Rows(
        _header(reader), max_rows, lines_read=reader.line_num, zero_negatives=zero_negatives
    )
    if not chunk_chars:
        rows.add_one_by_one([], stream, to_end=True)
    else:
        while chunk := stream.readlines(chunk_chars):
            if not rows.add_chunk(chunk):
                rows.add_one_by_one(chunk, stream)
    if not rows.uids:
        raise CsvFormatError("no data rows", line=2)
    return _panel_from_columns(tuple(rows.uids), rows.cols, rows.exog_names), rows.zeroed


class _Rows:
    """The rows read so far, and the two ways of adding more: a chunk of lines at once
    (C-level conversions over whole columns), or row by row, the reference path that
    raises every error at its line. A chunk goes to the second when anything in it is
    unusual (a bad cell, a wrong field count, a record over several lines, NUL bytes,
    the row limit)."""

    def __init__(
        self, names: list[str], max_rows: int, lines_read: int, *, zero_negatives: bool
    ) -> None:
        self.names = names
        self.i_id, self.i_ds, self.i_y = (names.index(c) for c in REQUIRED_COLUMNS)
        self.exog_idx = [i for i, n in enumerate(names) if n not in REQUIRED_COLUMNS]
        self.exog_names = tuple(names[i] for i in self.exog_idx)
        self.max_rows = max_rows
        self.lines_read = lines_read
        self.n_rows = 0
        self.uids: dict[str, int] = {}
        self.dates: dict[str, int] = {}
        self.numbers = _Numbers()
        self.cols = _Columns(len(self.exog_idx))
        self.zero_negatives = zero_negatives
        self.zeroed = 0  # negative y read as 0

    def add_chunk(self, chunk: list[str]) -> bool:
        """Add every row of `chunk` (whole lines) if all are plainly valid, one line per
        record; else add nothing and return False."""
        split = _chunk_columns(chunk, len(self.names))
        if split is None:
            return False
        columns, kept = split
        first_line = self.lines_read + 1
        n = len(columns[0])
        if self.n_rows + n > self.max_rows:
            return False
        if n:
            converted = self._convert(columns)
            if converted is None:
                return False
            ids, days, y, exog = converted
            uids = self.uids
            for uid in dict.fromkeys(ids):
                uids.setdefault(uid, len(uids))
            cols = self.cols
            cols.series.extend(array("q", map(uids.__getitem__, ids)))
            cols.days.extend(days)
            if kept is None:
                cols.lines.extend(array("q", range(first_line, first_line + n)))
            else:
                cols.lines.extend(array("q", (first_line + i for i in kept)))
            cols.y.extend(y)
            for target, values in zip(cols.exog, exog, strict=True):
                target.extend(values)
            self.n_rows += n
        self.lines_read += len(chunk)
        return True

    def _convert(
        self, columns: Sequence[Sequence[str]]
    ) -> tuple[list[str], array[int], array[float], list[array[float]]] | None:
        """Ids, days, y and exogenous columns of a chunk; None if any cell is not plainly
        valid (the row-by-row path then finds and reports the first bad one)."""
        ids = list(map(str.strip, columns[self.i_id]))
        if "" in ids:
            return None
        ds = columns[self.i_ds]
        dates = self.dates
        try:
            for text in dict.fromkeys(ds):
                if text not in dates and len(dates) < _MAX_CACHED_DATES:
                    dates[text] = parse_date(text)
            if len(dates) < _MAX_CACHED_DATES:
                days = array("q", map(dates.__getitem__, ds))
            else:  # a hostile file with very many spellings of its dates
                days = array("q", map(parse_date, ds))
            y = self.numbers.finite(columns[self.i_y], blank_is_nan=False)
            exog = [self.numbers.finite(columns[i], blank_is_nan=True) for i in self.exog_idx]
        except ValueError:
            return None
        values = np.frombuffer(y, dtype=np.float64)
        if not (values >= 0).all():
            if not self.zero_negatives:
                return None
            negative = values < 0
            self.zeroed += int(negative.sum())
            values[negative] = 0.0
        return ids, days, y, exog

    def add_one_by_one(self, chunk: list[str], stream: TextIO, *, to_end: bool = False) -> None:
        """Add the rows of `chunk` row by row, raising at the first bad one; a record
        still open at the end of `chunk` is read on from `stream` (all of it if
        `to_end`)."""
        start = self.lines_read
        reader = csv.reader(_checked_lines(itertools.chain(chunk, stream), start + 1))
        try:
            for record in reader:
                self._add_row(record, start + reader.line_num)
                if reader.line_num >= len(chunk) and not to_end:
                    break
        except csv.Error as exc:
            raise _csv_error(exc, start + reader.line_num) from exc
        self.lines_read = start + reader.line_num

    def _add_row(self, record: list[str], line: int) -> None:
        if _blank(record):
            return
        self.n_rows += 1
        if self.n_rows > self.max_rows:
            raise CsvFormatError(f"more than {self.max_rows} rows", line=line)
        names = self.names
        if len(record) != len(names):
            raise CsvFormatError(f"expected {len(names)} fields, found {len(record)}", line=line)
        uid = record[self.i_id].strip()
        if not uid:
            raise CsvFormatError("empty unique_id", line=line)
        ds = record[self.i_ds]
        day = self.dates.get(ds)
        if day is None:
            try:
                day = parse_date(ds)
            except ValueError:
                raise CsvFormatError(f"ds {ds!r} is not an ISO date", line=line) from None
        y = _number(record[self.i_y], "y", line)
        if y is not None and y < 0 and self.zero_negatives:
            self.zeroed += 1
            y = 0.0
        if y is None or y < 0:
            raise CsvFormatError(
                f"y must be a finite number ≥ 0, got {record[self.i_y]!r}", line=line
            )
        ex = [_exog(record[i], names[i], line) for i in self.exog_idx]
        cols = self.cols
        cols.series.append(self.uids.setdefault(uid, len(self.uids)))
        cols.days.append(day)
        cols.lines.append(line)
        cols.y.append(y)
        for target, value in zip(cols.exog, ex, strict=True):
            target.append(value)


def _blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


def _chunk_columns(
    chunk: list[str], width: int
) -> tuple[list[Sequence[str]], list[int] | None] | None:
    """The cells of a chunk of lines column by column, and the indices of the lines kept
    (None: all of them; blank lines are left out); None if the chunk holds NUL bytes, a
    record over several lines, a record cut at the chunk's end or a wrong field count."""
    text = "".join(chunk)
    if "\x00" in text:
        return None
    # Unquoted, every line `width` cells joined by commas: split the text at once.
    if '"' not in text and set(map(str.count, chunk, itertools.repeat(","))) == {width - 1}:
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        if "\r" not in text:
            body = text[:-1] if text.endswith("\n") else text
            cells = body.replace("\n", ",").split(",")
            return [cells[k::width] for k in range(width)], None
    try:
        records = list(csv.reader(chunk))
    except csv.Error:
        return None
    # One record per line, and the last one not cut inside a quoted field that the
    # next chunk would continue (a field holding a line break).
    if len(records) != len(chunk) or any("\n" in f or "\r" in f for f in records[-1]):
        return None
    kept = None
    if set(map(len, records)) != {width}:
        if not all(len(r) == width or _blank(r) for r in records):
            return None
        kept = [i for i, r in enumerate(records) if len(r) == width]
        records = [records[i] for i in kept]
    if not records:
        return [[] for _ in range(width)], kept
    return list(zip(*records, strict=True)), kept


class _Numbers:
    """`float` of cells, remembering the value of each string seen (a panel repeats a
    few hundred distinct numbers millions of times; at most `_MAX_CACHED_NUMBERS`)."""

    def __init__(self) -> None:
        self.known: dict[str, float] = {}

    def finite(self, cells: Sequence[str], *, blank_is_nan: bool) -> array[float]:
        """Cells as finite floats (an empty cell is NaN if `blank_is_nan`); ValueError
        for any other cell."""
        try:
            values = self._floats(cells)
        except ValueError:
            if not blank_is_nan:
                raise
            lookup = {cell: _exog_cell(cell) for cell in dict.fromkeys(cells)}
            return array("d", map(lookup.__getitem__, cells))
        if not np.isfinite(np.frombuffer(values, dtype=np.float64)).all():
            raise ValueError("not finite")
        return values

    def _floats(self, cells: Sequence[str]) -> array[float]:
        known = self.known
        try:
            return array("d", map(known.__getitem__, cells))
        except KeyError:
            pass
        distinct = dict.fromkeys(cells)
        if 4 * len(distinct) > len(cells) or len(known) + len(distinct) > _MAX_CACHED_NUMBERS:
            return array("d", map(float, cells))
        new = [cell for cell in distinct if cell not in known]
        known.update(zip(new, map(float, new), strict=True))
        return array("d", map(known.__getitem__, cells))


def _exog_cell(cell: str) -> float:
    if not cell.strip():
        return math.nan
    value = float(cell)
    if value - value != 0.0:
        raise ValueError("not finite")
    return value


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
    cols = _Columns(len(exog_names))
    for s, days in enumerate(rows.values()):
        for day, (y, ex) in days.items():
            cols.series.append(s)
            cols.days.append(day)
            cols.lines.append(0)
            cols.y.append(y)
            for target, value in zip(cols.exog, ex, strict=True):
                target.append(value)
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
    n = len(ids)
    first_day = np.full(n, np.iinfo(np.int64).max)
    last_day = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first_day, series, days)
    np.maximum.at(last_day, series, days)
    lengths = last_day - first_day + 1
    too_long = np.flatnonzero(lengths > MAX_SPAN_DAYS)
    if too_long.size:
        _check_duplicates(ids, series, days, cols.lines)
        raise CsvFormatError(f"series {ids[too_long[0]]!r} spans more than {MAX_SPAN_DAYS} days")
    width = int(lengths.max())
    offset = width - lengths
    cell = series * width + offset[series] + days - first_day[series]  # flat [n, width]
    taken = np.zeros(n * width, dtype=bool)
    taken[cell] = True
    if np.count_nonzero(taken) != len(series):  # two rows on one cell
        _check_duplicates(ids, series, days, cols.lines)
    inside = np.arange(width)[None, :] >= offset[:, None]
    y = np.where(inside, 0.0, np.nan)  # a day with no row is a day with no sale
    y.reshape(-1)[cell] = np.frombuffer(cols.y, dtype=np.float64)
    gaps = len(series) != int(lengths.sum())
    exog = np.empty((n, width, e))
    column = np.empty((n, width))
    for k, given in enumerate(cols.exog):
        values = np.frombuffer(given, dtype=np.float64)
        column.fill(np.nan)
        column.reshape(-1)[cell] = values
        filled = gaps or bool(np.isnan(values).any())
        exog[:, :, k] = _fill_forward(column, inside) if filled else column
    return SeriesPanel(ids, y, exog, exog_names, last_day.astype(np.int64), lengths)


def _check_duplicates(
    ids: tuple[str, ...], series: np.ndarray, days: np.ndarray, lines: array[int]
) -> None:
    """Raise for the first row (in file order) whose series and date came before."""
    line_of = np.frombuffer(lines, dtype=np.int64)
    order = np.lexsort((days, series))
    same = (np.diff(series[order]) == 0) & (np.diff(days[order]) == 0)
    if same.any():
        later = order[1:][same]  # the later row of each duplicate pair, in file order
        first = later[np.argmin(line_of[later])]
        raise CsvFormatError(
            f"duplicate date {day_to_iso(int(days[first]))} for {ids[series[first]]!r}",
            line=int(line_of[first]),
        )


def _fill_forward(column: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Each NaN inside a series takes the last value before it (0 before any)."""
    n, width = column.shape
    known = inside & ~np.isnan(column)
    at = np.maximum.accumulate(np.where(known, np.arange(width)[None, :], -1), axis=1)
    filled = np.where(at >= 0, column[np.arange(n)[:, None], np.maximum(at, 0)], 0.0)
    return np.where(inside, filled, np.nan)
