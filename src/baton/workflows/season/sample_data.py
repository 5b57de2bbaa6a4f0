"""A realistic, seeded sample of a retailer's sales history and store list.

Weekly units per store and category are built as planners see them: a store's scale (size, traffic,
format), a category's yearly seasonality that depends on the store's climate, a chain trend plus a
per-store trend, chain-wide promotions (price cuts that lift units with a price elasticity), the retail
calendar's peaks placed by a holiday calendar so they move with the year (the Black Friday promotion week,
the two weeks before Christmas, Easter, back-to-school; see :mod:`.events`), and multiplicative plus
count noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from baton.core.errors import InvalidInputError
from baton.workflows.season.artifacts import prepare_output_folder
from baton.workflows.season.events import EVENTS, event_matrix

__all__ = ["DEFAULT_LAST_WEEK", "SampleSpec", "make_sample_data", "write_sample_data"]

DEFAULT_LAST_WEEK = date(2026, 2, 23)
"""The Monday of the last week of sample history: the week before the example seasons start (2026-03-02)."""

CLIMATES = ("cold", "temperate", "warm")
REGIONS = ("north", "south", "east", "west")
FORMATS = ("street", "mall", "outlet", "flagship")


@dataclass(frozen=True)
class _Category:
    name: str
    base_units: float  # weekly units of an average store at full price, off-season
    price: float  # regular price at the start of the history
    peak_week: int  # week of year (1-52) where the seasonal curve peaks, temperate climate
    amplitude: float  # log-amplitude of the yearly curve
    elasticity: float  # units lift = (price / regular price) ** -elasticity
    climate_shift: dict[str, tuple[int, float]]  # climate → (peak shift in weeks, amplitude factor)


CATEGORIES = (
    _Category(
        "outerwear", 30.0, 120.0, 48, 0.9, 1.8, {"cold": (-2, 1.3), "temperate": (0, 1.0), "warm": (2, 0.5)}
    ),
    _Category(
        "swimwear", 14.0, 45.0, 27, 1.1, 2.2, {"cold": (1, 1.2), "temperate": (0, 1.0), "warm": (-3, 0.7)}
    ),
    _Category(
        "basics", 55.0, 20.0, 50, 0.35, 1.5, {"cold": (0, 1.0), "temperate": (0, 1.0), "warm": (0, 1.0)}
    ),
)


@dataclass(frozen=True)
class SampleSpec:
    stores: int = 50
    weeks: int = 104
    seed: int = 7
    last_week: date = DEFAULT_LAST_WEEK


def _stores(spec: SampleSpec, rng: np.random.Generator) -> pd.DataFrame:
    n = spec.stores
    formats = rng.choice(FORMATS, size=n, p=[0.4, 0.35, 0.15, 0.1])
    size = np.round(rng.lognormal(mean=np.log(900), sigma=0.45, size=n))
    size = np.where(formats == "flagship", size * 2.2, size)
    traffic = np.round(rng.lognormal(mean=np.log(12_000), sigma=0.4, size=n) * (size / 900) ** 0.3)
    return pd.DataFrame(
        {
            "store_id": [f"S{i + 1:03d}" for i in range(n)],
            "size": size.astype(int),
            "region": rng.choice(REGIONS, size=n),
            "climate": rng.choice(CLIMATES, size=n, p=[0.3, 0.45, 0.25]),
            "traffic": traffic.astype(int),
            "format": formats,
            "opening_year": rng.integers(1995, 2024, size=n),
        }
    )


def _seasonal_curve(weeks_of_year: np.ndarray, peak: np.ndarray, amplitude: np.ndarray) -> np.ndarray:
    """A smooth yearly curve in log space, sharper than a sine: the way fashion seasons peak."""
    angle = 2 * np.pi * (weeks_of_year - peak) / 52.0
    return np.asarray(amplitude * (np.exp(np.cos(angle)) - np.i0(1.0)) / (np.e - np.i0(1.0)))


# the retail calendar's uplift of units per category and event (on top of any price cut), see .events
EVENT_LIFT: dict[str, dict[str, float]] = {
    "outerwear": {"black_friday": 1.35, "pre_christmas": 1.6, "easter": 1.0, "back_to_school": 1.15},
    "swimwear": {"black_friday": 1.2, "pre_christmas": 1.25, "easter": 1.4, "back_to_school": 0.9},
    "basics": {"black_friday": 1.3, "pre_christmas": 1.5, "easter": 1.2, "back_to_school": 1.6},
}
_BLACK_FRIDAY_DEPTH = 0.3


def _event_lift(week_starts: pd.DatetimeIndex) -> np.ndarray:
    """(categories, weeks) multiplier of units from the retail calendar's events."""
    matrix = event_matrix(week_starts)
    lift = np.ones((len(CATEGORIES), len(week_starts)))
    for c, cat in enumerate(CATEGORIES):
        for e, event in enumerate(EVENTS):
            lift[c] *= np.where(matrix[e] > 0, EVENT_LIFT[cat.name][event.name], 1.0)
    return lift


