"""The demand agent: weekly units per category and store for the season, with intervals and safety stock."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel

from baton.workflows.season.backtest import BacktestReport, run_backtest
from baton.workflows.season.events import events_in
from baton.workflows.season.forecasting import ENSEMBLE_MODELS, INTERVAL_LEVELS, SEASON_WEEKS, SeriesForecast
from baton.workflows.season.panel import SalesPanel, build_panel
from baton.workflows.season.parameters import SeasonParameters
from baton.workflows.season.policy import PlanningPolicy
from baton.workflows.season.safety_stock import (
    SafetyStockSummary,
    explain,
    protection_weeks,
    safety_stock,
    service_z,
)
from baton.workflows.season.topdown import forecast_top_down

__all__ = [
    "CategoryDemand",
    "DemandContext",
    "DemandForecast",
    "DemandSummary",
    "SeasonEvent",
    "forecast_demand",
]

_DEFAULT_ELASTICITY = 2.0
_ELASTICITY_LIMITS = (0.5, 4.0)
PRODUCED_BY = "statsforecast:" + "+".join(ENSEMBLE_MODELS) + ", with retail-calendar events"


@dataclass(frozen=True)
class DemandContext:
    """What the demand agent is given: the parameters, the validated history and stores, the policy."""

    parameters: SeasonParameters
    history: pd.DataFrame
    stores: pd.DataFrame
    policy: PlanningPolicy


class CategoryDemand(BaseModel):
    """A category's season in numbers."""

    category: str
    season_units: int
    lower_80: int
    upper_80: int
    baseline_units: int
    last_year_units: int | None
    safety_stock_units: int
    regular_price: float
    elasticity: float
    elasticity_estimated: bool


class SeasonEvent(BaseModel):
    """A retail event week inside the season, and the chain's forecast for it."""

    season_week: int
    week_start: date
    event: str
    forecast_units: int
    uplift: float  # the forecast against the season's average week, e.g. 1.6 = 60% above


class DemandSummary(BaseModel):
    """The demand agent's checkpointable result (the tables are written next to it)."""

    produced_by: str = PRODUCED_BY
    level: str
    groups: list[str]
    history_weeks: int
    history_start: date
    history_end: date
    gap_weeks: int
    categories: list[CategoryDemand]
    safety_stock: SafetyStockSummary
    backtest: BacktestReport
    events: list[SeasonEvent] = []
    notes: list[str] = []


@dataclass(frozen=True)
class DemandForecast:
    """The result with its tables: store forecasts, group forecasts, per-store totals, history by category."""

    summary: DemandSummary
    stores: pd.DataFrame  # season_week, week_start, category, store_id, forecast, lo/hi, sigma parts
    groups: pd.DataFrame  # season_week, week_start, category, group, ensemble, models, baseline, lo/hi
    store_totals: pd.DataFrame  # category, store_id, season_forecast, safety_stock
    history: pd.DataFrame  # week, category, units (chain totals)


def _elasticity(values: list[float]) -> tuple[float, bool]:
    usable = [v for v in values if not math.isnan(v)]
    if not usable:
        return _DEFAULT_ELASTICITY, False
    return float(np.clip(np.mean(usable), *_ELASTICITY_LIMITS)), True


def _season_start_index(panel: SalesPanel, start: date) -> int:
    return panel.index_of(pd.Timestamp(start))


