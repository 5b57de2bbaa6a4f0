"""From a group's forecast to its stores': stable seasonal shares, as planners split a total.

A store's share of its group in a future week is its share in the same weeks of past years (a window
of ±2 weeks around each, so one odd week does not decide it), corrected by how the store's share has
moved over the last quarter against the same quarter a year earlier (a growing store keeps growing,
within limits). The error this split adds — a store's units scatter around its share of the actual
total — is measured on the last year of history as a quasi-Poisson dispersion per store.
"""

from __future__ import annotations

import numpy as np

from baton.workflows.season.forecasting import SEASON_WEEKS

__all__ = ["seasonal_shares", "share_dispersion"]

_WINDOW = 2
_TREND_WEEKS = 13
_TREND_LIMITS = (0.67, 1.5)


def _window_share(units: np.ndarray, centres: list[int]) -> np.ndarray:
    length = units.shape[1]
    picked = sorted({w for c in centres for w in range(c - _WINDOW, c + _WINDOW + 1) if 0 <= w < length})
    if not picked:
        return np.full(units.shape[0], np.nan)
    store_totals = units[:, picked].sum(axis=1)
    total = store_totals.sum()
    return np.asarray(store_totals / total) if total > 0 else np.full(units.shape[0], np.nan)


def _trend_ratio(units: np.ndarray, end: int) -> np.ndarray:
    """Recent share over the same weeks' share a year earlier, clipped; 1 where unknown."""
    if end - _TREND_WEEKS - SEASON_WEEKS < 0:
        return np.ones(units.shape[0])
    recent = units[:, end - _TREND_WEEKS : end].sum(axis=1)
    before = units[:, end - _TREND_WEEKS - SEASON_WEEKS : end - SEASON_WEEKS].sum(axis=1)
    if recent.sum() <= 0 or before.sum() <= 0:
        return np.ones(units.shape[0])
    ratio = np.divide(
        recent / recent.sum(), before / before.sum(), out=np.ones(units.shape[0]), where=before > 0
    )
    return np.asarray(np.clip(ratio, *_TREND_LIMITS))


def seasonal_shares(units: np.ndarray, targets: np.ndarray, *, end: int | None = None) -> np.ndarray:
    """Shares (stores × targets, each column summing to 1) of a group's stores in the weeks ``targets``.

    ``units`` is (stores, weeks) of history; ``targets`` absolute week indices at or after ``end``
    (default: the end of ``units``), which may be more than a year ahead.
    """
    end = units.shape[1] if end is None else end
    history = units[:, :end]
    n_stores = history.shape[0]
    overall = history[:, max(0, end - SEASON_WEEKS) :].sum(axis=1)
    fallback = overall / overall.sum() if overall.sum() > 0 else np.full(n_stores, 1 / n_stores)
    trend = _trend_ratio(history, end)
    shares = np.empty((n_stores, len(targets)))
    for j, target in enumerate(targets):
        years_back = range(1, int((target - 0) // SEASON_WEEKS) + 1)
        centres = [int(target - SEASON_WEEKS * k) for k in years_back if 0 <= target - SEASON_WEEKS * k < end]
        share = _window_share(history, centres)
        share = np.where(np.isnan(share), fallback, share) * trend
        total = share.sum()
        shares[:, j] = share / total if total > 0 else fallback
    return shares


def share_dispersion(units: np.ndarray) -> np.ndarray:
    """Per store, Σ(actual − predicted)² / Σ predicted over the last year, where predicted is the store's
    seasonal share (from the years before) times the actual group total: the variance a split adds per unit."""
    length = units.shape[1]
    if length < SEASON_WEEKS + 2 * _WINDOW + 1:
        return np.ones(units.shape[0])
    start = max(SEASON_WEEKS, length - SEASON_WEEKS)
    targets = np.arange(start, length)
    predicted = np.empty((units.shape[0], len(targets)))
    for j, target in enumerate(targets):
        share = _window_share(units[:, :target], [int(target - SEASON_WEEKS)])
        predicted[:, j] = (np.nan_to_num(share, nan=1 / units.shape[0])) * units[:, target].sum()
    residual = units[:, targets] - predicted
    denominator = predicted.sum(axis=1)
    dispersion = np.divide(
        (residual**2).sum(axis=1), denominator, out=np.ones(units.shape[0]), where=denominator > 0
    )
    return np.asarray(np.maximum(dispersion, 1.0))
