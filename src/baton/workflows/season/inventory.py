"""The inventory agent: the initial buy, the DC holdback, the store allocation and the replenishment plan.

Per category: buy = forecast + safety stock, in whole packs; ``dc_holdback_percentage`` of it stays at
the DC; the rest goes to the stores by their share of the season's forecast, each store getting at least
its presentation minimum, in whole packs (largest remainders get the last packs). With weekly or
bi-weekly replenishment the DC tops stores up to an order-up-to level — forecast over review period plus
lead time, plus safety stock — projected week by week on the forecast; when the DC runs short, the packs
go to the stores that need them most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel

from baton.workflows.season.events import events_in
from baton.workflows.season.parameters import SeasonParameters
from baton.workflows.season.policy import PlanningPolicy
from baton.workflows.season.safety_stock import period_sigma, service_z

__all__ = [
    "CategoryInventory",
    "InventoryContext",
    "InventoryPlan",
    "InventorySummary",
    "PeakShipment",
    "plan_inventory",
]


@dataclass(frozen=True)
class InventoryContext:
    """What the inventory agent is given: parameters, the demand agent's forecasts, the stores, the policy."""

    parameters: SeasonParameters
    policy: PlanningPolicy
    forecast: pd.DataFrame  # season_week, category, store_id, forecast, sigma_shared, variance_own
    store_totals: pd.DataFrame  # category, store_id, season_forecast, safety_stock
    stores: pd.DataFrame


class CategoryInventory(BaseModel):
    category: str
    season_forecast: int
    safety_stock: int
    initial_buy: int
    dc_holdback: int
    allocated_to_stores: int
    stores_at_minimum: int
    stores_short_of_minimum: int
    replenishment_shipped: int
    dc_left_at_end: int


class PeakShipment(BaseModel):
    """What the DC sends ahead of a retail event week: shipments leave ``lead time`` weeks before it."""

    event: str
    season_week: int
    departs_week: int | None  # the last shipment arriving by the event week; None when none can
    units: int  # that shipment's units
    average_units: int  # an average shipment's units over the season


class InventorySummary(BaseModel):
    """The inventory agent's checkpointable result."""

    produced_by: str = "rules:allocation"
    pack_size: int
    store_minimum_units: int
    strategy: str
    categories: list[CategoryInventory]
    peaks: list[PeakShipment] = []
    notes: list[str] = []

    def buy_of(self, category: str) -> int:
        return next(c.initial_buy for c in self.categories if c.category == category)


@dataclass(frozen=True)
class InventoryPlan:
    summary: InventorySummary
    allocation: (
        pd.DataFrame
    )  # category, store_id, season_forecast, safety_stock, share, allocated_units, packs
    replenishment: pd.DataFrame  # season_week, arrives_week, week_start, category, store_id, units


def _round_to_packs(units: float, pack: int) -> int:
    return math.ceil(units / pack - 1e-9) * pack


def allocate_packs(pool_packs: int, shares: np.ndarray, minimum_packs: int) -> tuple[np.ndarray, int]:
    """Split ``pool_packs`` by ``shares`` with a per-store minimum; returns packs per store and how many
    stores could not get their minimum (when the pool is smaller than all minimums together)."""
    n = len(shares)
    packs = np.zeros(n, dtype=int)
    if pool_packs <= 0 or n == 0:
        return packs, n if minimum_packs > 0 else 0
    if minimum_packs * n > pool_packs:
        # not enough for every minimum: the stores with the largest forecast get theirs first
        order = np.argsort(-shares, kind="stable")
        served = pool_packs // max(minimum_packs, 1)
        packs[order[:served]] = minimum_packs
        leftover = pool_packs - packs.sum()
        if served < n and leftover > 0:
            packs[order[served]] += leftover
        return packs, int(n - served)
    weights = shares / shares.sum() if shares.sum() > 0 else np.full(n, 1 / n)
    pinned = np.zeros(n, dtype=bool)
    while True:
        free = pool_packs - minimum_packs * pinned.sum()
        desired = np.where(pinned, minimum_packs, free * weights / max(weights[~pinned].sum(), 1e-12))
        newly = ~pinned & (desired < minimum_packs)
        if not newly.any():
            break
        pinned |= newly
    floors = np.floor(desired).astype(int)
    remainder = pool_packs - floors.sum()
    order = np.argsort(-(desired - floors), kind="stable")
    floors[order[:remainder]] += 1
    return floors, 0


