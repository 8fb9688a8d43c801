"""`StockPlanner`: the stock plan of the running coordinator, computed on demand from its
latest forecasts, the fleet twin's stock, the sales network, the announced live streams
and the transfers in transit (`coordinator.stock.plan_inputs` → `plan_stock`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from coordinator.forecast.events.features import StreamEvent
from coordinator.forecast.serving.event_step import StreamUnits
from coordinator.forecast.serving.service import Forecast
from coordinator.sales.network import Network
from coordinator.stock.live_streams import LiveStream
from coordinator.stock.placement import PlacementPolicy, StockPlan, plan_stock
from coordinator.stock.plan_inputs import Inbound, placement_problem, stream_uplifts
from fleet_runtime.clock import Clock, now_ms


@dataclass(frozen=True, slots=True)
class StockPlanView:
    """A stock plan with what it was made from: the transfers in transit and when."""

    plan: StockPlan
    in_transit: tuple[Inbound, ...]
    planned_ms: int
    policy: PlacementPolicy
    warehouse_of: Mapping[str, str] = field(default_factory=dict)  # shelf node → warehouse


class StockPlanner:
    """Plans stock placement from the coordinator's live state (see the module)."""

    def __init__(
        self,
        *,
        forecasts: Callable[[], list[Forecast]],
        stock: Callable[[], Iterable[tuple[str, str, str, int]]],
        network: Callable[[], Network],
        inbound: Callable[[], Iterable[Inbound]],
        streams: Callable[[], Iterable[LiveStream]],
        clock: Clock,
        policy: PlacementPolicy,
        orders_per_viewer: float = 0.02,
        stream_units: Callable[[], tuple[StreamUnits, Mapping[str, StreamEvent]]] | None = None,
    ) -> None:
        self._forecasts = forecasts
        self._stock = stock
        self._network = network
        self.inbound_sources: list[Callable[[], Iterable[Inbound]]] = [inbound]
        """Where units in transit come from (replenishments, lateral transfers)."""
        self._streams = streams
        self._clock = clock
        self.policy = policy
        self.orders_per_viewer = orders_per_viewer
        self._stream_units = stream_units
        """What the last forecast refresh expects each stream to sell, and the streams as
        that refresh saw them (`ForecastJob.stream_units`)."""

    def plan(self) -> StockPlanView:
        """The stock plan now."""
        at = now_ms(self._clock)
        in_transit = tuple(item for source in self.inbound_sources for item in source())
        units, seen = ({}, {}) if self._stream_units is None else self._stream_units()
        uplifts = stream_uplifts(
            self._streams(),
            now_ms=at,
            lead_time_days=self.policy.lead_time_days,
            orders_per_viewer=self.orders_per_viewer,
            model_units=units,
            seen=seen,
        )
        network = self._network()
        problem = placement_problem(
            forecasts=self._forecasts(),
            stock=self._stock(),
            network=network,
            inbound=in_transit,
            uplifts=uplifts,
        )
        return StockPlanView(
            plan_stock(problem, self.policy),
            in_transit,
            at,
            self.policy,
            network.warehouse_of_node(),
        )


__all__ = ["StockPlanView", "StockPlanner"]
