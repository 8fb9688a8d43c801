"""Stock against demand: each SKU's cover from its forecast (`cover`), the watch that
checks it as forecasts and stock move, raising `stockout_risk` (`cover_watch`), and the
announced live streams that will move demand (`live_streams`, kept by `stream_book`)."""

from coordinator.stock.cover import CoverPolicy, StockCover, stock_cover, stock_covers
from coordinator.stock.cover_watch import STOCKOUT_RISK, CoverWatch, StockoutRiskRule
from coordinator.stock.errors import StockError, StreamConflict, StreamInvalid, StreamsUnavailable
from coordinator.stock.live_streams import LiveStream, check_stream, decide
from coordinator.stock.stream_book import LiveStreamBook, StoredStream

__all__ = [
    "STOCKOUT_RISK",
    "CoverPolicy",
    "CoverWatch",
    "LiveStream",
    "LiveStreamBook",
    "StockCover",
    "StockError",
    "StockoutRiskRule",
    "StoredStream",
    "StreamConflict",
    "StreamInvalid",
    "StreamsUnavailable",
    "check_stream",
    "decide",
    "stock_cover",
    "stock_covers",
]
