"""Stock against demand: each SKU's cover from its forecast (`cover`), the watch that
checks it as forecasts and stock move, raising `stockout_risk` (`cover_watch`), the
announced live streams that will move demand (`live_streams`, kept by `stream_book`), and
where stock should be across the micro-warehouses (`placement`, fed by `plan_inputs`,
served by `plan_service`), with lateral transfers carried out to their receipt
(`lateral`, `lateral_book`), and what past streams realised (`stream_uplift`, measured by
`uplift_meter`)."""

from coordinator.stock.cover import CoverPolicy, StockCover, stock_cover, stock_covers
from coordinator.stock.cover_watch import STOCKOUT_RISK, CoverWatch, StockoutRiskRule
from coordinator.stock.errors import (
    PlanInvalid,
    StockError,
    StreamConflict,
    StreamInvalid,
    StreamsUnavailable,
)
from coordinator.stock.lateral import LateralTransfer
from coordinator.stock.lateral_book import LateralTransferBook
from coordinator.stock.live_streams import LiveStream, check_stream, decide
from coordinator.stock.placement import (
    PlacementPolicy,
    PlacementProblem,
    StockPlan,
    plan_stock,
)
from coordinator.stock.plan_inputs import Inbound, placement_problem
from coordinator.stock.plan_service import StockPlanner, StockPlanView
from coordinator.stock.stream_book import LiveStreamBook, StoredStream
from coordinator.stock.stream_uplift import PastUplifts, RealisedUplift, SkuUplift
from coordinator.stock.uplift_meter import StreamUpliftMeter

__all__ = [
    "STOCKOUT_RISK",
    "CoverPolicy",
    "CoverWatch",
    "Inbound",
    "LateralTransfer",
    "LateralTransferBook",
    "LiveStream",
    "LiveStreamBook",
    "PastUplifts",
    "PlacementPolicy",
    "PlacementProblem",
    "PlanInvalid",
    "RealisedUplift",
    "SkuUplift",
    "StockCover",
    "StockError",
    "StockPlan",
    "StockPlanView",
    "StockPlanner",
    "StockoutRiskRule",
    "StoredStream",
    "StreamConflict",
    "StreamInvalid",
    "StreamUpliftMeter",
    "StreamsUnavailable",
    "check_stream",
    "decide",
    "placement_problem",
    "plan_stock",
    "stock_cover",
    "stock_covers",
]
