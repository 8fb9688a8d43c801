"""One browser tab on the console, for the browser tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Console:
    """One browser tab on the console, recording console errors and failed requests."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", self._failed)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _failed(self, request: Any) -> None:
        # An SSE stream aborted by leaving the page is not an error of the page.
        if not request.url.endswith("/api/v1/alarms/stream"):
            self.errors.append(f"request failed: {request.url} {request.failure}")

    def open(self, view: str) -> None:
        """Show `view` and wait until it has drawn its first data."""
        self.page.goto(f"{self.url}/#/{view}")
        self.page.wait_for_selector(f"main[data-ready={view}]", timeout=20_000)

    def count(self, testid: str) -> int:
        """Elements with this data-testid."""
        return int(self.page.locator(f"[data-testid={testid}]").count())

    def shot(self, folder: Path, name: str) -> None:
        """A full-page screenshot."""
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
