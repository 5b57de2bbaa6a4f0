"""Forecasting weekly series with yearly seasonality: a seasonal profile, then an ensemble of models.

statsforecast's AutoETS refuses season lengths over 24 and AutoARIMA finds no 52-week terms in two years
of data, so the yearly shape is modelled first, as a log-linear regression with Fourier terms, a trend
and a promotion term (log of price over regular price, whose coefficient is the price elasticity); the
number of harmonics is chosen by AICc. AutoETS, AutoARIMA and AutoTheta (non-seasonal) then forecast what
remains — level, trend and their uncertainty — and the seasonal profile is put back. The ensemble is the
mean of the three in log space, its intervals the mean of their bounds. The seasonal-naive forecast (same week
last year) is the baseline every result is measured against.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "ENSEMBLE_MODELS",
    "INTERVAL_LEVELS",
    "SEASON_WEEKS",
    "SeasonalProfile",
    "SeriesForecast",
    "fit_profile",
    "forecast_series",
    "mase",
    "seasonal_naive",
    "wape",
]

SEASON_WEEKS = 52
_YEAR = 365.25 / 7  # weeks in a year: Fourier terms use the true period so the shape does not drift
INTERVAL_LEVELS = (80, 95)
ENSEMBLE_MODELS = ("AutoETS", "AutoARIMA", "AutoTheta")
_HARMONICS = (1, 2, 3, 4, 5, 6, 8, 10, 12)
_FLOOR = 0.5  # units: log of an empty week
_Z80 = 1.2815515655446004


@dataclass(frozen=True)
class SeasonalProfile:
    """``log(units) = intercept + trend·t/52 − elasticity·log(price ratio) + Σ Fourier terms
    + Σ event effects + rest``; ``events`` holds one log-uplift per event of the calendar (0 for an
    event the history never saw)."""

    harmonics: int
    intercept: float
    trend: float
    elasticity: float
    fourier: np.ndarray
    events: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def event_part(self, event_weeks: np.ndarray | None) -> np.ndarray:
        """The events' part (log scale) at the weeks of ``event_weeks`` (events × weeks); 0 without events."""
        if event_weeks is None:
            return np.zeros(())
        if not len(self.events):
            return np.zeros(event_weeks.shape[1])
        return np.asarray(self.events @ event_weeks)

    def seasonal(self, t: np.ndarray) -> np.ndarray:
        """The seasonal component (log scale, mean zero over a year) at week indices ``t``."""
        return np.asarray(_fourier(t, self.harmonics) @ self.fourier)


def _fourier(t: np.ndarray, harmonics: int) -> np.ndarray:
    angles = 2 * np.pi * np.outer(t, np.arange(1, harmonics + 1)) / _YEAR
    return np.hstack([np.sin(angles), np.cos(angles)])


def fit_profile(
    y: np.ndarray, log_price_ratio: np.ndarray, event_weeks: np.ndarray | None = None
) -> SeasonalProfile:
    """Fit the seasonal profile of one series, choosing the number of harmonics by AICc.

    ``event_weeks`` (events × weeks of ``y``), when given, adds one log-uplift per event the history
    holds, on top of the price effect (an event week's own price cut counts through the elasticity).
    """
    t = np.arange(len(y), dtype=float)
    log_y = np.log(np.maximum(y, _FLOOR))
    n_events = 0 if event_weeks is None else event_weeks.shape[0]
    seen = np.zeros(n_events, dtype=bool)
    if event_weeks is not None:
        seen = event_weeks.sum(axis=1) > 0
    has_promotions = bool(np.ptp(log_price_ratio) > 1e-6)
    best: tuple[float, SeasonalProfile] | None = None
    for harmonics in _HARMONICS:
        columns = [np.ones_like(t), t / SEASON_WEEKS]
        if has_promotions:
            columns.append(log_price_ratio)
        if event_weeks is not None:
            columns += list(event_weeks[seen])
        design = np.column_stack([*columns, _fourier(t, harmonics)])
        k = design.shape[1]
        if len(y) - k - 1 < 8:
            break
        beta, *_ = np.linalg.lstsq(design, log_y, rcond=None)
        rss = float(np.sum((log_y - design @ beta) ** 2)) + 1e-12
        n = len(y)
        aicc = n * np.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
        lead = 3 if has_promotions else 2
        effects = np.zeros(n_events)
        effects[seen] = beta[lead : lead + int(seen.sum())]
        profile = SeasonalProfile(
            harmonics=harmonics,
            intercept=float(beta[0]),
            trend=float(beta[1]),
            elasticity=float(-beta[2]) if has_promotions else float("nan"),
            fourier=beta[lead + int(seen.sum()) :],
            events=effects,
        )
        if best is None or aicc < best[0]:
            best = (aicc, profile)
    if best is None:
        return SeasonalProfile(0, float(np.mean(log_y)), 0.0, float("nan"), np.zeros(0))
    return best[1]


@dataclass(frozen=True)
class SeriesForecast:
    """Forecasts of N series for H weeks: the ensemble, each model, intervals and the baseline."""

    mean: np.ndarray  # (N, H) ensemble
    models: dict[str, np.ndarray]  # model name → (N, H)
    lower: dict[int, np.ndarray]  # level → (N, H)
    upper: dict[int, np.ndarray]
    log_sigma: np.ndarray  # (N, H) standard deviation of the ensemble on the log scale
    baseline: np.ndarray  # (N, H) seasonal naive
    profiles: tuple[SeasonalProfile, ...]

    @property
    def sigma(self) -> np.ndarray:
        """Approximate standard deviation in units (delta method)."""
        return np.asarray(self.mean * self.log_sigma)