def _replenish(
    stock: np.ndarray, dc: int, demand: np.ndarray, sigma_cover: np.ndarray, review: int, lead: int, pack: int
) -> tuple[np.ndarray, int]:
    """Project one category week by week; returns shipments (stores × weeks, by departure week) and DC left."""
    n_stores, horizon = demand.shape
    shipped = np.zeros((n_stores, horizon), dtype=int)
    arriving = np.zeros((n_stores, horizon + lead + 1), dtype=int)
    on_hand = stock.astype(float)
    for week in range(horizon):
        on_hand += arriving[:, week]
        if week > 0 and week % review == 0 and dc > 0:
            cover = demand[:, week : week + review + lead].sum(axis=1) + sigma_cover[:, week]
            in_transit = arriving[:, week + 1 :].sum(axis=1)
            need = np.maximum(cover - on_hand - in_transit, 0)
            need_packs = np.ceil(need / pack - 1e-9).astype(int)
            if need_packs.sum() * pack > dc:
                need_packs, _ = allocate_packs(dc // pack, need_packs.astype(float), 0)
            shipped[:, week] = need_packs * pack
            arriving[:, week + lead] += need_packs * pack
            dc -= int(need_packs.sum() * pack)
        on_hand = np.maximum(on_hand - demand[:, week], 0)
    return shipped, dc


def plan_inventory(context: InventoryContext) -> InventoryPlan:
    """Size the buy, hold back the DC share, allocate to stores and plan replenishment (see module docs)."""
    params, policy = context.parameters, context.policy
    pack = policy.pack_size
    minimum_packs = math.ceil(policy.store_minimum_units / pack)
    review = params.replenishment_strategy.review_weeks
    categories, allocations, shipments, notes = [], [], [], []
    for category, totals in context.store_totals.groupby("category", sort=True):
        totals = totals.sort_values("store_id").reset_index(drop=True)
        weekly = (
            context.forecast[context.forecast["category"] == category]
            .pivot(
                index="store_id", columns="season_week", values=["forecast", "sigma_shared", "variance_own"]
            )
            .reindex(totals["store_id"])
        )
        demand = weekly["forecast"].to_numpy()
        forecast_total = float(totals["season_forecast"].sum())
        stock_total = float(totals["safety_stock"].sum())
        buy = _round_to_packs(forecast_total + stock_total, pack)
        holdback = round(params.dc_holdback_percentage * buy / pack) * pack
        pool_packs = (buy - holdback) // pack
        share = totals["season_forecast"].to_numpy(dtype=float)
        packs, short = allocate_packs(pool_packs, share, minimum_packs)
        if short:
            notes.append(
                f"{category}: {short} store(s) get less than the {policy.store_minimum_units}-unit "
                "minimum — the buy after holdback is too small for every store"
            )
        allocated = packs * pack
        allocations.append(
            pd.DataFrame(
                {
                    "category": category,
                    "store_id": totals["store_id"],
                    "season_forecast": totals["season_forecast"].round(1),
                    "safety_stock": totals["safety_stock"].round(1),
                    "forecast_share": (share / max(share.sum(), 1e-12)).round(5),
                    "allocated_units": allocated,
                    "packs": packs,
                    "at_minimum": packs <= minimum_packs,
                }
            )
        )
        shipped_total, dc_left = 0, holdback
        if review is not None:
            cover = service_z(policy.service_level) * period_sigma(
                weekly["sigma_shared"].to_numpy(),
                weekly["variance_own"].to_numpy(),
                review + policy.lead_time_weeks,
            )
            shipped, dc_left = _replenish(
                allocated, holdback, demand, cover, review, policy.lead_time_weeks, pack
            )
            shipped_total = int(shipped.sum())
            store_idx, week_idx = np.nonzero(shipped)
            shipments.append(
                pd.DataFrame(
                    {
                        "season_week": week_idx + 1,
                        "arrives_week": week_idx + 1 + policy.lead_time_weeks,
                        "week_start": [params.week_start(int(w) + 1) for w in week_idx],
                        "category": category,
                        "store_id": totals["store_id"].to_numpy()[store_idx],
                        "units": shipped[store_idx, week_idx],
                    }
                )
            )
        categories.append(
            CategoryInventory(
                category=str(category),
                season_forecast=round(forecast_total),
                safety_stock=round(stock_total),
                initial_buy=buy,
                dc_holdback=holdback,
                allocated_to_stores=int(allocated.sum()),
                stores_at_minimum=int((packs == minimum_packs).sum()) if minimum_packs else 0,
                stores_short_of_minimum=short,
                replenishment_shipped=shipped_total,
                dc_left_at_end=dc_left,
            )
        )
    if review is None and params.dc_holdback_percentage == 0:
        notes.append("no replenishment and no DC holdback: the whole buy is sent to the stores at the start")
    elif review is None:
        notes.append(
            "no replenishment: the DC holdback is a reserve to send where sales run ahead of the "
            "forecast once the first weeks are known"
        )
    columns = ["season_week", "arrives_week", "week_start", "category", "store_id", "units"]
    replenishment = pd.concat(shipments, ignore_index=True) if shipments else pd.DataFrame(columns=columns)
    peaks = _peak_shipments(params, replenishment)
    for peak in peaks:
        if peak.departs_week is None:
            notes.append(
                f"{peak.event} (season week {peak.season_week}): no shipment arrives before it — its "
                "stock is the stores' initial allocation"
            )
    return InventoryPlan(
        summary=InventorySummary(
            pack_size=pack,
            store_minimum_units=policy.store_minimum_units,
            strategy=params.replenishment_strategy.value,
            categories=categories,
            peaks=peaks,
            notes=notes,
        ),
        allocation=pd.concat(allocations, ignore_index=True),
        replenishment=replenishment.sort_values(["season_week", "category", "store_id"]).reset_index(
            drop=True
        ),
    )


def _peak_shipments(params: SeasonParameters, replenishment: pd.DataFrame) -> list[PeakShipment]:
    """For each event week of the season, the last shipment that reaches the stores in time for it.

    The order-up-to level covers the forecast of the review period plus the lead time, so the shipment
    leaving ``lead time`` weeks (or one review period) ahead of an event week is sized for its peak.
    """
    weeks = [params.week_start(w) for w in range(1, params.forecast_horizon_weeks + 1)]
    sent = (
        replenishment.groupby(["season_week", "arrives_week"])["units"].sum().reset_index()
        if len(replenishment)
        else pd.DataFrame(columns=["season_week", "arrives_week", "units"])
    )
    average = round(float(sent["units"].mean())) if len(sent) else 0
    peaks = []
    for index, label in events_in(weeks):
        week = index + 1
        reaching = sent[sent["arrives_week"] <= week]
        last = reaching.iloc[-1] if len(reaching) else None
        peaks.append(
            PeakShipment(
                event=label,
                season_week=week,
                departs_week=None if last is None else int(last["season_week"]),
                units=0 if last is None else int(last["units"]),
                average_units=average,
            )
        )
    return peaks
