"""Stock against demand: each SKU's cover from its forecast (`cover`) and the watch that
checks it as forecasts and stock move, raising `stockout_risk` (`cover_watch`)."""

from coordinator.stock.cover import CoverPolicy, StockCover, stock_cover, stock_covers
from coordinator.stock.cover_watch import STOCKOUT_RISK, CoverWatch, StockoutRiskRule

__all__ = [
    "STOCKOUT_RISK",
    "CoverPolicy",
    "CoverWatch",
    "StockCover",
    "StockoutRiskRule",
    "stock_cover",
    "stock_covers",
]
