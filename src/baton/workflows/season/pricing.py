"""The pricing agent: a markdown plan (week, depth) per category aiming at a target sell-through.

Demand at a markdown of depth d is the full-price forecast times (1 − d)^−elasticity, the elasticity
being the one the demand agent estimated from past promotions. Every schedule of up to
``max_markdowns`` steps down the markdown ladder (each step at a later week and a deeper depth, none
before ``markdown_start_week``) is projected week by week against the stock; among the schedules that
reach the target sell-through, the one that gives away the least margin (Σ units × price × depth) wins —
no markdown at all if full price gets there. If none reaches it, the one that sells the most.

With actual sales to date the plan is made again from the week after the last actual: stock is what is
left, the remaining forecast is scaled by how sales ran against it (at the prices charged), and a
markdown already taken is the floor for the new ones.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel

from baton.workflows.season.parameters import SeasonParameters
from baton.workflows.season.policy import PlanningPolicy

__all__ = [
    "CategoryPricing",
    "MarkdownStep",
    "PricingContext",
    "PricingPlan",
    "PricingSummary",
    "plan_markdowns",
]

_PACE_LIMITS = (0.5, 2.0)
_MAX_POLICIES = 250_000


@dataclass(frozen=True)
class CategoryInputs:
    """What pricing needs to know of one category."""

    demand: np.ndarray  # (horizon,) chain units per season week at full price
    regular_price: float
    elasticity: float
    initial_buy: int


@dataclass(frozen=True)
class PricingContext:
    """What the pricing agent is given: parameters, forecast, allocation (the buy) and optional actuals."""

    parameters: SeasonParameters
    policy: PlanningPolicy
    categories: dict[str, CategoryInputs]
    actuals: pd.DataFrame | None = None  # week, store_id, category, units[, price]


class MarkdownStep(BaseModel):
    season_week: int
    week_start: date
    depth: float


class CategoryPricing(BaseModel):
    category: str
    regular_price: float
    elasticity: float
    initial_buy: int
    target_sell_through: float
    markdowns: list[MarkdownStep]
    projected_sell_through: float
    full_price_sell_through: float
    reaches_target: bool
    projected_revenue: float
    markdown_cost: float
    units_left: int
    weeks_of_actuals: int = 0
    sold_to_date: int = 0
    sales_pace: float = 1.0
    current_depth: float = 0.0


class PricingSummary(BaseModel):
    """The pricing agent's checkpointable result."""

    produced_by: str = "rules:markdown-search"
    replanned_with_actuals: bool
    categories: list[CategoryPricing]
    notes: list[str] = []


@dataclass(frozen=True)
class PricingPlan:
    summary: PricingSummary
    curve: (
        pd.DataFrame
    )  # category, season_week, week_start, depth, price, demand, sales, stock_end, sell_through


def _schedules(weeks: int, earliest: int, ladder: list[float], max_steps: int) -> np.ndarray:
    """Every depth path (policies × weeks) of up to ``max_steps`` rising steps starting at or after ``earliest``."""
    starts = list(range(earliest, weeks))
    rows = [np.zeros(weeks)]
    for steps in range(1, max_steps + 1):
        stride = 1
        while len(starts[::stride]) ** steps * len(ladder) ** steps > _MAX_POLICIES and stride < weeks:
            stride += 1
        for at in itertools.combinations(starts[::stride], steps):
            for depths in itertools.combinations(ladder, steps):
                row = np.zeros(weeks)
                for week, depth in zip(at, depths, strict=True):
                    row[week:] = depth
                rows.append(row)
    return np.vstack(rows)


