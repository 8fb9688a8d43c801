"""Reading `timestamp,value` CSV files into a validated series.

Timestamps may be ISO 8601 date-times (``2013-12-02 21:15:00``, ``2014-01-01T00:00:00Z``;
naive ones are taken as UTC) or Unix epoch numbers (seconds, or milliseconds when larger
than 1e11). Their order is kept as found (real logs repeat timestamps around clock changes;
the detectors drop samples that do not advance). Values must be numbers (``nan`` and ``inf`` are
read as such and left for the detectors to report) or empty: an empty cell is a row without
a reading (`None`), which the detectors never see, so the missing-data detector judges the
gap. Anything else is a `SeriesError` that names the file, the line and the reason.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flexfleet.nab.errors import SeriesError

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_ROWS = 5_000_000
_MAX_LINE_CHARS = 4096
_EPOCH_MS_THRESHOLD = 1e11  # epoch numbers above this are milliseconds
_MAX_EPOCH_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z


@dataclass(frozen=True, slots=True)
class Series:
    """A validated time series: epoch milliseconds (in file order) and float values
    (`None` for a row without a reading)."""

    name: str
    timestamps_ms: tuple[int, ...]
    values: tuple[float | None, ...]
    timestamp_texts: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.values)


def parse_timestamp_ms(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 date-time or a Unix epoch number; ValueError if neither."""
    text = text.strip()
    if not text:
        raise ValueError("empty timestamp")
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"bad epoch timestamp {text!r}")
        ms = number if number > _EPOCH_MS_THRESHOLD else number * 1000.0
        if ms > _MAX_EPOCH_MS:
            raise ValueError(f"epoch timestamp {text!r} is beyond year 9999")
        return int(ms)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date-time: {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _rows(path: Path, max_bytes: int) -> Iterator[tuple[int, list[str]]]:
    name = str(path)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise SeriesError(name, f"cannot read: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise SeriesError(name, f"file is {size} bytes, more than the limit of {max_bytes}")
    try:
        with path.open("r", encoding="utf-8", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                if len(line) > _MAX_LINE_CHARS:
                    raise SeriesError(
                        name, f"line longer than {_MAX_LINE_CHARS} characters", number
                    )
                if "\x00" in line:
                    raise SeriesError(name, "contains a NUL byte", number)
                if not line.strip():
                    continue
                yield number, next(csv.reader(io.StringIO(line), strict=True))
    except UnicodeDecodeError as exc:
        raise SeriesError(name, "not UTF-8 text") from exc
    except csv.Error as exc:
        raise SeriesError(name, f"malformed CSV: {exc}") from exc
    except OSError as exc:
        raise SeriesError(name, f"cannot read: {exc.strerror or exc}") from exc


def read_series(
    path: str | Path,
    *,
    signal_column: str | None = None,
    timestamp_column: str = "timestamp",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> Series:
    """Read a CSV with a header naming `timestamp_column` and the signal column.

    The signal column defaults to `value`, or to the only other column when there are two.
    """
    path = Path(path)
    name = str(path)
    rows = _rows(path, max_bytes)
    first = next(rows, None)
    if first is None:
        raise SeriesError(name, "file is empty")
    header = [cell.strip().lstrip("\ufeff") for cell in first[1]]
    if timestamp_column not in header:
        raise SeriesError(name, f"no {timestamp_column!r} column in header {header[:10]}", first[0])
    t_index = header.index(timestamp_column)
    if signal_column is None:
        others = [c for c in header if c != timestamp_column]
        signal_column = "value" if "value" in header or len(others) != 1 else others[0]
    if signal_column not in header:
        raise SeriesError(name, f"no {signal_column!r} column in header {header[:10]}", first[0])
    v_index = header.index(signal_column)
    width = len(header)
    stamps: list[int] = []
    values: list[float | None] = []
    texts: list[str] = []
    for number, cells in rows:
        if len(cells) != width:
            raise SeriesError(name, f"expected {width} fields, found {len(cells)}", number)
        if len(values) >= max_rows:
            raise SeriesError(name, f"more than {max_rows} rows", number)
        try:
            ts = parse_timestamp_ms(cells[t_index])
        except ValueError as exc:
            raise SeriesError(name, f"bad timestamp: {exc}", number) from None
        text = cells[v_index].strip()
        try:
            value = float(text) if text else None
        except ValueError:
            raise SeriesError(name, f"value {text[:40]!r} is not a number", number) from None
        stamps.append(ts)
        values.append(value)
        texts.append(cells[t_index].strip())
    if all(value is None for value in values):
        raise SeriesError(name, "no readings after the header")
    return Series(path.name, tuple(stamps), tuple(values), tuple(texts))
