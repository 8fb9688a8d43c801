"""Outputs of long commands checked before the work: a run of minutes must not end in a
traceback because its result cannot be written."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["can_write"]


def can_write(path: Path, *, directory: bool = False) -> None:
    """Raise `OSError` now when `path` (a file, or a directory made if missing) cannot be
    written."""
    where = path if directory else path.parent
    if directory:
        where.mkdir(parents=True, exist_ok=True)
    if not where.is_dir():
        raise FileNotFoundError(f"cannot write {path}: {where} is not a directory")
    if not os.access(where, os.W_OK):
        raise PermissionError(f"cannot write {path}: {where} is not writable")
