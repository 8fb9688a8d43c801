"""Units sold, read from the stock messages the warehouse agents publish.

A pick is a negative change in a stock `delta` (see `firmware_sim.warehouse`: an order is
picked as a negative change, a replenishment is received as a positive one); snapshots
carry levels, not movements, and never count. Sales are bucketed by the UTC day of the
message's timestamp, the day the agent reported them.
"""

from __future__ import annotations

from typing import Final

from protocol import Stock

DAY_MS: Final = 86_400_000


def sales_of(message: Stock) -> list[tuple[str, int, int]]:
    """(sku, day, units sold) for every pick in one stock message (days since 1970-01-01)."""
    if message.mode != "delta":
        return []
    day = message.ts // DAY_MS
    return [(sku, day, -qty) for sku, qty in message.items.items() if qty < 0]


__all__ = ["DAY_MS", "sales_of"]
