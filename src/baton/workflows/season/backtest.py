"""The backtest: how the method would have done on the last season, against the seasonal-naive baseline.

The window is the planned season's weeks one year earlier when enough history precedes them (60
weeks), otherwise the most recent ``horizon`` weeks of history. The models see the history before the
window and the prices actually charged in it (as a planner re-forecasts with the promotion calendar);
the baseline is last year's same week. A sample of store series is also forecast one by one with the
same method, to show what the top-down split costs or gains against per-series models.
"""

from __future__ import annotations

import math
import time
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel

from baton.workflows.season.events import event_matrix, events_in
from baton.workflows.season.forecasting import SEASON_WEEKS, forecast_series, mase, seasonal_naive, wape
from baton.workflows.season.panel import SalesPanel
from baton.workflows.season.topdown import Level, forecast_top_down

__all__ = ["BacktestReport", "PeakWeek", "SampleComparison", "Score", "run_backtest"]

_MIN_TRAINING = SEASON_WEEKS + 1
_LAST_YEAR_TRAINING = 60
_MIN_WINDOW = 4


class Score(BaseModel):
    """Accuracy of one forecast over the window; ``None`` where it cannot be computed."""

    wape: float | None
    mase: float | None

    @classmethod
    def of(cls, actual: np.ndarray, forecast: np.ndarray, train: np.ndarray) -> Score:
        def clean(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 4)

        return cls(wape=clean(wape(actual, forecast)), mase=clean(mase(actual, forecast, train)))


class SampleComparison(BaseModel):
    """Top-down against per-series forecasts on a sample of store × category series."""

    series: list[str]
    top_down: Score
    per_series: Score
    seasonal_naive: Score
    per_series_seconds: float
    estimated_all_series_seconds: float


class PeakWeek(BaseModel):
    """A category's biggest week of the window: actual units and each forecast's error on it."""

    category: str
    week_start: date
    event: str | None  # the retail event of that week, if any
    actual: int
    forecast: dict[str, int]  # ensemble / seasonal_naive → units
    error: dict[str, float]  # ensemble / seasonal_naive → (forecast − actual) / actual


class BacktestReport(BaseModel):
    """Scores at the forecast level (group totals) and at the store level, ensemble vs baseline.

    ``weekly_wape`` is the WAPE of each category's chain total week by week (a missed peak counts in
    full); ``season_total_wape`` only compares each category's season sum (misses that cancel out hide).
    """

    skipped: str | None = None
    event_aware: bool = True
    window_start: date | None = None
    window_weeks: int = 0
    training_weeks: int = 0
    window_reason: str = ""
    level: str = ""
    groups: dict[str, Score] = {}
    stores: dict[str, Score] = {}
    sample: SampleComparison | None = None
    weekly_wape: dict[str, float | None] = {}
    season_total_wape: dict[str, float | None] = {}
    peaks: list[PeakWeek] = []

    @property
    def worst_peak_error(self) -> dict[str, float]:
        """Per forecast, the largest absolute peak-week error over the categories."""
        names = {name for peak in self.peaks for name in peak.error}
        return {
            name: max(abs(p.error[name]) for p in self.peaks if name in p.error) for name in sorted(names)
        }


def _window(panel: SalesPanel, season_start_index: int, horizon: int) -> tuple[int, int, str] | str:
    length = panel.units.shape[2]
    last_year = season_start_index - SEASON_WEEKS
    if last_year >= _LAST_YEAR_TRAINING and last_year + horizon <= length:
        return last_year, horizon, "the planned season's weeks one year earlier"
    weeks = min(horizon, length - _MIN_TRAINING)
    if weeks < _MIN_WINDOW:
        return (
            f"the history has {length} weeks; a backtest needs {_MIN_TRAINING} weeks of training "
            f"plus at least {_MIN_WINDOW} to test"
        )
    reason = "the most recent weeks of history"
    if weeks < horizon:
        reason += f", shortened from {horizon} weeks so that {_MIN_TRAINING} stay for training"
    elif last_year < length:
        reason += f", as a year-earlier window would leave only {max(last_year, 0)} weeks to train on"
    return length - weeks, weeks, reason


