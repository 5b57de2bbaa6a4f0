"""The planning policy: the knobs a merchandise planner sets once and rarely in a request."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PlanningPolicy"]


class PlanningPolicy(BaseModel):
    """Service level, lead time, packs, store minimums, markdown ladder and how demand is forecast."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_level: float = Field(0.90, gt=0.5, lt=1.0, description="chance a store does not run out")
    lead_time_weeks: int = Field(1, ge=0, le=8, description="weeks from a DC shipment to the shelf")
    pack_size: int = Field(6, ge=1, description="units per pack: stores receive whole packs")
    store_minimum_units: int = Field(12, ge=0, description="presentation minimum each store receives")
    target_sell_through: float = Field(0.85, ge=0.3, le=1.0, description="default share of the buy to sell")
    markdown_depths: tuple[float, ...] = Field((0.2, 0.3, 0.4, 0.5, 0.7), description="the markdown ladder")
    max_markdowns: int = Field(2, ge=0, le=3, description="markdown steps per category and season")
    forecast_level: Literal["category", "cluster"] = Field(
        "category", description="forecast category totals, or category totals per cluster of stores"
    )
    cluster_by: str = Field("climate", description="the stores.csv column that clusters stores")
    backtest_sample: int = Field(6, ge=0, le=200, description="store series also forecast one by one")
