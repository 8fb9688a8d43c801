"""Fixtures of the console's browser tests: Debian's Chromium driven by Playwright.

The tests skip, saying why, when /usr/bin/chromium is missing (`scripts/install.sh` installs
it; the `playwright` package comes with the `dev` extra). Playwright is pointed at the system browser
and never downloads one of its own. Screenshots of every view go to `build/console-screenshots/`
of the checkout (or `$FLEXFLEET_SCREENSHOT_DIR`), replaced by each run and kept after it
(pytest's own temporary folders are pruned by later runs); the path is printed at the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
_shots: list[Path] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where this run's console screenshots are."""
    if _shots:
        terminalreporter.write_line(f"console screenshots: {_shots[0]}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """A headless Chromium of the system's, launched by Playwright (skipped when absent)."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (scripts/install.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots of every view are written (emptied first, kept after the run)."""
    default = Path(__file__).resolve().parents[2] / "build" / "console-screenshots"
    folder = Path(os.environ.get("FLEXFLEET_SCREENSHOT_DIR", default))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    _shots.append(folder)
    return folder
