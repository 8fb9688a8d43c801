"""Where simulated vehicles leave the goods of a transfer for a simulated warehouse.

A directory shared by the agents of one simulated site: a vehicle that delivers a
transfer at a place writes `{dock}/{place}/{transfer_id}.json` (`{sku: quantity}`,
written to a temporary name, synced and renamed, so a reader never sees half a file);
the warehouse of that place lists what waits for it, receives it, and removes the file
once its receipt is stored. Dropping the same transfer twice leaves one file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Final

from firmware_sim.errors import SimConfigError

_ID: Final = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
MAX_DOCK_FILE_BYTES: Final = 64 * 1024


def _check(name: str, value: str) -> None:
    if not _ID.match(value) or value in (".", ".."):
        raise SimConfigError(name, f"not a dock id: {value[:80]!r}")


class Dock:
    """The drop-off directory at `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def drop(self, place: str, transfer_id: str, items: dict[str, int]) -> None:
        """Leave `items` of `transfer_id` at `place` (once, however often it is called)."""
        _check("place", place)
        _check("transfer_id", transfer_id)
        folder = self.root / place
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{transfer_id}.json"
        if final.exists():
            return
        temporary = folder / f".{transfer_id}.{os.getpid()}.tmp"
        with open(temporary, "wb") as out:
            out.write(json.dumps(items, sort_keys=True).encode())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)

    def waiting(self, place: str) -> dict[str, dict[str, int]]:
        """Transfers left at `place`, by id; files that are not a transfer are skipped."""
        _check("place", place)
        folder = self.root / place
        if not folder.is_dir():
            return {}
        found: dict[str, dict[str, int]] = {}
        for path in sorted(folder.glob("*.json")):
            transfer_id = path.stem
            if not _ID.match(transfer_id):
                continue
            try:
                if path.stat().st_size > MAX_DOCK_FILE_BYTES:
                    continue
                items = json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue
            if (
                isinstance(items, dict)
                and items
                and all(
                    isinstance(k, str) and _ID.match(k) and type(v) is int and 0 < v <= 10**9
                    for k, v in items.items()
                )
            ):
                found[transfer_id] = items
        return found

    def remove(self, place: str, transfer_id: str) -> None:
        """Clear a received transfer from `place` (gone already is fine)."""
        _check("place", place)
        _check("transfer_id", transfer_id)
        (self.root / place / f"{transfer_id}.json").unlink(missing_ok=True)
