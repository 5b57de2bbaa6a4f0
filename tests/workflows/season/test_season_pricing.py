"""The pricing agent: no markdown when full price sells enough, the cheapest one that reaches the target
otherwise, and a re-plan from actual sales."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from baton.workflows.season.parameters import SeasonParameters
from baton.workflows.season.policy import PlanningPolicy
from baton.workflows.season.pricing import CategoryInputs, PricingContext, plan_markdowns

START = date(2026, 3, 2)


def _context(
    buy: int,
    *,
    markdown_start: int | None = None,
    actuals: pd.DataFrame | None = None,
    target: float | None = None,
) -> PricingContext:
    parameters = SeasonParameters(
        forecast_horizon_weeks=12,
        season_start_date=START,
        replenishment_strategy="none",  # type: ignore[arg-type]
        dc_holdback_percentage=0.2,
        markdown_start_week=markdown_start,
        target_sell_through=target,
    )
    inputs = CategoryInputs(demand=np.full(12, 100.0), regular_price=50.0, elasticity=2.0, initial_buy=buy)
    return PricingContext(parameters, PlanningPolicy(), {"basics": inputs}, actuals)


def test_no_markdown_when_full_price_reaches_the_target() -> None:
    plan = plan_markdowns(_context(1300))
    result = plan.summary.categories[0]
    assert result.markdowns == []
    assert (
        result.full_price_sell_through
        == result.projected_sell_through
        == pytest.approx(1200 / 1300, abs=1e-4)
    )
    assert result.reaches_target


def test_overstock_gets_the_cheapest_markdown_that_reaches_the_target() -> None:
    result = plan_markdowns(_context(2000)).summary.categories[0]
    assert result.full_price_sell_through == pytest.approx(0.6)
    assert result.reaches_target and result.projected_sell_through >= 0.85
    assert result.markdowns and all(
        a.depth < b.depth for a, b in zip(result.markdowns, result.markdowns[1:], strict=False)
    )
    cheaper = plan_markdowns(_context(1500)).summary.categories[0]
    assert cheaper.markdown_cost < result.markdown_cost


def test_markdowns_wait_for_the_markdown_start_week() -> None:
    result = plan_markdowns(_context(2000, markdown_start=8)).summary.categories[0]
    assert min(step.season_week for step in result.markdowns) >= 8
    assert result.markdowns[0].week_start == START + timedelta(weeks=result.markdowns[0].season_week - 1)


def test_an_unreachable_target_is_reported_with_the_best_plan() -> None:
    plan = plan_markdowns(_context(20000))
    result = plan.summary.categories[0]
    assert not result.reaches_target
    assert result.markdowns[-1].depth == 0.7
    assert "no markdown schedule" in plan.summary.notes[0]


def test_slow_actual_sales_bring_markdowns_and_keep_the_one_taken() -> None:
    on_plan = plan_markdowns(_context(1300)).summary.categories[0]
    assert on_plan.markdowns == []
    actuals = pd.DataFrame(
        {
            "week": pd.to_datetime([START, START + timedelta(weeks=1), START + timedelta(weeks=2)]),
            "store_id": "S1",
            "category": "basics",
            "units": [60.0, 55.0, 55.0],
            "price": [50.0, 50.0, 40.0],  # 20% off already in week 3
        }
    )
    plan = plan_markdowns(_context(1300, actuals=actuals))
    result = plan.summary.categories[0]
    assert plan.summary.replanned_with_actuals
    assert (result.weeks_of_actuals, result.sold_to_date) == (3, 170)
    assert result.current_depth == pytest.approx(0.2)
    assert result.sales_pace < 0.7
    assert all(step.season_week > 3 and step.depth > 0.2 for step in result.markdowns)
    assert result.projected_sell_through > result.full_price_sell_through
    assert plan.curve["season_week"].min() == 4
    assert (plan.curve["depth"] >= 0.2 - 1e-9).all()


def test_fast_actual_sales_that_sell_out_before_the_end_are_said_with_the_demand_left_unmet() -> None:
    on_plan = plan_markdowns(_context(1300))
    assert not [n for n in on_plan.summary.notes if "sells out" in n]  # 1,200 demanded, 1,300 bought
    actuals = pd.DataFrame(
        {
            "week": pd.to_datetime([START + timedelta(weeks=w) for w in range(4)]),
            "store_id": "S1",
            "category": "basics",
            "units": [150.0] * 4,  # 1.5× the forecast of 100 a week
            "price": [50.0] * 4,
        }
    )
    plan = plan_markdowns(_context(1300, actuals=actuals))
    result = plan.summary.categories[0]
    assert result.sold_to_date == 600 and result.sales_pace == pytest.approx(1.5)
    # 700 left for 1,200 demanded in weeks 5–12: weeks 5–8 sell 600, week 9 100 of 150, then nothing
    sells_out = [n for n in plan.summary.notes if "sells out" in n]
    assert sells_out == [
        "basics: sells out in season week 9 (2026-04-27); 500 units of demand after that go unmet (about "
        "25,000 in sales at the plan's prices) — consider a re-buy"
    ]
    pace = [n for n in plan.summary.notes if "sold in the first" in n]
    assert pace == [
        "basics: 600 units sold in the first 4 week(s), 1.50× the forecast; the rest of the season is "
        "projected at that pace, and revenue covers weeks 5–12 only"
    ]
    assert result.projected_revenue == pytest.approx(700 * 50.0)
