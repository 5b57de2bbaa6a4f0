"""A workflow's report: declared on the workflow, made from checkpoints through the real engine and store."""

from __future__ import annotations

import json

import baton_test_flows as flows
import pytest
from pydantic import BaseModel, ValidationError

from baton import ReportRow, RowOutcome, RunReport, TaskContext, Workflow
from baton.core.errors import ReportError, WorkflowDefinitionError
from baton.core.report import Verdict
from baton.core.states import RunState
from baton.engine import WorkerSettings, approve_task, run_to_end, start_run
from baton.engine.reports import read_report
from baton.store.runs import run_outputs
from baton.store.store import Store
from baton.store.tasks import list_tasks

FAST = WorkerSettings(poll_interval=0.05, heartbeat_every=0.5, lease_seconds=5)


def _row(outcome: RowOutcome, reason: str | None = "why") -> ReportRow:
    return ReportRow(id="x", subject="s", status=outcome.value, outcome=outcome, reason=reason)


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        ([], Verdict.NOTHING_CHECKED),
        ([RowOutcome.INFO, RowOutcome.INFO], Verdict.NOTHING_CHECKED),
        ([RowOutcome.MET, RowOutcome.INFO], Verdict.ALL_MET),
        ([RowOutcome.MET, RowOutcome.UNCHECKED], Verdict.INCOMPLETE),
        ([RowOutcome.MET, RowOutcome.NOT_IMPLEMENTED], Verdict.INCOMPLETE),
        ([RowOutcome.NOT_IMPLEMENTED, RowOutcome.FAILED, RowOutcome.MET], Verdict.FAILED),
    ],
)
def test_the_verdict_comes_from_the_rows(outcomes: list[RowOutcome], verdict: Verdict) -> None:
    report = RunReport(title="t", headline="h", rows=[_row(o) for o in outcomes])
    assert report.verdict is verdict
    dumped = report.model_dump(mode="json")
    assert dumped["verdict"] == verdict.value
    assert sum(dumped["counts"].values()) == len(outcomes) and set(dumped["counts"]) == set(RowOutcome)


def test_a_workflow_cannot_claim_a_verdict_and_rows_left_over_say_why() -> None:
    with pytest.raises(ValidationError, match="verdict"):
        RunReport(title="t", headline="h", verdict="all_met")  # type: ignore[call-arg]
    for outcome in (RowOutcome.FAILED, RowOutcome.NOT_IMPLEMENTED):
        with pytest.raises(ValidationError, match="gives no reason"):
            _row(outcome, reason="  ")
    assert _row(RowOutcome.UNCHECKED, reason=None).reason is None


class Numbers(BaseModel):
    values: list[int]


def _two_steps() -> Workflow:
    wf = Workflow("two")

    @wf.step()
    def numbers() -> Numbers:
        return Numbers(values=[1, 2])

    @wf.step()
    def total(numbers: Numbers) -> int:
        return sum(numbers.values)

    return wf


def test_declaring_a_report_is_checked() -> None:
    wf = _two_steps()

    def takes_context(total: int, ctx: TaskContext) -> RunReport:
        raise NotImplementedError

    with pytest.raises(WorkflowDefinitionError, match="takes ctx"):
        wf.report(takes_context)
    with pytest.raises(WorkflowDefinitionError, match="reads no step"):
        wf.report(lambda: RunReport(title="t", headline="h"))

    def of_a_missing_step(totals: int) -> RunReport:
        raise NotImplementedError

    wf.report(of_a_missing_step)
    with pytest.raises(WorkflowDefinitionError, match="its report reads 'totals', which is not a step"):
        wf.validate()
    with pytest.raises(WorkflowDefinitionError, match="names its report twice"):
        wf.report(of_a_missing_step)


def test_a_report_gets_typed_checkpoints_and_says_which_steps_made_it() -> None:
    wf = _two_steps()

    @wf.report(uses={"sum_of": "total"})
    def summary(numbers: Numbers, sum_of: int) -> RunReport:
        return RunReport(title="sum", headline=f"{len(numbers.values)} numbers make {sum_of}")

    wf.validate()
    assert wf.report_declaration is not None and wf.report_declaration.steps == ("numbers", "total")
    assert wf.report_of({"numbers": '{"values": [1, 2]}'}) is None  # `total` has no checkpoint yet
    report = wf.report_of({"numbers": '{"values": [1, 2]}', "total": "3"})
    assert report is not None and report.headline == "2 numbers make 3"
    assert report.source == ["numbers", "total"]
    with pytest.raises(ReportError, match=r"could not be made from the checkpoints of numbers, total"):
        wf.report_of({"numbers": '{"values": "many"}', "total": "3"})
    assert _two_steps().report_of({"numbers": "{}"}) is None  # no report named


async def test_a_report_is_made_once_its_steps_succeeded(store: Store) -> None:
    run_id = start_run(store, "baton_test_flows:graded", {})
    with store.read() as conn:
        assert read_report(conn, flows.graded, list_tasks(conn, run_id)) is None
    assert await run_to_end(store, run_id, FAST) is RunState.WAITING
    with store.read() as conn:  # `mark` succeeded, `publish` waits for a human: no report yet
        assert read_report(conn, flows.graded, list_tasks(conn, run_id)) is None
    approve_task(store, run_id, "publish", by="test")
    assert await run_to_end(store, run_id, FAST) is RunState.SUCCEEDED
    with store.read() as conn:
        report = read_report(conn, flows.graded, list_tasks(conn, run_id))
        outputs = run_outputs(conn, run_id)
    assert report is not None
    marks = outputs["mark"]["marks"]
    assert [row.id for row in report.rows] == list(marks)
    assert {row.id: row.cells["score"] for row in report.rows} == {k: str(v) for k, v in marks.items()}
    assert {row.id: row.outcome for row in report.rows} == {
        "maths": RowOutcome.MET,
        "art": RowOutcome.FAILED,
        "music": RowOutcome.NOT_IMPLEMENTED,
    }
    assert report.verdict is Verdict.FAILED and report.facts == {"published": str(outputs["publish"])}


async def test_a_failing_report_function_is_a_report_error_and_the_run_is_untouched(
    sqlite_store: Store,
) -> None:
    run_id = start_run(sqlite_store, "baton_test_flows:graded", {"broken": True})
    assert await run_to_end(sqlite_store, run_id, FAST) is RunState.WAITING
    approve_task(sqlite_store, run_id, "publish", by="test")
    assert await run_to_end(sqlite_store, run_id, FAST) is RunState.SUCCEEDED
    with sqlite_store.read() as conn:
        with pytest.raises(ReportError, match="ValueError: the grade book is torn") as raised:
            read_report(conn, flows.graded, list_tasks(conn, run_id))
        assert json.loads(json.dumps(run_outputs(conn, run_id)))["publish"] == 3
    assert "GET /runs/{id}/outputs" in raised.value.hint
