"""Helpers shared by the planning benchmarks: data location and the command line echo."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The shared reference data (`FLEXFLEET_DATA` overrides `../shared/data`)."""
    return Path(os.environ.get("FLEXFLEET_DATA", REPO_ROOT.parent / "shared" / "data"))


def command_line() -> str:
    """The command that reproduces this run."""
    return " ".join([".venv/bin/python", *map(shlex.quote, sys.argv)])


def load_average() -> str:
    """The 1-minute load average at the time of the call (contention note)."""
    try:
        return f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    except OSError:
        return "unknown"