def forecast_demand(context: DemandContext) -> DemandForecast:
    """Forecast the season top-down (see :mod:`.topdown`), backtest it, and size safety stock."""
    params, policy = context.parameters, context.policy
    panel = build_panel(
        context.history,
        context.stores,
        cluster_by=policy.cluster_by if policy.forecast_level == "cluster" else None,
    )
    horizon = params.forecast_horizon_weeks
    length = panel.units.shape[2]
    start_index = _season_start_index(panel, params.season_start_date)
    gap = start_index - length
    result = forecast_top_down(panel, gap + horizon, level=policy.forecast_level)
    season = slice(gap, gap + horizon)
    mean = result.mean[:, :, season]
    shared, own = result.shared_sigma[:, :, season], result.own_variance[:, :, season]
    sigma = np.sqrt(shared**2 + own)
    stock = safety_stock(
        shared,
        own,
        strategy=params.replenishment_strategy,
        service_level=policy.service_level,
        lead_time_weeks=policy.lead_time_weeks,
    )
    backtest = run_backtest(
        panel, start_index, horizon, level=policy.forecast_level, sample_size=policy.backtest_sample
    )
    week_starts = [params.week_start(w) for w in range(1, horizon + 1)]
    chain = mean.sum(axis=(0, 1))
    events = [
        SeasonEvent(
            season_week=w + 1,
            week_start=week_starts[w],
            event=label,
            forecast_units=round(float(chain[w])),
            uplift=round(float(chain[w] / max(chain.mean(), 1e-9)), 2),
        )
        for w, label in events_in(week_starts)
    ]
    stores_table = _store_table(panel, mean, sigma, shared, own, week_starts)
    totals = pd.DataFrame(
        {
            "category": np.repeat(panel.categories, len(panel.stores)),
            "store_id": np.tile(panel.stores, len(panel.categories)),
            "season_forecast": mean.sum(axis=2).ravel().round(1),
            "safety_stock": stock.ravel().round(1),
        }
    )
    categories = []
    g = result.groups_forecast
    for c, name in enumerate(panel.categories):
        rows = [i for i, (gc, _) in enumerate(result.groups) if gc == c]
        elasticity, estimated = _elasticity([g.profiles[i].elasticity for i in rows])
        last_year = start_index - SEASON_WEEKS
        ly_units = (
            int(panel.units[c, :, last_year : last_year + horizon].sum())
            if last_year >= 0 and last_year + horizon <= length
            else None
        )
        categories.append(
            CategoryDemand(
                category=name,
                season_units=round(mean[c].sum()),
                lower_80=round(g.lower[80][rows][:, season].sum()),
                upper_80=round(g.upper[80][rows][:, season].sum()),
                baseline_units=round(g.baseline[rows][:, season].sum()),
                last_year_units=ly_units,
                safety_stock_units=round(stock[c].sum()),
                regular_price=round(float(panel.regular_price[c, -1]), 2),
                elasticity=round(elasticity, 3),
                elasticity_estimated=estimated,
            )
        )
    weeks = protection_weeks(params.replenishment_strategy, policy.lead_time_weeks, horizon)
    share = float(stock.sum() / max(mean.sum(), 1.0))
    group_names = [
        name + ("" if k < 0 else f" / {panel.cluster_names[k]}")
        for name, k in ((panel.categories[c], k) for c, k in result.groups)
    ]
    notes = []
    if gap > 0:
        notes.append(
            f"the history ends {gap} week(s) before the season starts; those weeks were forecast too"
        )
    if panel.filled_rows:
        notes.append(
            f"{panel.filled_rows} store/category/week rows absent from the history were taken as 0 units"
        )
    summary = DemandSummary(
        level=policy.forecast_level,
        groups=group_names,
        history_weeks=length,
        history_start=panel.weeks[0].date(),
        history_end=panel.weeks[-1].date(),
        gap_weeks=gap,
        categories=categories,
        safety_stock=SafetyStockSummary(
            strategy=params.replenishment_strategy,
            service_level=policy.service_level,
            protection_weeks=weeks,
            units_by_category={c.category: c.safety_stock_units for c in categories},
            share_of_forecast={
                c.category: round(c.safety_stock_units / max(c.season_units, 1), 4) for c in categories
            },
            reason=explain(params.replenishment_strategy, policy.service_level, weeks, horizon, share),
        ),
        backtest=backtest,
        events=events,
        notes=notes,
    )
    return DemandForecast(
        summary=summary,
        stores=stores_table,
        groups=_group_table(group_names, g, season, week_starts),
        store_totals=totals,
        history=_history_table(panel),
    )


def _store_table(
    panel: SalesPanel,
    mean: np.ndarray,
    sigma: np.ndarray,
    shared: np.ndarray,
    own: np.ndarray,
    week_starts: list[date],
) -> pd.DataFrame:
    n_categories, n_stores, horizon = mean.shape
    frame = pd.DataFrame(
        {
            "season_week": np.tile(np.arange(1, horizon + 1), n_categories * n_stores),
            "week_start": np.tile(np.array(week_starts, dtype=object), n_categories * n_stores),
            "category": np.repeat(panel.categories, n_stores * horizon),
            "store_id": np.tile(np.repeat(panel.stores, horizon), n_categories),
            "forecast": mean.ravel().round(2),
        }
    )
    for level in INTERVAL_LEVELS:
        z = service_z(0.5 + level / 200)
        frame[f"lo_{level}"] = np.maximum(mean - z * sigma, 0).ravel().round(2)
        frame[f"hi_{level}"] = (mean + z * sigma).ravel().round(2)
    frame["sigma_shared"] = shared.ravel().round(3)
    frame["variance_own"] = own.ravel().round(3)
    return frame


def _group_table(names: list[str], g: SeriesForecast, season: slice, week_starts: list[date]) -> pd.DataFrame:
    frames = []
    for i, name in enumerate(names):
        frame = pd.DataFrame(
            {
                "season_week": np.arange(1, len(week_starts) + 1),
                "week_start": week_starts,
                "group": name,
                "ensemble": g.mean[i, season].round(1),
                **{model: values[i, season].round(1) for model, values in g.models.items()},
                "seasonal_naive": g.baseline[i, season].round(1),
            }
        )
        for level in INTERVAL_LEVELS:
            frame[f"lo_{level}"] = g.lower[level][i, season].round(1)
            frame[f"hi_{level}"] = g.upper[level][i, season].round(1)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _history_table(panel: SalesPanel) -> pd.DataFrame:
    totals = panel.units.sum(axis=1)
    return pd.DataFrame(
        {
            "week": np.tile(panel.weeks.date, len(panel.categories)),
            "category": np.repeat(panel.categories, len(panel.weeks)),
            "units": totals.ravel(),
        }
    )
