"""Bodies of the stock routes (`coordinator.api.routes.stock`): stock levels, stock
cover against the forecast, and the stock placement plan."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from coordinator.stock.plan_inputs import Inbound

Quantity = Annotated[float, AfterValidator(lambda v: round(v, 4))]
"""A fractional number of units, rounded to 4 decimals in answers."""
Km = Annotated[float, AfterValidator(lambda v: round(v, 3))]
"""A distance in km, rounded to metres in answers."""


class _FromAttributes(BaseModel):
    """An answer body read field by field from the domain object of the same shape."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, source: object) -> Self:
        """From the domain object (a twin view or a plan entry)."""
        return cls.model_validate(source)


class StockOut(_FromAttributes):
    """Stock of one SKU at one micro-warehouse (a `StockItem` of the twin)."""

    site: str
    node: str
    sku: str
    qty: int


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


class TargetOut(_FromAttributes):
    """What one warehouse should hold of one SKU, and what it holds."""

    sku: str
    warehouse: str
    sku_class: Literal["A", "B", "C"] = Field(description="By share of forecast sales")
    service_level: float = Field(description="The quantile of lead-time demand held")
    lead_time_mean: Quantity = Field(description="Mean demand over the lead time")
    lead_time_sd: Quantity = Field(description="Its standard deviation")
    uplift: Quantity = Field(description="Units added for announced live streams")
    target: int
    on_hand: int
    inbound: int = Field(description="Units in transit to it")
    position: int = Field(description="on_hand + inbound")
    why: str


class TransferOut(_FromAttributes):
    """A lateral transfer proposed between two warehouses."""

    sku: str
    source: str
    destination: str
    qty: int
    km: Km
    why: str


class InTransitOut(BaseModel):
    """Units on their way to a shelf node under one transfer."""

    transfer_id: str
    kind: Literal["replenishment", "lateral"]
    node: str = Field(description="The receiving shelf node")
    sku: str
    units: int = Field(description="Units not received yet")
    source: str | None = Field(description="The sending warehouse of a lateral transfer")
    why: str

    @classmethod
    def of(cls, i: Inbound) -> InTransitOut:
        """From the planner's open transfers."""
        kind: Literal["replenishment", "lateral"] = (
            "lateral" if i.kind == "lateral" else "replenishment"
        )
        why = (
            f"replenishment job {i.transfer_id.removeprefix('t.')} made for this shelf"
            if kind == "replenishment"
            else f"lateral transfer from {i.source}"
        )
        return cls(
            transfer_id=i.transfer_id,
            kind=kind,
            node=i.node,
            sku=i.sku,
            units=i.units,
            source=i.source,
            why=f"{why}; counted at its receipt",
        )


class PrepositionOut(_FromAttributes):
    """Units an announced live stream adds to one warehouse's target."""

    stream_id: str
    sku: str
    warehouse: str
    units: Quantity
    why: str


class ReplenishOut(_FromAttributes):
    """Units to make for one warehouse after transfers, and the factory to make them."""

    sku: str
    warehouse: str
    qty: int
    factory: str | None = Field(description="The nearest factory that makes it (None: none)")
    km: Km | None
    why: str


class TransfersOut(BaseModel):
    """Lateral transfers proposed now, and every transfer in transit."""

    proposed: list[TransferOut]
    in_transit: list[InTransitOut]


class StockPlanOut(BaseModel):
    """Stock placement across the micro-warehouses (see `coordinator.stock.placement`)."""

    planned_ms: int
    lead_time_days: float
    service_levels: dict[str, float] = Field(description="Per SKU class")
    count: int = Field(description="Targets listed (after the filters and the limit)")
    targets: list[TargetOut]
    prepositions: list[PrepositionOut]
    transfers: TransfersOut
    replenishments: list[ReplenishOut]


__all__ = [
    "InTransitOut",
    "PrepositionOut",
    "ReplenishOut",
    "StockCoverListOut",
    "StockCoverOut",
    "StockOut",
    "StockPlanOut",
    "TargetOut",
    "TransferOut",
    "TransfersOut",
]