def seasonal_naive(y: np.ndarray, horizon: int) -> np.ndarray:
    """Same week last year (two years back beyond a year ahead); ``y`` is (N, T) with T ≥ 52."""
    steps = np.arange(1, horizon + 1)
    back = SEASON_WEEKS * np.ceil(steps / SEASON_WEEKS).astype(int)
    return np.asarray(y[:, y.shape[1] + steps - 1 - back])


def forecast_series(
    y: np.ndarray,
    log_price_ratio: np.ndarray,
    horizon: int,
    *,
    future_log_price_ratio: np.ndarray | None = None,
    event_weeks: np.ndarray | None = None,
) -> SeriesForecast:
    """Forecast each row of ``y`` (N × T weekly units) ``horizon`` weeks ahead; see the module docstring.

    ``future_log_price_ratio`` (N × horizon) gives the prices of the forecast weeks; regular price if
    ``None`` — the plan's forecasts are demand at full price and the pricing agent prices markdowns.
    ``event_weeks`` (events × (T + horizon), see :mod:`.events`) makes the forecast event-aware: each
    event's uplift is learned from the history's event weeks and put back on the future ones; without
    ``future_log_price_ratio`` an event week is priced as its event usually was (the promotion recurs).
    """
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    n_series, length = y.shape
    past_events = None if event_weeks is None else event_weeks[:, :length]
    future_events = None if event_weeks is None else event_weeks[:, length : length + horizon]
    profiles = tuple(fit_profile(y[i], log_price_ratio[i], past_events) for i in range(n_series))
    t = np.arange(length, dtype=float)
    future_t = np.arange(length, length + horizon, dtype=float)
    future_price = np.zeros((n_series, horizon)) if future_log_price_ratio is None else future_log_price_ratio
    if past_events is not None and future_events is not None and future_log_price_ratio is None:
        future_price = _usual_event_prices(log_price_ratio, past_events, future_events)
    frames, put_back = [], np.zeros((n_series, horizon))
    for i, profile in enumerate(profiles):
        promo = 0.0 if np.isnan(profile.elasticity) else -profile.elasticity
        adjusted = (
            np.log(np.maximum(y[i], _FLOOR))
            - profile.seasonal(t)
            - promo * log_price_ratio[i]
            - profile.event_part(past_events)
        )
        put_back[i] = profile.seasonal(future_t) + promo * future_price[i] + profile.event_part(future_events)
        frames.append(pd.DataFrame({"unique_id": i, "ds": np.arange(length), "y": adjusted}))
    models = [
        AutoETS(season_length=1, model="ZZN"),
        # what is left after the seasonal profile needs low orders: capped at (1,1,1) the search is
        # three times faster and measured as accurate as the full one
        AutoARIMA(season_length=1, max_p=1, max_q=1, max_d=1),
        AutoTheta(season_length=1),
    ]
    engine = StatsForecast(models=models, freq=1, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = engine.forecast(
            df=pd.concat(frames, ignore_index=True), h=horizon, level=list(INTERVAL_LEVELS)
        )
    result = result.sort_values(["unique_id", "ds"])

    def grid(column: str) -> np.ndarray:
        return np.asarray(result[column].to_numpy(dtype=float).reshape(n_series, horizon))

    log_models = {name: grid(name) for name in ENSEMBLE_MODELS}
    log_mean = np.mean(list(log_models.values()), axis=0)
    lower = {
        lv: np.exp(np.mean([grid(f"{m}-lo-{lv}") for m in ENSEMBLE_MODELS], axis=0) + put_back)
        for lv in INTERVAL_LEVELS
    }
    upper = {
        lv: np.exp(np.mean([grid(f"{m}-hi-{lv}") for m in ENSEMBLE_MODELS], axis=0) + put_back)
        for lv in INTERVAL_LEVELS
    }
    widths = np.mean([grid(f"{m}-hi-80") - grid(f"{m}-lo-80") for m in ENSEMBLE_MODELS], axis=0)
    return SeriesForecast(
        mean=np.exp(log_mean + put_back),
        models={name: np.exp(values + put_back) for name, values in log_models.items()},
        lower=lower,
        upper=upper,
        log_sigma=np.maximum(widths / (2 * _Z80), 0.0),
        baseline=seasonal_naive(y, horizon),
        profiles=profiles,
    )


def _usual_event_prices(
    log_price_ratio: np.ndarray, past_events: np.ndarray, future_events: np.ndarray
) -> np.ndarray:
    """Future prices when none are given: regular, except in event weeks, which get the price their event
    usually had (a Black Friday promotion recurs); (N, horizon)."""
    future = np.zeros((log_price_ratio.shape[0], future_events.shape[1]))
    for e in range(future_events.shape[0]):
        seen = past_events[e] > 0
        if not seen.any():
            continue
        usual = log_price_ratio[:, seen].mean(axis=1)
        weeks = future_events[e] > 0
        future[:, weeks] = np.minimum(future[:, weeks], usual[:, None])
    return future


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error: Σ|actual − forecast| / Σ actual, over all cells."""
    total = float(np.sum(actual))
    return float(np.sum(np.abs(actual - forecast)) / total) if total > 0 else float("nan")


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, season: int = SEASON_WEEKS) -> float:
    """Mean absolute scaled error, averaged over series: each series' MAE over its in-sample seasonal-naive MAE.

    ``actual``/``forecast`` are (N, H), ``train`` (N, T); series whose scale is 0 are left out.
    """
    scale = (
        np.mean(np.abs(train[:, season:] - train[:, :-season]), axis=1)
        if train.shape[1] > season
        else (np.mean(np.abs(np.diff(train, axis=1)), axis=1))
    )
    errors = np.mean(np.abs(actual - forecast), axis=1)
    usable = scale > 0
    return float(np.mean(errors[usable] / scale[usable])) if usable.any() else float("nan")
