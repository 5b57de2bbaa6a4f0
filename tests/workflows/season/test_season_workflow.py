"""The whole workflow, step by step without the engine (run_locally), on small seeded data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from baton.core.workflow import TaskContext
from baton.workflows.season import (
    PlanningPolicy,
    SeasonDataError,
    SeasonInputs,
    SeasonParameterError,
    run_locally,
    workflow,
    write_sample_data,
)
from baton.workflows.season.context import DemandResult, InventoryResult, PricingResult

FAST_FASHION = "12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC"
LUXURY = "Luxury capsule: no replenishment, 45% holdback, 26 weeks starting 2 March 2026"
POLICY = PlanningPolicy(backtest_sample=3)


def _inputs(data: Path, out: Path, request: str, **more: Any) -> SeasonInputs:
    return SeasonInputs(
        request=request, data=str(data), out=str(out), today=date(2026, 11, 22), policy=POLICY, **more
    )


def test_the_steps_form_the_agent_chain() -> None:
    workflow.validate()
    assert workflow.order() == ["parameters", "context", "demand", "inventory", "pricing", "report"]
    deps = workflow.dependencies()
    assert deps["demand"] == ("parameters", "context")
    assert deps["inventory"] == ("parameters", "context", "demand")
    assert deps["pricing"] == ("parameters", "context", "demand", "inventory")


def test_fast_fashion_plan_end_to_end(small_data: Path, tmp_path: Path) -> None:
    run = run_locally(_inputs(small_data, tmp_path, FAST_FASHION))
    demand: DemandResult = run.outputs["demand"]
    inventory: InventoryResult = run.outputs["inventory"]
    pricing: PricingResult = run.outputs["pricing"]

    forecast = pd.read_csv(demand.files["forecast"])
    assert len(forecast) == 12 * 8 * 3
    assert (forecast["lo_80"] <= forecast["forecast"]).all() and (
        forecast["forecast"] <= forecast["hi_80"]
    ).all()
    backtest = demand.summary.backtest
    assert backtest.skipped is None and backtest.window_weeks == 12
    ensemble, naive = backtest.groups["ensemble"], backtest.groups["seasonal_naive"]
    assert ensemble.wape is not None and naive.wape is not None and ensemble.wape < naive.wape
    assert backtest.sample is not None and len(backtest.sample.series) == 3
    assert "Weekly replenishment" in demand.summary.safety_stock.reason

    for category in inventory.summary.categories:
        assert category.initial_buy >= category.season_forecast + category.safety_stock
        assert category.dc_holdback == pytest.approx(0.10 * category.initial_buy, abs=6)
        assert category.allocated_to_stores + category.dc_holdback == category.initial_buy
    allocation = pd.read_csv(inventory.files["allocation"])
    assert (allocation["allocated_units"] >= 12).all() and (allocation["allocated_units"] % 6 == 0).all()
    assert not pd.read_csv(inventory.files["replenishment"]).empty

    assert {c.category for c in pricing.summary.categories} == {"basics", "outerwear", "swimwear"}
    assert json.loads(Path(pricing.files["summary"]).read_text())["replanned_with_actuals"] is False

    plan = (tmp_path / "PLAN.md").read_text()
    for heading in ("# Season plan: 12 weeks from 2026-03-02", "## Demand", "## Inventory", "## Pricing"):
        assert heading in plan
    for chart in run.outputs["report"].charts.values():
        assert Path(chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({Path(chart).relative_to(tmp_path).as_posix()})" in plan
    assert [kind for _, kind, _ in run.events].count("task.log") >= 4


def test_checkpoints_hold_paths_and_summaries_not_the_data(small_data: Path, tmp_path: Path) -> None:
    run = run_locally(_inputs(small_data, tmp_path, FAST_FASHION), until="inventory")
    assert list(run.outputs) == ["parameters", "context", "demand", "inventory"]
    for name, output in run.outputs.items():
        size = len(workflow.steps[name].output_adapter.dump_json(output))
        assert size < 20_000, f"{name} checkpoint is {size} bytes"


def test_luxury_plan_buys_up_front_and_keeps_the_holdback(small_data: Path, tmp_path: Path) -> None:
    run = run_locally(_inputs(small_data, tmp_path, LUXURY))
    demand: DemandResult = run.outputs["demand"]
    inventory: InventoryResult = run.outputs["inventory"]
    assert demand.summary.safety_stock.protection_weeks == 26
    assert "No replenishment" in demand.summary.safety_stock.reason
    assert all(
        c.replenishment_shipped == 0 and c.dc_left_at_end == c.dc_holdback
        for c in inventory.summary.categories
    )
    assert all(
        c.dc_holdback == pytest.approx(0.45 * c.initial_buy, abs=6) for c in inventory.summary.categories
    )


def test_safety_stock_is_larger_without_replenishment(small_data: Path, tmp_path: Path) -> None:
    weekly = run_locally(
        _inputs(small_data, tmp_path / "a", "26 weeks from 2026-03-02, weekly, 10% at the DC"), until="demand"
    )
    none = run_locally(
        _inputs(small_data, tmp_path / "b", "26 weeks from 2026-03-02, no replenishment, 10% at the DC"),
        until="demand",
    )
    share = {
        name: run.outputs["demand"].summary.safety_stock.share_of_forecast
        for name, run in (("weekly", weekly), ("none", none))
    }
    assert all(share["none"][c] > 2 * share["weekly"][c] for c in share["none"])


def test_an_incomplete_request_stops_at_the_parameters_step(small_data: Path, tmp_path: Path) -> None:
    with pytest.raises(SeasonParameterError) as caught:
        run_locally(_inputs(small_data, tmp_path, "weekly replenishment please"))
    assert caught.value.missing == ["forecast_horizon_weeks", "season_start_date", "dc_holdback_percentage"]
    assert not (tmp_path / "PLAN.md").exists()


def test_a_season_too_far_past_the_history_is_refused(small_data: Path, tmp_path: Path) -> None:
    with pytest.raises(SeasonDataError, match="weeks before the season starts"):
        run_locally(
            _inputs(small_data, tmp_path, "12 weeks from 2027-06-07, weekly, 10% at the DC"), until="context"
        )


def test_a_file_changed_after_the_context_step_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_sample_data(data, stores=4, weeks=60, seed=2)
    inputs = _inputs(data, tmp_path / "out", FAST_FASHION)
    run = run_locally(inputs, until="context")
    stores = data / "stores.csv"
    stores.write_text(stores.read_text() + "\n")  # the same table, but not the same bytes
    ctx = TaskContext(run_id="t", task_id=2, task_name="demand", attempt=1, emit=lambda kind, data: None)
    with pytest.raises(SeasonDataError, match=r"stores\.csv: changed since this run checked it"):
        workflow.steps["demand"].fn(
            inputs=inputs, parameters=run.outputs["parameters"], context=run.outputs["context"], ctx=ctx
        )


def test_mid_season_replan_with_slow_actuals(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_sample_data(data, stores=6, weeks=110, seed=5, last_week=date(2026, 4, 6))
    history = pd.read_csv(data / "historical_sales.csv")
    actuals = history[history["week"] >= "2026-03-02"].copy()
    actuals["units"] = (actuals["units"] * 0.6).round()
    actuals.to_csv(tmp_path / "actuals.csv", index=False)
    request = "12 weeks from March 2nd 2026, no replenishment, keep 10% at the DC"
    first = run_locally(_inputs(data, tmp_path / "plan", request), until="pricing")
    assert "not used" in " ".join(first.outputs["context"].notes)  # history after the start is left out
    again = run_locally(_inputs(data, tmp_path / "replan", request, actuals=str(tmp_path / "actuals.csv")))
    pricing = again.outputs["pricing"].summary
    assert pricing.replanned_with_actuals
    for before, after in zip(first.outputs["pricing"].summary.categories, pricing.categories, strict=True):
        assert after.weeks_of_actuals == 6 and after.sold_to_date > 0
        assert after.sales_pace < 0.8
        assert after.markdowns and all(step.season_week > 6 for step in after.markdowns)
        assert after.markdown_cost > before.markdown_cost
    assert "re-planned with actual sales" in (tmp_path / "replan" / "PLAN.md").read_text()


def test_one_category_only(small_data: Path, tmp_path: Path) -> None:
    run = run_locally(
        _inputs(small_data, tmp_path, "swimwear: 8 weeks from 2026-03-02, bi-weekly, 20% at the DC"),
        until="inventory",
    )
    assert run.outputs["parameters"].category == "swimwear"
    assert [c.category for c in run.outputs["inventory"].summary.categories] == ["swimwear"]


def test_parameters_may_be_given_directly(small_data: Path, tmp_path: Path) -> None:
    parameters = {
        "forecast_horizon_weeks": 6,
        "season_start_date": "2026-03-02",
        "replenishment_strategy": "bi-weekly",
        "dc_holdback_percentage": 0.2,
    }
    run = run_locally(
        {"parameters": parameters, "data": str(small_data), "out": str(tmp_path)}, until="context"
    )
    assert run.outputs["parameters"].forecast_horizon_weeks == 6


def test_paths_are_made_absolute_where_the_run_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inputs = SeasonInputs(request=FAST_FASHION, data="data", out="plan", actuals="sales.csv")
    assert (inputs.data, inputs.out, inputs.actuals) == (
        str(tmp_path / "data"),
        str(tmp_path / "plan"),
        str(tmp_path / "sales.csv"),
    )
    with pytest.raises(ValueError, match="as a request in plain words or as parameters"):
        SeasonInputs(data="data")
