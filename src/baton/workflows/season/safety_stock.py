"""Safety stock: how much above the forecast to hold, depending on how often stores can be restocked.

Stock must cover the forecast error over the *protection period*: the time until the next shipment can
arrive. With no replenishment that is the whole season (whatever is bought up front is all there is);
with weekly or bi-weekly replenishment it is the review period plus the lead time. Over a period, the
group forecast's error is shared by all weeks (a level that is off is off every week), so it adds up
linearly; a store's own scatter is independent week to week, so its variance adds up.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from pydantic import BaseModel

from baton.workflows.season.parameters import ReplenishmentStrategy

__all__ = ["SafetyStockSummary", "period_sigma", "protection_weeks", "safety_stock", "service_z"]


class SafetyStockSummary(BaseModel):
    """The safety stock the plan holds and why."""

    strategy: ReplenishmentStrategy
    service_level: float
    protection_weeks: int
    units_by_category: dict[str, int]
    share_of_forecast: dict[str, float]
    reason: str


def service_z(service_level: float) -> float:
    return NormalDist().inv_cdf(service_level)


def protection_weeks(strategy: ReplenishmentStrategy, lead_time_weeks: int, horizon: int) -> int:
    review = strategy.review_weeks
    return horizon if review is None else min(horizon, review + lead_time_weeks)


def period_sigma(shared: np.ndarray, own_variance: np.ndarray, weeks: int) -> np.ndarray:
    """Standard deviation of demand over each window of ``weeks`` weeks starting at every week.

    Inputs are (..., H); the result is (..., H) where windows near the end are cut at the horizon.
    """
    horizon = shared.shape[-1]
    cum_shared = np.concatenate([np.zeros((*shared.shape[:-1], 1)), np.cumsum(shared, axis=-1)], axis=-1)
    cum_var = np.concatenate(
        [np.zeros((*own_variance.shape[:-1], 1)), np.cumsum(own_variance, axis=-1)], axis=-1
    )
    starts = np.arange(horizon)
    ends = np.minimum(starts + weeks, horizon)
    linear = cum_shared[..., ends] - cum_shared[..., starts]
    variance = cum_var[..., ends] - cum_var[..., starts]
    return np.asarray(np.sqrt(linear**2 + variance))


def safety_stock(
    shared: np.ndarray,
    own_variance: np.ndarray,
    *,
    strategy: ReplenishmentStrategy,
    service_level: float,
    lead_time_weeks: int,
) -> np.ndarray:
    """Safety stock per series (shape of the inputs without the last axis), in units.

    With no replenishment: z·σ of the whole season's demand. With replenishment: z·σ over the
    protection period, averaged over the season's weeks (the level the chain holds on average).
    """
    horizon = shared.shape[-1]
    weeks = protection_weeks(strategy, lead_time_weeks, horizon)
    sigma = period_sigma(shared, own_variance, weeks)
    z = service_z(service_level)
    if strategy.review_weeks is None:
        return np.asarray(z * sigma[..., 0])
    return np.asarray(z * sigma.mean(axis=-1))


def explain(
    strategy: ReplenishmentStrategy, service_level: float, weeks: int, horizon: int, share: float
) -> str:
    """The sentence the plan gives for its safety stock."""
    if strategy.review_weeks is None:
        return (
            f"No replenishment: the whole season is bought up front, so safety stock covers the forecast error "
            f"over all {horizon} weeks at a {service_level:.0%} service level — {share:.1%} of forecast demand. "
            "That is the most any strategy needs; the DC holdback is the only way to react."
        )
    return (
        f"{strategy.value.capitalize()} replenishment: stores are restocked every {strategy.review_weeks} "
        f"week{'s' if strategy.review_weeks > 1 else ''}, so safety stock covers only the {weeks} weeks until "
        f"the next shipment arrives (review plus lead time) at a {service_level:.0%} service level — "
        f"{share:.1%} of forecast demand."
    )