def _project(
    paths: np.ndarray, demand: np.ndarray, stock: float, elasticity: float, floor_depth: float, price: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    depth = np.maximum(paths, floor_depth)
    wanted = demand[None, :] * (1 - depth) ** -elasticity
    sold_by = np.minimum(np.cumsum(wanted, axis=1), stock)
    sales = np.diff(sold_by, axis=1, prepend=0.0)
    return depth, sales, sales * price * (1 - depth)


def _actuals_of(
    context: PricingContext, category: str, inputs: CategoryInputs
) -> tuple[int, float, float, float]:
    """Weeks of actuals, units sold, sales pace against the forecast, depth taken last week."""
    if context.actuals is None:
        return 0, 0.0, 1.0, 0.0
    params = context.parameters
    rows = context.actuals[context.actuals["category"] == category]
    all_weeks = ((rows["week"] - pd.Timestamp(params.season_start_date)).dt.days // 7 + 1).to_numpy()
    in_season = (all_weeks >= 1) & (all_weeks <= params.forecast_horizon_weeks)
    rows, week = rows.loc[in_season], all_weeks[in_season]
    if rows.empty:
        return 0, 0.0, 1.0, 0.0
    elapsed = int(week.max())
    units = (
        rows.groupby(week)["units"].sum().reindex(range(1, elapsed + 1), fill_value=0.0).to_numpy(dtype=float)
    )
    depth = np.zeros(elapsed)
    if "price" in rows:
        by_week = (rows["price"] * rows["units"]).groupby(week).sum() / rows["units"].groupby(week).sum()
        paid = (
            by_week.reindex(range(1, elapsed + 1)).ffill().fillna(inputs.regular_price).to_numpy(dtype=float)
        )
        depth = np.clip(1 - paid / inputs.regular_price, 0.0, 0.9)
    at_full_price = units * (1 - depth) ** inputs.elasticity
    expected = inputs.demand[:elapsed].sum()
    pace = float(np.clip(at_full_price.sum() / expected, *_PACE_LIMITS)) if expected > 0 else 1.0
    return elapsed, float(units.sum()), pace, float(depth[-1])


def _plan_category(
    context: PricingContext, category: str, inputs: CategoryInputs
) -> tuple[CategoryPricing, pd.DataFrame]:
    params, policy = context.parameters, context.policy
    horizon = params.forecast_horizon_weeks
    target = params.target_sell_through or policy.target_sell_through
    elapsed, sold, pace, current = _actuals_of(context, category, inputs)
    remaining = horizon - elapsed
    stock = max(inputs.initial_buy - sold, 0.0)
    demand = inputs.demand[elapsed:] * pace
    earliest = max((params.markdown_start_week or 1) - 1 - elapsed, 0)
    ladder = [d for d in policy.markdown_depths if d > current + 1e-9]
    paths = (
        _schedules(remaining, earliest, ladder, policy.max_markdowns) if remaining > 0 else np.zeros((1, 0))
    )
    depth, sales, revenue = _project(paths, demand, stock, inputs.elasticity, current, inputs.regular_price)
    sell_through = (sold + sales.sum(axis=1)) / max(inputs.initial_buy, 1)
    cost = (sales * inputs.regular_price * depth).sum(axis=1)
    steps = (np.diff(paths, axis=1, prepend=0.0) > 0).sum(axis=1)
    feasible = sell_through >= target - 1e-9
    if feasible.any():
        # least margin given away, then most revenue, then fewest steps
        key = np.lexsort((steps, -revenue.sum(axis=1), np.where(feasible, cost, np.inf)))
    else:
        key = np.lexsort((steps, -revenue.sum(axis=1), -np.round(sell_through, 6)))
    best = int(key[0])
    chosen = paths[best]
    markdowns = [
        MarkdownStep(
            season_week=elapsed + w + 1, week_start=params.week_start(elapsed + w + 1), depth=float(chosen[w])
        )
        for w in range(remaining)
        if chosen[w] > (chosen[w - 1] if w else 0.0)
    ]
    full_price_sales = _project(
        np.zeros((1, remaining)), demand, stock, inputs.elasticity, current, inputs.regular_price
    )[1]
    left = stock - sales[best].sum()
    weeks = np.arange(elapsed + 1, horizon + 1)
    curve = pd.DataFrame(
        {
            "category": category,
            "season_week": weeks,
            "week_start": [params.week_start(int(w)) for w in weeks],
            "depth": depth[best],
            "price": (inputs.regular_price * (1 - depth[best])).round(2),
            "demand": (demand * (1 - depth[best]) ** -inputs.elasticity).round(1),
            "sales": sales[best].round(1),
            "stock_end": (stock - np.cumsum(sales[best])).round(1),
            "sell_through": ((sold + np.cumsum(sales[best])) / max(inputs.initial_buy, 1)).round(4),
        }
    )
    result = CategoryPricing(
        category=category,
        regular_price=inputs.regular_price,
        elasticity=inputs.elasticity,
        initial_buy=inputs.initial_buy,
        target_sell_through=target,
        markdowns=markdowns,
        projected_sell_through=round(float(sell_through[best]), 4),
        full_price_sell_through=round(float((sold + full_price_sales.sum()) / max(inputs.initial_buy, 1)), 4),
        reaches_target=bool(feasible[best]),
        projected_revenue=round(float(revenue[best].sum()), 2),
        markdown_cost=round(float(cost[best]), 2),
        units_left=round(left),
        weeks_of_actuals=elapsed,
        sold_to_date=round(sold),
        sales_pace=round(pace, 3),
        current_depth=round(current, 3),
    )
    return result, curve


def _stock_notes(context: PricingContext, result: CategoryPricing, curve: pd.DataFrame) -> list[str]:
    """What a planner must not miss in the projection: the pace of actual sales against the forecast,
    that revenue then covers only the weeks left, and a sell-out before the season ends (demand unmet)."""
    notes = []
    category, horizon = result.category, context.parameters.forecast_horizon_weeks
    if result.weeks_of_actuals:
        first = result.weeks_of_actuals + 1
        notes.append(
            f"{category}: {result.sold_to_date:,} units sold in the first {result.weeks_of_actuals} week(s), "
            f"{result.sales_pace:.2f}× the forecast; the rest of the season is projected at that pace, and "
            + (
                f"revenue covers weeks {first}–{horizon} only"
                if first <= horizon
                else "the season is over: nothing is left to project"
            )
        )
    unmet = (curve["demand"] - curve["sales"]).clip(lower=0.0)
    short = float(unmet.sum())
    if short >= max(1.0, 0.01 * result.initial_buy):  # a rounding's worth is no sell-out
        week = int(curve.loc[unmet > 0, "season_week"].iloc[0])
        price = float(curve.loc[unmet > 0, "price"].mean())
        notes.append(
            f"{category}: sells out in season week {week} ({context.parameters.week_start(week)}); "
            f"{short:,.0f} units of demand after that go unmet (about {short * price:,.0f} in sales at "
            "the plan's prices) — consider a re-buy"
        )
    return notes


def plan_markdowns(context: PricingContext) -> PricingPlan:
    """Plan each category's markdowns (see the module docstring)."""
    results, curves, notes = [], [], []
    for category in sorted(context.categories):
        result, curve = _plan_category(context, category, context.categories[category])
        results.append(result)
        curves.append(curve)
        notes += _stock_notes(context, result, curve)
        if not result.reaches_target:
            notes.append(
                f"{category}: no markdown schedule on the ladder reaches {result.target_sell_through:.0%} "
                f"sell-through; the best reaches {result.projected_sell_through:.0%} — consider a smaller buy "
                "or an earlier first markdown"
            )
    return PricingPlan(
        summary=PricingSummary(
            replanned_with_actuals=context.actuals is not None, categories=results, notes=notes
        ),
        curve=pd.concat(curves, ignore_index=True),
    )
