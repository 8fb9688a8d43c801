"""Errors raised by the forecasting package.

    ForecastError
    ├── DataError                 bad or unusable input data (CSV, history, horizon)
    │   └── CsvFormatError        a long-format CSV that cannot be read (carries line)
    └── ModelError                a model directory that cannot be used
        ├── ModelLoadError        missing/corrupt files, runtime refused the graph
        └── ModelSignatureError   inputs/outputs differ from the expected signature

Every error carries its data as attributes; third-party exceptions are translated at
the module that calls the library (`raise ModelLoadError(...) from exc`).
"""

from __future__ import annotations

from pathlib import Path


class ForecastError(Exception):
    """Base class of every error raised by `coordinator.forecast`."""


class DataError(ForecastError):
    """Input data that the forecaster cannot use."""

    def __init__(self, reason: str, *, unique_id: str | None = None) -> None:
        self.reason = reason
        self.unique_id = unique_id
        where = f" (series {unique_id!r})" if unique_id is not None else ""
        super().__init__(f"{reason}{where}")


class CsvFormatError(DataError):
    """A long-format CSV that is malformed, hostile or too large."""

    def __init__(self, reason: str, *, line: int | None = None, path: str | None = None) -> None:
        self.line = line
        self.path = path
        where = []
        if path is not None:
            where.append(path)
        if line is not None:
            where.append(f"line {line}")
        prefix = ":".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)
        self.reason = reason


class ModelError(ForecastError):
    """A model directory that cannot be loaded or served."""

    def __init__(self, reason: str, *, path: Path | str | None = None) -> None:
        self.reason = reason
        self.path = None if path is None else str(path)
        where = f" [{self.path}]" if self.path is not None else ""
        super().__init__(f"{reason}{where}")


class ModelLoadError(ModelError):
    """Model files missing or corrupt, or refused by the runtime."""


class ModelSignatureError(ModelError):
    """A model whose inputs or outputs do not match what the server feeds and reads."""
