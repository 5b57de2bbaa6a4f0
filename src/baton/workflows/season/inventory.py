"""The inventory agent: the initial buy, the DC holdback, the store allocation and the replenishment plan.

Per category: buy = forecast + safety stock, in whole packs; ``dc_holdback_percentage`` of it stays at
the DC; the rest goes to the stores by their share of the season's forecast, each store getting at least
its presentation minimum, in whole packs (largest remainders get the last packs). With weekly or
bi-weekly replenishment the DC tops stores up to an order-up-to level — forecast over review period plus
lead time, plus safety stock — projected week by week on the forecast; when the DC runs short, the packs
go to the stores that need them most.

Re-planned with actual sales (``--actuals``, the season's first weeks): the buy and the allocation stand
(they were made at the start). Each store's stock is projected from its actual sales for the weeks
they cover, with the shipments of those weeks as first planned, and the remaining weeks are planned on
the forecast scaled by the category's sales pace (units sold over units forecast for those weeks, held to
0.5–2×): the DC's shipments from the first week after the actuals are re-planned from that stock. Without
replenishment the DC holdback is the reserve for this: it is sent once, in the week after the actuals,
to the stores whose stock will not cover the rest of the season.
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
    actuals: pd.DataFrame | None = None  # week, store_id, category, units: sales since the season start


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
    weeks_of_actuals: int = 0  # season weeks of actual sales the replenishment was re-planned on
    sold_to_date: int = 0
    sales_pace: float = 1.0  # units sold over units forecast in those weeks


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
    replanned_with_actuals: bool = False

    def buy_of(self, category: str) -> int:
        return next(c.initial_buy for c in self.categories if c.category == category)


@dataclass(frozen=True)
class InventoryPlan:
    summary: InventorySummary
    allocation: (
        pd.DataFrame
    )  # category, store_id, season_forecast, safety_stock, share, allocated_units, packs
    # season_week, arrives_week, week_start, category, store_id, units, replanned (on actual sales)
    replenishment: pd.DataFrame


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
    stock: np.ndarray,
    dc: int,
    demand: np.ndarray,
    sigma_cover: np.ndarray,
    reviews: dict[int, int],
    lead: int,
    pack: int,
    *,
    fixed: np.ndarray | None = None,
    elapsed: int = 0,
) -> tuple[np.ndarray, int]:
    """Project one category week by week; returns shipments (stores × weeks, by departure week) and DC left.

    ``reviews`` maps each week (0-based) the DC ships in to the weeks its order-up-to level covers (besides
    the lead time). The first ``elapsed`` weeks ship ``fixed`` (what was planned for them) instead."""
    n_stores, horizon = demand.shape
    shipped = np.zeros((n_stores, horizon), dtype=int)
    arriving = np.zeros((n_stores, horizon + lead + 1), dtype=int)
    on_hand = stock.astype(float)
    for week in range(horizon):
        on_hand += arriving[:, week]
        if fixed is not None and week < elapsed:
            sent = fixed[:, week]  # drawn from the same DC when first planned: it fits
            shipped[:, week] = sent
            arriving[:, week + lead] += sent
            dc -= int(sent.sum())
        elif week in reviews and dc > 0:
            cover = demand[:, week : week + reviews[week] + lead].sum(axis=1) + sigma_cover[:, week]
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
        demand: np.ndarray = weekly["forecast"].to_numpy()
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
        elapsed, sold = _actual_sales(context, str(category), totals["store_id"], demand.shape[1])
        pace = _pace(sold, demand[:, :elapsed])
        shipped = _shipments(context, weekly, allocated, holdback, demand, elapsed, sold, pace)
        if shipped is not None:
            dc_left = holdback - int(shipped.sum())
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
                        # decided on the actual sales (True) or as first planned on the forecast
                        "replanned": week_idx >= elapsed if elapsed else False,
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
                weeks_of_actuals=elapsed,
                sold_to_date=int(sold.sum()),
                sales_pace=round(pace, 3),
            )
        )
        if elapsed:
            notes.append(_replan_note(str(category), params, elapsed, int(sold.sum()), pace, review))
    if review is None and params.dc_holdback_percentage == 0:
        notes.append("no replenishment and no DC holdback: the whole buy is sent to the stores at the start")
    elif review is None:
        notes.append(
            "no replenishment: the DC holdback is a reserve to send where sales run ahead of the "
            "forecast once the first weeks are known"
        )
    columns = ["season_week", "arrives_week", "week_start", "category", "store_id", "units", "replanned"]
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
            replanned_with_actuals=any(c.weeks_of_actuals for c in categories),
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


_PACE_LIMITS = (0.5, 2.0)  # as the pricing agent's: a few weeks of sales never scale demand further


def _actual_sales(
    context: InventoryContext, category: str, store_ids: pd.Series, horizon: int
) -> tuple[int, np.ndarray]:
    """Season weeks the actuals cover (through their last week in the season) and the units each store
    sold in each of them (stores × weeks; a store or week without a row sold nothing)."""
    actuals = context.actuals
    if actuals is None:
        return 0, np.zeros((len(store_ids), 0))
    rows = actuals[actuals["category"] == category]
    start = pd.Timestamp(context.parameters.season_start_date)
    week = ((pd.to_datetime(rows["week"]) - start).dt.days // 7 + 1).to_numpy()
    inside = (week >= 1) & (week <= horizon)
    rows, week = rows.loc[inside], week[inside]
    if rows.empty:
        return 0, np.zeros((len(store_ids), 0))
    elapsed = int(week.max())
    table = (
        rows.assign(season_week=week, store_id=rows["store_id"].astype(str))
        .pivot_table(index="store_id", columns="season_week", values="units", aggfunc="sum")
        .reindex(index=store_ids.astype(str), columns=range(1, elapsed + 1))
        .fillna(0.0)
    )
    return elapsed, table.to_numpy(dtype=float)


def _pace(sold: np.ndarray, forecast: np.ndarray) -> float:
    expected = float(forecast.sum())
    return float(np.clip(sold.sum() / expected, *_PACE_LIMITS)) if sold.size and expected > 0 else 1.0


def _shipments(
    context: InventoryContext,
    weekly: pd.DataFrame,
    allocated: np.ndarray,
    holdback: int,
    demand: np.ndarray,
    elapsed: int,
    sold: np.ndarray,
    pace: float,
) -> np.ndarray | None:
    """The DC's shipments (stores × weeks), or None when nothing is shipped after the start.

    With actuals, the first ``elapsed`` weeks keep the shipments first planned and the stock they leave is
    projected from the actual sales; the rest is planned on the forecast at the sales pace."""
    params, policy = context.parameters, context.policy
    lead, pack = policy.lead_time_weeks, policy.pack_size
    horizon = demand.shape[1]
    review = params.replenishment_strategy.review_weeks

    def cover(period: int) -> np.ndarray:
        return service_z(policy.service_level) * period_sigma(
            weekly["sigma_shared"].to_numpy(), weekly["variance_own"].to_numpy(), period
        )

    first: np.ndarray | None = None
    if review is not None:
        reviews = {week: review for week in range(review, horizon, review)}
        first, _ = _replenish(allocated, holdback, demand, cover(review + lead), reviews, lead, pack)
    if not elapsed or elapsed >= horizon:
        return first
    replanned = np.concatenate([sold, demand[:, elapsed:] * pace], axis=1)
    if review is None:  # the reserve goes out once, to cover the rest of the season
        rest = horizon - elapsed
        shipped, _ = _replenish(
            allocated, holdback, replanned, cover(rest + lead), {elapsed: rest}, lead, pack
        )
        return shipped
    reviews = {week: review for week in range(review, horizon, review) if week >= elapsed}
    shipped, _ = _replenish(
        allocated,
        holdback,
        replanned,
        cover(review + lead),
        reviews,
        lead,
        pack,
        fixed=first,
        elapsed=elapsed,
    )
    return shipped


def _replan_note(
    category: str, params: SeasonParameters, elapsed: int, sold: int, pace: float, review: int | None
) -> str:
    after = f"season week {elapsed + 1} ({params.week_start(elapsed + 1)})"
    how = (
        f"the DC holdback is sent in {after} to the stores whose stock will not last the season"
        if review is None
        else f"shipments from {after} are re-planned; earlier ones are as first planned"
    )
    return (
        f"{category}: replenishment re-planned on actual sales — {sold:,} units sold in the first "
        f"{elapsed} week(s), {pace:.2f}× the forecast for them; store stock is projected from those sales "
        f"and the rest of the season at that pace: {how} (the buy and the allocation stand)"
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
