"""Bodies of the stock routes (`coordinator.api.routes.stock`): stock levels and stock
cover against the forecast."""

from __future__ import annotations

from pydantic import BaseModel, Field

from coordinator.fleet.views import StockItem


class StockOut(BaseModel):
    """Stock of one SKU at one micro-warehouse."""

    site: str
    node: str
    sku: str
    qty: int

    @classmethod
    def of(cls, s: StockItem) -> StockOut:
        """From a twin view."""
        return cls(site=s.site, node=s.node, sku=s.sku, qty=s.qty)


class StockCoverOut(BaseModel):
    """How long one SKU's stock at one micro-warehouse lasts against its forecast."""

    sku: str
    location: str = Field(description="The micro-warehouse, `site/node`")
    stock: int
    horizon_days: int = Field(description="Days the forecast covers, from tomorrow")
    expected_days: int | None = Field(
        description="First day the mean demand from tomorrow exceeds the stock (None: not"
        " within the horizon)"
    )
    p90_days: int | None = Field(
        description="First day the P90 of the demand from tomorrow exceeds the stock"
    )
    at_risk: bool = Field(description="p90_days within the replenishment lead time")
    order_up_to: int = Field(description="P90 demand over lead time plus review period")
    proposed: int = Field(description="Units to replenish now to reach order_up_to")
    method: str = Field(description="What made the forecast (model version or baseline)")


class StockCoverListOut(BaseModel):
    """Stock cover of every SKU that has both a forecast and a stock level."""

    lead_time_days: float
    review_days: float
    checked_ms: int | None = Field(description="When the covers were last computed")
    count: int
    covers: list[StockCoverOut]


__all__ = ["StockCoverListOut", "StockCoverOut", "StockOut"]
