"""The sales history as dense arrays: categories × stores × weeks, plus prices and store clusters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SalesPanel", "build_panel"]

_REGULAR_PRICE_WINDOW = 9  # weeks: the regular price is the highest price charged around a week


@dataclass(frozen=True)
class SalesPanel:
    """Weekly units per category, store and week (missing rows are 0) and chain prices per category."""

    weeks: pd.DatetimeIndex
    categories: tuple[str, ...]
    stores: tuple[str, ...]
    units: np.ndarray  # (categories, stores, weeks)
    price: np.ndarray  # (categories, weeks) units-weighted average selling price
    regular_price: np.ndarray  # (categories, weeks) the undiscounted price around each week
    clusters: np.ndarray  # (stores,) cluster index of each store
    cluster_names: tuple[str, ...]
    filled_rows: int  # (category, store, week) cells absent from the file, taken as 0 units

    @property
    def log_price_ratio(self) -> np.ndarray:
        """log(price / regular price) per category and week: 0 at full price, negative on promotion."""
        ratio = np.where(
            self.regular_price > 0, self.price / np.where(self.regular_price > 0, self.regular_price, 1), 1
        )
        return np.asarray(np.log(np.clip(ratio, 0.05, 1.0)))

    def index_of(self, week: pd.Timestamp) -> int:
        """The (possibly future) week index of ``week``, counted from the first week of history."""
        return round((week - self.weeks[0]).days / 7)

    def until(self, end: int) -> SalesPanel:
        """The panel cut to its first ``end`` weeks (for backtests)."""
        return SalesPanel(
            weeks=self.weeks[:end],
            categories=self.categories,
            stores=self.stores,
            units=self.units[:, :, :end],
            price=self.price[:, :end],
            regular_price=self.regular_price[:, :end],
            clusters=self.clusters,
            cluster_names=self.cluster_names,
            filled_rows=self.filled_rows,
        )


def build_panel(history: pd.DataFrame, stores: pd.DataFrame, *, cluster_by: str | None = None) -> SalesPanel:
    """Pivot validated history (see :mod:`.data`) into a :class:`SalesPanel`.

    ``cluster_by`` names a ``stores`` column whose values group the stores; ``None`` puts all in one.
    """
    weeks = pd.date_range(history["week"].min(), history["week"].max(), freq="7D")
    categories = tuple(sorted(history["category"].unique()))
    store_ids = tuple(stores["store_id"])
    c_idx = pd.Index(categories).get_indexer(history["category"])
    s_idx = pd.Index(store_ids).get_indexer(history["store_id"])
    t_idx = ((history["week"] - weeks[0]).dt.days // 7).to_numpy()
    keep = s_idx >= 0
    units = np.zeros((len(categories), len(store_ids), len(weeks)))
    units[c_idx[keep], s_idx[keep], t_idx[keep]] = history["units"].to_numpy(dtype=float)[keep]
    revenue = np.zeros((len(categories), len(weeks)))
    np.add.at(
        revenue,
        (c_idx[keep], t_idx[keep]),
        (history["units"].to_numpy(dtype=float) * history["price"].to_numpy(dtype=float))[keep],
    )
    sold = units.sum(axis=1)
    listed = np.zeros((len(categories), len(weeks)))
    np.add.at(listed, (c_idx[keep], t_idx[keep]), history["price"].to_numpy(dtype=float)[keep])
    counts = np.zeros_like(listed)
    np.add.at(counts, (c_idx[keep], t_idx[keep]), 1.0)
    plain_mean = np.divide(listed, counts, out=np.zeros_like(listed), where=counts > 0)
    price = np.divide(revenue, sold, out=plain_mean, where=sold > 0)
    price = pd.DataFrame(price.T).replace(0.0, np.nan).ffill().bfill().fillna(1.0).to_numpy().T
    regular = (
        pd.DataFrame(price.T).rolling(_REGULAR_PRICE_WINDOW, center=True, min_periods=1).max().to_numpy().T
    )
    if cluster_by:
        labels = stores[cluster_by].astype(str).to_numpy()
        names = tuple(sorted(set(labels)))
        clusters = pd.Index(names).get_indexer(labels)
    else:
        names, clusters = ("all stores",), np.zeros(len(store_ids), dtype=int)
    return SalesPanel(
        weeks=weeks,
        categories=categories,
        stores=store_ids,
        units=units,
        price=price,
        regular_price=regular,
        clusters=np.asarray(clusters),
        cluster_names=names,
        filled_rows=int(units.size - keep.sum()),
    )
