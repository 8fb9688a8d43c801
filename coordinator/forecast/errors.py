"""Errors raised by the forecasting package, a branch of the coordinator's tree.

    CoordinatorError (coordinator.errors)
    └── ForecastError
        ├── DataError                 bad or unusable input data (CSV, history, horizon)
        │   └── CsvFormatError        a long-format CSV that cannot be read (carries line)
        ├── ModelError                a model directory that cannot be used
        │   ├── ModelLoadError        missing/corrupt files, runtime refused the graph
        │   └── ModelSignatureError   inputs/outputs differ from the expected signature
        └── RefreshFailed             a refresh that could not forecast; stored forecasts kept

Every error carries its data as attributes (`reason` is the sentence without its
location); third-party exceptions are translated at the module that calls the library
(`raise ModelLoadError(...) from exc`). The API maps the tree to status codes in one
table (`coordinator.api.errors`).
"""

from __future__ import annotations

from pathlib import Path

from coordinator.errors import CoordinatorError


class ForecastError(CoordinatorError):
    """Base class of every error raised by `coordinator.forecast`."""


class DataError(ForecastError):
    """Input data that the forecaster cannot use."""

    def __init__(self, reason: str, *, unique_id: str | None = None) -> None:
        where = f" (series {unique_id!r})" if unique_id is not None else ""
        super().__init__(f"{reason}{where}")
        self.reason = reason
        self.unique_id = unique_id


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
        where = f" [{path}]" if path is not None else ""
        super().__init__(f"{reason}{where}")
        self.reason = reason
        self.path = None if path is None else str(path)


class ModelLoadError(ModelError):
    """Model files missing or corrupt, or refused by the runtime."""


class ModelSignatureError(ModelError):
    """A model whose inputs or outputs do not match what the server feeds and reads."""


class RefreshFailed(ForecastError):
    """A refresh that could not forecast (unusable history or model output); the stored
    forecasts are unchanged."""
