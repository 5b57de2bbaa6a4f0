"""Top-down forecasting: forecast where the signal is (group totals), then split to stores.

A group is a category's total over all stores (``level="category"``) or over one cluster of stores
(``level="cluster"``). Store uncertainty has two parts: the group's forecast error, shared by all its
stores and all weeks in proportion to their shares, and the store's own scatter around its share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from baton.workflows.season.disaggregation import seasonal_shares, share_dispersion
from baton.workflows.season.events import event_matrix
from baton.workflows.season.forecasting import SeriesForecast, forecast_series
from baton.workflows.season.panel import SalesPanel

__all__ = ["Level", "TopDownForecast", "forecast_top_down"]

Level = Literal["category", "cluster"]


@dataclass(frozen=True)
class TopDownForecast:
    """Group forecasts and their split to stores; arrays are (categories, stores, weeks ahead)."""

    level: Level
    groups: tuple[tuple[int, int], ...]  # (category index, cluster index) of each forecast row; -1 = all
    groups_forecast: SeriesForecast
    group_history: np.ndarray  # (groups, weeks of history) units
    mean: np.ndarray
    shared_sigma: np.ndarray  # the group error's part of each store's error (fully correlated)
    own_variance: np.ndarray  # the store's own scatter (independent week to week)

    @property
    def sigma(self) -> np.ndarray:
        return np.asarray(np.sqrt(self.shared_sigma**2 + self.own_variance))


def forecast_top_down(
    panel: SalesPanel,
    horizon: int,
    *,
    level: Level,
    end: int | None = None,
    future_log_price_ratio: np.ndarray | None = None,
    event_aware: bool = True,
) -> TopDownForecast:
    """Forecast ``horizon`` weeks after week index ``end`` (default: the end of the history).

    ``future_log_price_ratio`` is (categories, horizon) of known prices; regular price when ``None``.
    ``event_aware`` adds the retail calendar's events (:mod:`.events`) to the group forecasts.
    """
    end = panel.units.shape[2] if end is None else end
    event_weeks = None
    if event_aware:
        starts = [panel.weeks[0] + pd.Timedelta(weeks=w) for w in range(end + horizon)]
        event_weeks = event_matrix(starts)
    units = panel.units[:, :, :end]
    n_categories, n_stores, _ = units.shape
    if level == "cluster":
        groups = tuple((c, k) for c in range(n_categories) for k in range(len(panel.cluster_names)))
    else:
        groups = tuple((c, -1) for c in range(n_categories))
    members = [panel.clusters == k if k >= 0 else np.ones(n_stores, dtype=bool) for _, k in groups]
    group_history = np.vstack(
        [units[c][member].sum(axis=0) for (c, _), member in zip(groups, members, strict=True)]
    )
    price = np.vstack([panel.log_price_ratio[c, :end] for c, _ in groups])
    future = None
    if future_log_price_ratio is not None:
        future = np.vstack([future_log_price_ratio[c] for c, _ in groups])
    result = forecast_series(
        group_history, price, horizon, future_log_price_ratio=future, event_weeks=event_weeks
    )
    targets = np.arange(end, end + horizon)
    mean = np.zeros((n_categories, n_stores, horizon))
    shared = np.zeros_like(mean)
    own = np.zeros_like(mean)
    for g, ((c, _), member) in enumerate(zip(groups, members, strict=True)):
        shares = seasonal_shares(units[c][member], targets)
        dispersion = share_dispersion(units[c][member])
        mean[c][member] = shares * result.mean[g]
        shared[c][member] = shares * result.sigma[g]
        own[c][member] = dispersion[:, None] * mean[c][member]
    return TopDownForecast(
        level=level,
        groups=groups,
        groups_forecast=result,
        group_history=group_history,
        mean=mean,
        shared_sigma=shared,
        own_variance=own,
    )
