"""The inventory agent: packs, minimums, holdback and replenishment."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from baton.workflows.season.inventory import InventoryContext, allocate_packs, plan_inventory
from baton.workflows.season.parameters import SeasonParameters
from baton.workflows.season.policy import PlanningPolicy


def test_packs_follow_shares_and_add_up_to_the_pool() -> None:
    packs, short = allocate_packs(100, np.array([0.5, 0.3, 0.2]), 0)
    assert packs.tolist() == [50, 30, 20] and short == 0


def test_minimums_are_met_and_the_rest_is_shared_by_forecast() -> None:
    packs, short = allocate_packs(20, np.array([10.0, 8.0, 0.5, 0.1]), 2)
    assert packs.sum() == 20 and short == 0
    assert packs[2] == 2 and packs[3] == 2
    assert packs[0] > packs[1]


def test_a_pool_smaller_than_all_minimums_serves_the_biggest_stores_first() -> None:
    packs, short = allocate_packs(5, np.array([1.0, 5.0, 3.0]), 2)
    assert packs.tolist() == [0, 2, 3] or packs.tolist() == [1, 2, 2]
    assert packs.sum() == 5 and short == 1


def _context(strategy: str, holdback: float, weeks: int = 8) -> InventoryContext:
    parameters = SeasonParameters(
        forecast_horizon_weeks=weeks,
        season_start_date=date(2026, 3, 2),
        replenishment_strategy=strategy,  # type: ignore[arg-type]
        dc_holdback_percentage=holdback,
    )
    stores = ["S1", "S2", "S3"]
    weekly = {"S1": 20.0, "S2": 10.0, "S3": 1.0}
    forecast = pd.DataFrame(
        [
            {"season_week": w, "category": "basics", "store_id": s, "forecast": weekly[s],
             "sigma_shared": 1.0, "variance_own": weekly[s]}
            for s in stores
            for w in range(1, weeks + 1)
        ]
    )  # fmt: skip
    totals = pd.DataFrame(
        {
            "category": "basics",
            "store_id": stores,
            "season_forecast": [weekly[s] * weeks for s in stores],
            "safety_stock": [10.0, 6.0, 2.0],
        }
    )
    return InventoryContext(
        parameters,
        PlanningPolicy(pack_size=6, store_minimum_units=12),
        forecast,
        totals,
        pd.DataFrame({"store_id": stores}),
    )


def test_buy_holdback_and_allocation_without_replenishment() -> None:
    plan = plan_inventory(_context("none", 0.45))
    category = plan.summary.categories[0]
    assert category.initial_buy == 270  # 248 forecast + 18 safety stock = 266, up to whole packs of 6
    assert category.dc_holdback == 120  # 45% of 270 = 121.5 → 20 packs
    assert category.allocated_to_stores == 150
    allocation = plan.allocation.set_index("store_id")
    assert (allocation["allocated_units"] % 6 == 0).all()
    assert allocation.loc["S3", "allocated_units"] == 12  # the presentation minimum
    assert plan.replenishment.empty
    assert category.dc_left_at_end == 120
    assert any("reserve" in note for note in plan.summary.notes)


@pytest.mark.parametrize("strategy", ["weekly", "bi-weekly"])
def test_replenishment_ships_from_the_dc_on_review_weeks_only(strategy: str) -> None:
    plan = plan_inventory(_context(strategy, 0.30))
    category = plan.summary.categories[0]
    shipped = plan.replenishment
    assert not shipped.empty
    assert (shipped["units"] % 6 == 0).all()
    review = 1 if strategy == "weekly" else 2
    assert ((shipped["season_week"] - 1) % review == 0).all() and (shipped["season_week"] > 1).all()
    assert category.replenishment_shipped == shipped["units"].sum() <= category.dc_holdback
    assert category.dc_left_at_end == category.dc_holdback - category.replenishment_shipped
