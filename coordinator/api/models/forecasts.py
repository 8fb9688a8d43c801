"""Bodies of the forecast routes (`coordinator.api.routes.forecasts`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from coordinator.forecast.model.baselines import QUANTILES
from coordinator.forecast.serving.event_step import HourlyForecast
from coordinator.forecast.serving.service import Forecast


class QuantilesOut(BaseModel):
    """Daily P10 / P50 / P90 of demand, one value per forecast day."""

    p10: list[float]
    p50: list[float]
    p90: list[float]


class ForecastOut(BaseModel):
    """One SKU × location's forecast.

    `method` is the model version, or the baseline's name when `fallback` is true;
    `reason` then says why (too little history, or no model loaded).
    """

    sku: str
    location: str | None
    horizon_days: int
    dates: list[str]
    mean: list[float]
    quantiles: QuantilesOut
    model_version: str
    method: str
    fallback: bool
    reason: str
    generated_at_ms: int
    event_units: list[float] = Field(
        default_factory=list,
        description="per day, what announced live streams add (included in mean and quantiles)",
    )

    @classmethod
    def of(cls, f: Forecast) -> ForecastOut:
        """From a stored forecast (values rounded to 4 decimals)."""
        doc = f.to_json()
        doc.pop("unique_id")
        return cls(**doc)


class ForecastStatusOut(BaseModel):
    """What the forecasts come from and how the last refresh went."""

    source: Literal["model", "baselines"]
    model_version: str
    model_dir: str | None
    model_error: str | None = Field(description="why the newest model was refused, if it was")
    horizon_days: int
    refresh_interval_s: float
    last_refresh_ms: int | None
    last_refresh_error: str | None
    series: int
    hourly_series: int = 0
    event_error: str | None = Field(
        default=None, description="why forecasts leave the live streams out, if they do"
    )


class ForecastListOut(BaseModel):
    """Stored forecasts with the serving status."""

    status: ForecastStatusOut
    quantile_levels: list[float]
    count: int
    forecasts: list[ForecastOut]

    @classmethod
    def of(cls, status: dict[str, Any], forecasts: list[Forecast]) -> ForecastListOut:
        """From the job's status and stored forecasts."""
        return cls(
            status=ForecastStatusOut(**status),
            quantile_levels=list(QUANTILES),
            count=len(forecasts),
            forecasts=[ForecastOut.of(f) for f in forecasts],
        )


class HourlyForecastOut(BaseModel):
    """One SKU × location's hourly forecast with the announced streams, from `first_hour_ms`."""

    sku: str
    location: str | None
    first_hour_ms: int
    hours: int
    mean: list[float]
    quantiles: QuantilesOut
    event_units: list[float] = Field(description="per hour, what announced streams add")
    generated_at_ms: int

    @classmethod
    def of(cls, f: HourlyForecast) -> HourlyForecastOut:
        """From the job's hourly forecast (values rounded to 4 decimals)."""
        doc = f.to_json()
        doc.pop("unique_id")
        return cls(**doc)


class HourlyForecastListOut(BaseModel):
    """The hourly forecasts of the last refresh."""

    quantile_levels: list[float]
    count: int
    forecasts: list[HourlyForecastOut]


class ForecastRefreshOut(BaseModel):
    """The outcome of an on-demand refresh."""

    status: ForecastStatusOut
    count: int


__all__ = [
    "ForecastListOut",
    "ForecastOut",
    "ForecastRefreshOut",
    "ForecastStatusOut",
    "HourlyForecastListOut",
    "HourlyForecastOut",
    "QuantilesOut",
]
