"""A re-plan with actual sales re-plans the replenishment too, not only the markdowns: the stock each store
has left is projected from what it sold, and the DC's shipments for the remaining weeks follow the sales
pace. One run through the real engine on a SQLite store; the plans it is compared with run step by step."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from baton.core.states import RunState
from baton.engine import WorkerSettings, run_to_end, start_run
from baton.store.runs import run_outputs
from baton.store.store import Store
from baton.workflows.season import run_locally, workflow, write_sample_data

FAST = WorkerSettings(poll_interval=0.05, heartbeat_every=0.5, lease_seconds=30)
# 40% at the DC: the first plan ships from week 6, inside the weeks the actuals cover
WEEKLY = "12 weeks from March 2nd 2026, weekly replenishment, keep 40% at the DC"
RESERVE = "12 weeks from March 2nd 2026, no replenishment, keep 20% at the DC"
POLICY = {"backtest_sample": 0}
WEEKS_OF_ACTUALS = 6  # the sample's history runs to 2026-04-06: six weeks of the season


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("replan")
    write_sample_data(folder / "data", stores=6, weeks=110, seed=5, last_week=date(2026, 4, 6))
    history = pd.read_csv(folder / "data" / "historical_sales.csv")
    sold = history[history["week"] >= "2026-03-02"].copy()
    paths = {"data": folder / "data"}
    for name, factor in (("fast", 1.6), ("slow", 0.6)):
        sold.assign(units=(sold["units"] * factor).round()).to_csv(folder / f"{name}.csv", index=False)
        paths[name] = folder / f"{name}.csv"
    return paths


def _inputs(season: dict[str, Path], out: Path, request: str, actuals: str | None = None) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "request": request,
        "data": str(season["data"]),
        "out": str(out),
        "policy": POLICY,
    }
    if actuals:
        inputs["actuals"] = str(season[actuals])
    return inputs


def _after(table: pd.DataFrame, week: int) -> pd.DataFrame:
    return table[table["season_week"] > week]


@pytest.fixture(scope="module")
def compared(season: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The plan without actuals and the re-plan on slow sales, step by step (outside the event loop)."""
    out = tmp_path_factory.mktemp("compared")
    return {
        "first": run_locally(_inputs(season, out / "first", WEEKLY), until="inventory"),
        "slow": run_locally(_inputs(season, out / "slow", WEEKLY, "slow"), until="inventory"),
    }


async def test_fast_sales_send_more_in_the_remaining_weeks_through_the_engine(
    sqlite_store: Store, season: dict[str, Path], compared: dict[str, Any], tmp_path: Path
) -> None:
    first, slow = compared["first"], compared["slow"]
    run_id = start_run(
        sqlite_store, "baton.workflows.season:workflow", _inputs(season, tmp_path / "fast", WEEKLY, "fast")
    )
    assert await run_to_end(sqlite_store, run_id, FAST) is RunState.SUCCEEDED
    with sqlite_store.read() as conn:
        outputs = run_outputs(conn, run_id)
    summary = outputs["inventory"]["summary"]
    assert summary["replanned_with_actuals"]
    tables = {
        "first": pd.read_csv(first.outputs["inventory"].files["replenishment"]),
        "slow": pd.read_csv(slow.outputs["inventory"].files["replenishment"]),
        "fast": pd.read_csv(outputs["inventory"]["files"]["replenishment"]),
    }
    before = {name: t[t["season_week"] <= WEEKS_OF_ACTUALS] for name, t in tables.items()}
    columns = ["season_week", "category", "store_id", "units"]
    assert len(before["first"]) > 0  # else the next check would hold for nothing
    for name in ("slow", "fast"):  # what was shipped before the actuals stands as first planned
        assert before[name][columns].values.tolist() == before["first"][columns].values.tolist()
        assert not before[name]["replanned"].any()
        assert _after(tables[name], WEEKS_OF_ACTUALS)["replanned"].all()
    assert not tables["first"]["replanned"].any()
    for category in summary["categories"]:
        assert category["weeks_of_actuals"] == WEEKS_OF_ACTUALS and category["sales_pace"] > 1.2
        name = category["category"]
        later = {
            k: _after(t[t["category"] == name], WEEKS_OF_ACTUALS)["units"].sum() for k, t in tables.items()
        }
        # fast sales draw the DC down sooner (at most all it holds), slow ones leave stock in it
        assert later["fast"] >= later["first"] > later["slow"], (name, later)
        next_week = {
            k: t[(t["category"] == name) & (t["season_week"] == WEEKS_OF_ACTUALS + 1)]["units"].sum()
            for k, t in tables.items()
        }
        assert next_week["fast"] > next_week["first"], (name, next_week)
    # the buy and the allocation stand: they were made at the start
    assert [c["initial_buy"] for c in summary["categories"]] == [
        c.initial_buy for c in first.outputs["inventory"].summary.categories
    ]
    plan = (tmp_path / "fast" / "PLAN.md").read_text()
    assert "## Inventory (replenishment re-planned with actual sales)" in plan
    assert f"units sold in the first {WEEKS_OF_ACTUALS} week(s)" in plan
    assert "shipments from season week 7 (2026-04-13) are re-planned" in plan
    report = workflow.report_of({name: json.dumps(value) for name, value in outputs.items()})
    assert report is not None and report.facts["re-planned with actual sales"] == "replenishment, markdowns"


def test_without_replenishment_the_reserve_goes_out_once_after_the_actuals(
    season: dict[str, Path], tmp_path: Path
) -> None:
    first = run_locally(_inputs(season, tmp_path / "first", RESERVE), until="inventory")
    again = run_locally(_inputs(season, tmp_path / "again", RESERVE, "fast"), until="inventory")
    assert len(pd.read_csv(first.outputs["inventory"].files["replenishment"])) == 0
    sent = pd.read_csv(again.outputs["inventory"].files["replenishment"])
    assert set(sent["season_week"]) == {WEEKS_OF_ACTUALS + 1} and sent["replanned"].all()
    for category in again.outputs["inventory"].summary.categories:
        assert 0 < category.replenishment_shipped <= category.dc_holdback
        assert category.dc_left_at_end == category.dc_holdback - category.replenishment_shipped
    notes = " ".join(again.outputs["inventory"].summary.notes)
    assert "the DC holdback is sent in season week 7 (2026-04-13) to the stores" in notes