def _sample(panel: SalesPanel, start: int, size: int) -> list[tuple[int, int]]:
    """``size`` store series spread evenly over each category's range of volumes."""
    n_categories = len(panel.categories)
    per_category = max(1, size // n_categories) if size else 0
    picked = []
    for c in range(n_categories):
        volume = panel.units[c, :, :start].sum(axis=1)
        order = np.argsort(volume)
        count = min(per_category, len(order))
        positions = np.linspace(0, len(order) - 1, count).round().astype(int)
        picked += [(c, int(order[p])) for p in positions[:count]]
    return picked[:size] if size else []


def _by_category(panel: SalesPanel, groups: tuple[tuple[int, int], ...], rows: np.ndarray) -> np.ndarray:
    return np.vstack(
        [
            rows[[i for i, (gc, _) in enumerate(groups) if gc == c]].sum(axis=0)
            for c in range(len(panel.categories))
        ]
    )


def _rounded(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def _peaks(
    panel: SalesPanel, start: int, actual: np.ndarray, forecasts: dict[str, np.ndarray]
) -> list[PeakWeek]:
    weeks = [(panel.weeks[0] + pd.Timedelta(weeks=start + w)).date() for w in range(actual.shape[1])]
    labels = dict(events_in(weeks))
    peaks = []
    for c, name in enumerate(panel.categories):
        w = int(np.argmax(actual[c]))
        units = float(actual[c, w])
        if units <= 0:
            continue
        peaks.append(
            PeakWeek(
                category=name,
                week_start=weeks[w],
                event=labels.get(w),
                actual=round(units),
                forecast={model: round(float(f[c, w])) for model, f in forecasts.items()},
                error={model: round(float(f[c, w]) / units - 1, 4) for model, f in forecasts.items()},
            )
        )
    return peaks


def run_backtest(
    panel: SalesPanel,
    season_start_index: int,
    horizon: int,
    *,
    level: Level,
    sample_size: int,
    event_aware: bool = True,
) -> BacktestReport:
    """Backtest the top-down method and, on ``sample_size`` store series, per-series forecasts."""
    chosen = _window(panel, season_start_index, horizon)
    if isinstance(chosen, str):
        return BacktestReport(skipped=chosen, level=level)
    start, weeks, reason = chosen
    window = slice(start, start + weeks)
    train = panel.until(start)
    known_prices = panel.log_price_ratio[:, window]
    result = forecast_top_down(
        train, weeks, level=level, future_log_price_ratio=known_prices, event_aware=event_aware
    )
    group_actual = np.vstack(
        [
            (panel.units[c][panel.clusters == k] if k >= 0 else panel.units[c])[:, window].sum(axis=0)
            for c, k in result.groups
        ]
    )
    g = result.groups_forecast
    groups = {
        "ensemble": Score.of(group_actual, g.mean, result.group_history),
        **{name: Score.of(group_actual, values, result.group_history) for name, values in g.models.items()},
        "seasonal_naive": Score.of(group_actual, g.baseline, result.group_history),
    }
    n_stores = panel.units.shape[1]
    store_actual = panel.units[:, :, window].reshape(-1, weeks)
    store_train = train.units.reshape(len(panel.categories) * n_stores, -1)
    stores = {
        "ensemble_top_down": Score.of(store_actual, result.mean.reshape(-1, weeks), store_train),
        "seasonal_naive": Score.of(store_actual, seasonal_naive(store_train, weeks), store_train),
    }
    sample = None
    picked = _sample(panel, start, sample_size)
    if picked:
        rows = [c * n_stores + s for c, s in picked]
        began = time.perf_counter()
        direct = forecast_series(
            store_train[rows],
            np.vstack([train.log_price_ratio[c] for c, _ in picked]),
            weeks,
            future_log_price_ratio=np.vstack([known_prices[c] for c, _ in picked]),
            event_weeks=(
                event_matrix([panel.weeks[0] + pd.Timedelta(weeks=w) for w in range(start + weeks)])
                if event_aware
                else None
            ),
        )
        seconds = time.perf_counter() - began
        sample = SampleComparison(
            series=[f"{panel.stores[s]}/{panel.categories[c]}" for c, s in picked],
            top_down=Score.of(store_actual[rows], result.mean.reshape(-1, weeks)[rows], store_train[rows]),
            per_series=Score.of(store_actual[rows], direct.mean, store_train[rows]),
            seasonal_naive=Score.of(store_actual[rows], direct.baseline, store_train[rows]),
            per_series_seconds=round(seconds, 2),
            estimated_all_series_seconds=round(seconds / len(rows) * store_actual.shape[0], 1),
        )
    category_actual = _by_category(panel, result.groups, group_actual)
    category_forecasts = {
        "ensemble": _by_category(panel, result.groups, g.mean),
        "seasonal_naive": _by_category(panel, result.groups, g.baseline),
    }
    weekly = {name: _rounded(wape(category_actual, f)) for name, f in category_forecasts.items()}
    totals = {
        name: _rounded(wape(category_actual.sum(axis=1), f.sum(axis=1)))
        for name, f in category_forecasts.items()
    }
    return BacktestReport(
        event_aware=event_aware,
        weekly_wape=weekly,
        season_total_wape=totals,
        peaks=_peaks(panel, start, category_actual, category_forecasts),
        window_start=(panel.weeks[0] + pd.Timedelta(weeks=start)).date(),
        window_weeks=weeks,
        training_weeks=start,
        window_reason=reason,
        level=level,
        groups=groups,
        stores=stores,
        sample=sample,
    )
