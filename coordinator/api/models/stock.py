"""Bodies of the stock routes (`coordinator.api.routes.stock`): stock levels, stock
cover against the forecast, and the stock placement plan."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from coordinator.fleet.views import StockItem
from coordinator.stock.placement import Preposition, Replenish, Target, Transfer
from coordinator.stock.plan_inputs import Inbound


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


class TargetOut(BaseModel):
    """What one warehouse should hold of one SKU, and what it holds."""

    sku: str
    warehouse: str
    sku_class: Literal["A", "B", "C"] = Field(description="By share of forecast sales")
    service_level: float = Field(description="The quantile of lead-time demand held")
    lead_time_mean: float = Field(description="Mean demand over the lead time")
    lead_time_sd: float = Field(description="Its standard deviation")
    uplift: float = Field(description="Units added for announced live streams")
    target: int
    on_hand: int
    inbound: int = Field(description="Units in transit to it")
    position: int = Field(description="on_hand + inbound")
    why: str

    @classmethod
    def of(cls, t: Target) -> TargetOut:
        """From the plan."""
        return cls(
            sku=t.sku,
            warehouse=t.warehouse,
            sku_class=t.sku_class,
            service_level=t.service_level,
            lead_time_mean=round(t.lead_time_mean, 4),
            lead_time_sd=round(t.lead_time_sd, 4),
            uplift=round(t.uplift, 4),
            target=t.target,
            on_hand=t.on_hand,
            inbound=t.inbound,
            position=t.position,
            why=t.why,
        )


class TransferOut(BaseModel):
    """A lateral transfer proposed between two warehouses."""

    sku: str
    source: str
    destination: str
    qty: int
    km: float
    why: str

    @classmethod
    def of(cls, t: Transfer) -> TransferOut:
        """From the plan."""
        return cls(
            sku=t.sku,
            source=t.source,
            destination=t.destination,
            qty=t.qty,
            km=round(t.km, 3),
            why=t.why,
        )


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


class PrepositionOut(BaseModel):
    """Units an announced live stream adds to one warehouse's target."""

    stream_id: str
    sku: str
    warehouse: str
    units: float
    why: str

    @classmethod
    def of(cls, p: Preposition) -> PrepositionOut:
        """From the plan."""
        return cls(
            stream_id=p.stream_id,
            sku=p.sku,
            warehouse=p.warehouse,
            units=round(p.units, 4),
            why=p.why,
        )


class ReplenishOut(BaseModel):
    """Units to make for one warehouse after transfers, and the factory to make them."""

    sku: str
    warehouse: str
    qty: int
    factory: str | None = Field(description="The nearest factory that makes it (None: none)")
    km: float | None
    why: str

    @classmethod
    def of(cls, r: Replenish) -> ReplenishOut:
        """From the plan."""
        return cls(
            sku=r.sku,
            warehouse=r.warehouse,
            qty=r.qty,
            factory=r.factory,
            km=None if r.km is None else round(r.km, 3),
            why=r.why,
        )


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