def _promotions(week_starts: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Chain-wide promotion depth per week and category: the Black Friday week every year (placed by the
    holiday calendar) plus random promotions."""
    depth = np.zeros((len(CATEGORIES), len(week_starts)))
    black_friday = event_matrix(week_starts)[[e.name for e in EVENTS].index("black_friday")] > 0
    for c in range(len(CATEGORIES)):
        depth[c, black_friday] = _BLACK_FRIDAY_DEPTH
        n_random = max(1, len(week_starts) // 13)
        chosen = rng.choice(len(week_starts), size=n_random, replace=False)
        depth[c, chosen] = np.maximum(depth[c, chosen], rng.choice([0.15, 0.2, 0.25], size=n_random))
    return depth


def make_sample_data(spec: SampleSpec = SampleSpec()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(historical_sales, stores)`` as DataFrames with the columns the workflow reads."""
    if spec.stores < 1 or spec.weeks < 1:
        raise InvalidInputError(
            f"sample data needs at least one store and one week, got {spec.stores} stores, {spec.weeks} weeks",
            fields={"stores": str(spec.stores), "weeks": str(spec.weeks)},
        )
    rng = np.random.default_rng(spec.seed)
    stores = _stores(spec, rng)
    last = pd.Timestamp(spec.last_week - timedelta(days=spec.last_week.weekday()))
    week_starts = pd.date_range(end=last, periods=spec.weeks, freq="W-MON")
    woy = week_starts.isocalendar().week.to_numpy().astype(float).clip(max=52)
    t = np.arange(spec.weeks) / 52.0
    promo = _promotions(week_starts, rng)
    events = _event_lift(week_starts)

    scale = (stores["size"].to_numpy() / 900) ** 0.6 * (stores["traffic"].to_numpy() / 12_000) ** 0.4
    scale = (
        scale * stores["format"].map({"street": 1.0, "mall": 1.15, "outlet": 0.8, "flagship": 1.6}).to_numpy()
    )
    store_trend = rng.normal(0.0, 0.06, size=spec.stores)
    frames = []
    for c, cat in enumerate(CATEGORIES):
        shift = stores["climate"].map(lambda k, cat=cat: cat.climate_shift[k][0]).to_numpy()
        amp = stores["climate"].map(lambda k, cat=cat: cat.climate_shift[k][1]).to_numpy()
        season = _seasonal_curve(woy[None, :], cat.peak_week + shift[:, None], cat.amplitude * amp[:, None])
        trend = (0.05 + store_trend[:, None]) * t[None, :]
        lift = (1 - promo[c])[None, :] ** -cat.elasticity
        noise = rng.lognormal(-0.5 * 0.12**2, 0.12, size=(spec.stores, spec.weeks))
        mean = cat.base_units * scale[:, None] * np.exp(season + trend) * lift * events[c][None, :] * noise
        units = rng.poisson(mean)
        price = np.round(cat.price * (1 + 0.03 * t) * (1 - promo[c]), 2)
        frames.append(
            pd.DataFrame(
                {
                    "week": np.tile(week_starts.date, spec.stores),
                    "store_id": np.repeat(stores["store_id"].to_numpy(), spec.weeks),
                    "category": cat.name,
                    "units": units.ravel(),
                    "price": np.tile(price, spec.stores),
                }
            )
        )
    history = pd.concat(frames, ignore_index=True).sort_values(["week", "store_id", "category"])
    return history.reset_index(drop=True), stores


def write_sample_data(
    directory: str | Path,
    stores: int = 50,
    weeks: int = 104,
    seed: int = 7,
    last_week: date = DEFAULT_LAST_WEEK,
) -> tuple[Path, Path]:
    """Write ``historical_sales.csv`` and ``stores.csv`` into ``directory`` (created if needed).

    The same arguments always give the same files. Returns the two paths.
    """
    history, store_table = make_sample_data(
        SampleSpec(stores=stores, weeks=weeks, seed=seed, last_week=last_week)
    )
    out = prepare_output_folder(directory, label="the sample data folder", field="directory")
    sales_path, stores_path = out / "historical_sales.csv", out / "stores.csv"
    history.to_csv(sales_path, index=False)
    store_table.to_csv(stores_path, index=False)
    return sales_path, stores_path
