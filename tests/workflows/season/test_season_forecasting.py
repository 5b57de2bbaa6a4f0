"""The statistical pieces: seasonal profile, seasonal naive, metrics, shares and safety stock."""

from __future__ import annotations

import numpy as np
import pytest

from baton.workflows.season.disaggregation import seasonal_shares, share_dispersion
from baton.workflows.season.forecasting import fit_profile, forecast_series, mase, seasonal_naive, wape
from baton.workflows.season.parameters import ReplenishmentStrategy
from baton.workflows.season.safety_stock import period_sigma, protection_weeks, safety_stock


def _series(weeks: int = 104, elasticity: float = 2.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    promo = np.zeros(weeks)
    promo[rng.choice(weeks, 10, replace=False)] = np.log(0.75)
    log_units = 6 + 0.1 * t / 52 + 0.6 * np.sin(2 * np.pi * t / (365.25 / 7)) - elasticity * promo
    return np.exp(log_units + rng.normal(0, 0.03, weeks)), promo


def test_profile_recovers_the_price_elasticity_and_the_yearly_shape() -> None:
    y, promo = _series(elasticity=1.7)
    profile = fit_profile(y, promo)
    assert profile.elasticity == pytest.approx(1.7, abs=0.15)
    t = np.arange(104)
    truth = 0.6 * np.sin(2 * np.pi * t / (365.25 / 7))
    assert np.max(np.abs(profile.seasonal(t) - truth)) < 0.08


def test_ensemble_beats_seasonal_naive_on_a_trending_seasonal_series() -> None:
    y, promo = _series(weeks=116, seed=3)
    train, test = y[None, :104], y[104:]
    result = forecast_series(train, promo[None, :104], 12, future_log_price_ratio=promo[None, 104:])
    assert set(result.models) == {"AutoETS", "AutoARIMA", "AutoTheta"}
    assert result.mean.shape == (1, 12)
    assert np.all(result.lower[95] <= result.lower[80]) and np.all(result.lower[80] <= result.mean)
    assert np.all(result.mean <= result.upper[80]) and np.all(result.upper[80] <= result.upper[95])
    assert wape(test, result.mean[0]) < wape(test, result.baseline[0])


def test_seasonal_naive_takes_the_same_week_last_year_and_two_years_back_beyond() -> None:
    y = np.arange(104, dtype=float)[None, :]
    assert seasonal_naive(y, 3)[0].tolist() == [52.0, 53.0, 54.0]
    assert seasonal_naive(y, 54)[0, 52:].tolist() == [52.0, 53.0]


def test_wape_and_mase() -> None:
    actual = np.array([[10.0, 20.0, 30.0]])
    assert wape(actual, actual) == 0.0
    assert wape(actual, np.array([[12.0, 18.0, 30.0]])) == pytest.approx(4 / 60)
    train = np.arange(60.0)[None, :]  # the in-sample seasonal-naive error is always 52
    assert mase(actual, actual + 1.0, train) == pytest.approx(1 / 52)


def test_shares_follow_each_stores_season_and_sum_to_one() -> None:
    weeks = np.arange(104)
    summer = 1 + 0.8 * np.sin(2 * np.pi * weeks / 52)
    units = np.vstack([100 * summer, 100 * (2 - summer), np.full(104, 100.0)])
    shares = seasonal_shares(units, np.array([104 + 13, 104 + 39]))
    assert shares.sum(axis=0) == pytest.approx([1.0, 1.0])
    assert shares[0, 0] > shares[1, 0]  # the summer store leads in its season …
    assert shares[1, 1] > shares[0, 1]  # … and the winter store in its own


def test_a_growing_store_keeps_a_larger_share() -> None:
    flat = np.full(104, 100.0)
    growing = np.linspace(50, 150, 104)
    shares = seasonal_shares(np.vstack([flat, growing]), np.array([110]))
    last_year_share = growing[58] / (growing[58] + 100)
    assert shares[1, 0] > last_year_share


def test_share_dispersion_is_larger_for_a_noisier_store() -> None:
    rng = np.random.default_rng(1)
    calm = rng.poisson(100, (5, 104)).astype(float)
    noisy = 100 * rng.lognormal(0, 0.5, (1, 104))
    dispersion = share_dispersion(np.vstack([calm, noisy]))
    assert dispersion[-1] > 3 * dispersion[:-1].max()
    assert (dispersion >= 1.0).all()


def test_protection_period_follows_the_replenishment_strategy() -> None:
    assert protection_weeks(ReplenishmentStrategy.NONE, 1, 26) == 26
    assert protection_weeks(ReplenishmentStrategy.WEEKLY, 1, 26) == 2
    assert protection_weeks(ReplenishmentStrategy.BI_WEEKLY, 1, 26) == 3


def test_shared_error_adds_up_linearly_and_own_scatter_in_quadrature() -> None:
    shared = np.full((1, 4), 3.0)
    own = np.full((1, 4), 4.0)
    sigma = period_sigma(shared, own, 4)
    assert sigma[0, 0] == pytest.approx(np.sqrt(12.0**2 + 16.0))
    assert sigma[0, -1] == pytest.approx(np.sqrt(3.0**2 + 4.0))  # cut at the horizon


def test_safety_stock_is_highest_without_replenishment() -> None:
    shared, own = np.full((2, 12), 5.0), np.full((2, 12), 30.0)
    stock = {
        s: safety_stock(shared, own, strategy=s, service_level=0.9, lead_time_weeks=1).sum()
        for s in ReplenishmentStrategy
    }
    assert (
        stock[ReplenishmentStrategy.NONE]
        > stock[ReplenishmentStrategy.BI_WEEKLY]
        > stock[ReplenishmentStrategy.WEEKLY]
    )
