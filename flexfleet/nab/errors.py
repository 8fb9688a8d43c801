"""Errors of the NAB evaluation package.

NabError
├── SeriesError    (a timestamp,value CSV is empty, oversized or malformed; `path`, `line`, `reason`)
└── CorpusError    (the NAB corpus directory lacks a file or holds a malformed one; `path`, `reason`)
"""

from __future__ import annotations


class NabError(Exception):
    """Base of every error raised by `flexfleet.nab`."""


class SeriesError(NabError, ValueError):
    """A time-series CSV could not be read; `line` is 1-based (0 when not about one line)."""

    def __init__(self, path: str, reason: str, line: int = 0) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class CorpusError(NabError):
    """The NAB corpus (data, labels, config or results) is missing or malformed."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
