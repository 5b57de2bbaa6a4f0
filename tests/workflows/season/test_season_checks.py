"""What a skeptical user found: a scope the data lacks, a season's last day, no replenishment without a
holdback, and the report's verdicts — each through the real engine on a SQLite store, and the workflow's
input check that POST /runs and `baton season plan` share."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from baton.core.errors import InvalidInputError
from baton.core.states import RunState
from baton.engine import WorkerSettings, run_to_end, start_run
from baton.store.runs import run_outputs
from baton.store.store import Store
from baton.workflows.season import SeasonParameterError, extract_parameters, workflow
from baton.workflows.season.inputs import SeasonInputs, read_season_request

FAST = WorkerSettings(poll_interval=0.05, heartbeat_every=0.5, lease_seconds=30)
TODAY = date(2026, 1, 12)
CATEGORIES = ["basics", "outerwear", "swimwear"]
BASE = "12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC"
NOT_A_CATEGORY = "'raincoats' is not a category of the data (basics, outerwear, swimwear)"


@pytest.mark.parametrize(
    "request_text",
    [
        f"{BASE}, raincoats only",
        f"{BASE}, only raincoats",
        f"{BASE}, just the raincoats",
        f"{BASE}, for raincoats",
        f"{BASE}, category raincoats",
        f"raincoats: {BASE}",
        f"Raincoats only: {BASE}, 30% off swimwear in week 8",
    ],
)
def test_a_scope_the_data_lacks_is_refused_naming_the_data_categories(request_text: str) -> None:
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters(request_text, today=TODAY, categories=CATEGORIES)
    assert NOT_A_CATEGORY.lower() in caught.value.message.lower()
    assert list(caught.value.invalid) == ["category"]
    assert "category of the data" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "request_text",
    [
        f"{BASE}, 30% off swimwear in week 8",  # a markdown instruction, not a scope
        f"{BASE}, only for the north region stores",  # a store group: said as not read, not refused
        f"{BASE}, plan for the summer",
        f"{BASE}, markdowns only from week 8",
        f"{BASE}, for 12 weeks only",
        f"Spring 2026: {BASE}",
        f"{BASE}, swimwear only",
    ],
)
def test_words_that_name_no_scope_or_a_real_one_are_not_refused(request_text: str) -> None:
    groups = {"region": ["east", "north", "south", "west"]}
    found = extract_parameters(request_text, today=TODAY, categories=CATEGORIES, store_groups=groups)
    assert found.category in (None, "swimwear")


@pytest.mark.parametrize(
    ("request_text", "said", "category"),
    [(f"{BASE}, basic only", "basic", "basics"), (f"Swimwears: {BASE}", "Swimwears", "swimwear")],
)
def test_a_scope_in_the_other_number_is_the_category(request_text: str, said: str, category: str) -> None:
    found = extract_parameters(request_text, today=TODAY, categories=CATEGORIES)
    assert found.category == category
    assert f"'{said}' → only category {category} is planned" in found.readings


def test_a_near_miss_says_which_category_was_meant() -> None:
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters(f"{BASE}, only outerware", today=TODAY, categories=CATEGORIES)
    assert "did you mean outerwear?" in caught.value.message


def test_without_the_data_categories_no_scope_is_judged() -> None:
    # the files could not be read: the context step refuses them, not the reading of the request
    assert extract_parameters(f"{BASE}, raincoats only", today=TODAY).category is None


def test_a_season_given_through_its_last_day_is_whole_weeks() -> None:
    through = extract_parameters(
        "from March 2nd 2026 through May 24th 2026, weekly, keep 10% at the DC", today=TODAY
    )
    assert through.forecast_horizon_weeks == 12 and through.last_day == date(2026, 5, 24)
    assert through.season_end_date == date(2026, 5, 25)  # machine-readable: the day after, documented
    assert "'May 24th 2026' → season's last day 2026-05-24" in through.readings, through.readings
    to = extract_parameters("from March 2nd 2026 to May 25th 2026, weekly, keep 10% at the DC", today=TODAY)
    assert to.forecast_horizon_weeks == 12 and to.last_day == date(2026, 5, 24)


def test_no_replenishment_without_a_holdback_reads_zero_and_says_why() -> None:
    found = extract_parameters("8 weeks from next Monday, no replenishment", today=TODAY)
    assert found.dc_holdback_percentage == 0.0
    said = [line for line in found.readings if "0% DC holdback" in line]
    assert len(said) == 1 and said[0].startswith("'no replenishment' → 0% DC holdback (assumed: ")
    assert "say 'keep 10% at the DC' to hold a reserve" in said[0]
    # a holdback said is kept; with replenishment one is still needed
    kept = extract_parameters("8 weeks from next Monday, one-shot buy, keep 5% at the DC", today=TODAY)
    assert kept.dc_holdback_percentage == 0.05
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters("8 weeks from next Monday, weekly", today=TODAY)
    assert caught.value.missing == ["dc_holdback_percentage"]


async def test_a_plan_without_replenishment_or_holdback_through_the_engine(
    sqlite_store: Store, small_data: Path, tmp_path: Path
) -> None:
    request = "8 weeks from March 2nd 2026, no replenishment"
    run_id = start_run(
        sqlite_store,
        "baton.workflows.season:workflow",
        {"request": request, "data": str(small_data), "out": str(tmp_path / "plan")},
    )
    assert await run_to_end(sqlite_store, run_id, FAST) is RunState.SUCCEEDED
    with sqlite_store.read() as conn:
        outputs = run_outputs(conn, run_id)
    report = workflow.report_of({name: json.dumps(value) for name, value in outputs.items()})
    assert outputs["parameters"]["dc_holdback_percentage"] == 0.0
    for category in outputs["inventory"]["summary"]["categories"]:
        assert category["dc_holdback"] == 0 and category["allocated_to_stores"] == category["initial_buy"]
    plan = (tmp_path / "plan" / "PLAN.md").read_text()
    # the season's last day, included, is what a person reads — never the exclusive end 2026-04-27
    assert "Season **2026-03-02 → 2026-04-26** (8 weeks, last day included)" in plan
    assert "2026-04-27" not in plan
    assert "'no replenishment' → 0% DC holdback (assumed: no holdback was said" in plan
    assert "no replenishment and no DC holdback: the whole buy is sent to the stores" in plan
    assert report is not None
    assert report.facts["season"] == "2026-03-02 → 2026-04-26 (8 weeks, last day included)"
    # the category rows are the plan simulating itself: facts, with no verdict; the backtest has one
    *categories, backtest = report.rows
    assert categories and all(row.outcome.value == "info" for row in categories)
    assert all(row.status.startswith("projected to") for row in categories)
    assert backtest.id == "backtest" and backtest.outcome.value in ("met", "failed", "unchecked")
    assert (
        report.verdict.value
        == {"met": "all_met", "failed": "failed", "unchecked": "incomplete"}[backtest.outcome.value]
    )


def _inputs(data: Path, tmp_path: Path, request: str) -> SeasonInputs:
    parsed = workflow.parse_inputs({"request": request, "data": str(data), "out": str(tmp_path / "plan")})
    assert isinstance(parsed, SeasonInputs)
    return parsed


def test_the_input_check_refuses_what_the_first_step_would_fail_on(small_data: Path, tmp_path: Path) -> None:
    with pytest.raises(SeasonParameterError) as caught:
        workflow.check_inputs(_inputs(small_data, tmp_path, "plan the summer"))
    assert caught.value.missing == [
        "forecast_horizon_weeks",
        "season_start_date",
        "replenishment_strategy",
        "dc_holdback_percentage",
    ]
    with pytest.raises(SeasonParameterError, match="raincoats"):
        workflow.check_inputs(_inputs(small_data, tmp_path, f"{BASE}, raincoats only"))
    with pytest.raises(InvalidInputError, match=r"the data folder .* is not there"):
        workflow.check_inputs(_inputs(tmp_path / "absent", tmp_path, BASE))
    found = workflow.check_inputs(_inputs(small_data, tmp_path, BASE))
    assert found.forecast_horizon_weeks == 12 and (tmp_path / "plan").is_dir()


def test_with_a_model_only_what_is_missing_is_left_to_it(small_data: Path, tmp_path: Path) -> None:
    # missing fields: the run's parameters step asks the model, so the check lets the run be stored
    assert read_season_request(_inputs(small_data, tmp_path, "plan the summer"), model=True) is None
    # what is wrong, not missing, no model can fill: refused as without one
    with pytest.raises(SeasonParameterError, match="raincoats"):
        read_season_request(_inputs(small_data, tmp_path, "8 weeks, raincoats only"), model=True)


def test_a_workflow_names_one_input_check_and_gets_the_callers_context() -> None:
    from pydantic import BaseModel

    from baton.core.errors import WorkflowDefinitionError
    from baton.core.workflow import Workflow

    class Inputs(BaseModel):
        n: int

    plain = Workflow("plain", inputs=Inputs)
    assert plain.check_inputs(Inputs(n=1)) is None  # no check: nothing to refuse
    seen: list[tuple[int, dict[str, object]]] = []
    checked = Workflow("checked", inputs=Inputs)
    checked.check(lambda inputs, context: seen.append((inputs.n, context)) or "read")
    assert checked.check_inputs(Inputs(n=2), context={"k": "v"}) == "read"
    assert seen == [(2, {"k": "v"})]
    with pytest.raises(WorkflowDefinitionError, match="names its input check twice"):
        checked.check(lambda inputs, context: None)
