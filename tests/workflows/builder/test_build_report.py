"""The build's run report, for every status a requirement can end in (the end-to-end report tests, through
a real server, see only the statuses one idea gives: tests/server/test_reports.py)."""

from __future__ import annotations

from baton.core.report import RowOutcome, RunReport, Verdict
from baton.workflows.builder import ArchitectureResult, DeployResult, DeployTarget, extract_spec, workflow
from baton.workflows.builder.spec import Requirement, RequirementStatus
from baton.workflows.builder.summary import build_report

IDEA = "A clinic API: each pet has an owner and many visits. Every night it fetches vaccine prices from a supplier"


def _report(
    statuses: list[RequirementStatus], *, target: DeployTarget = DeployTarget.LOCAL
) -> tuple[RunReport, list[Requirement]]:
    spec = extract_spec(IDEA)
    requirements = [
        r.model_copy(
            update={
                "status": status,
                "reason": r.reason
                or (
                    "check 2 (create: POST /pets): status 500" if status is RequirementStatus.FAILED else None
                ),
            }
        )
        for r, status in zip(spec.requirements, statuses, strict=False)
    ]
    architecture = ArchitectureResult(spec=spec, source="idea", out_dir="/tmp/clinic", build_id="b1")
    deploy = DeployResult(
        target=target,
        url="http://127.0.0.1:1" if target is DeployTarget.LOCAL else None,
        requirements=requirements,
        note="" if target is DeployTarget.LOCAL else "plan only",
    )
    return build_report(architecture, deploy), requirements


def test_every_requirement_is_a_row_with_its_outcome_and_reason() -> None:
    spec = extract_spec(IDEA)
    assert any(r.status is RequirementStatus.NOT_IMPLEMENTED for r in spec.requirements)
    statuses = [
        RequirementStatus.NOT_IMPLEMENTED
        if r.status is RequirementStatus.NOT_IMPLEMENTED
        else (RequirementStatus.FAILED if n == 0 else RequirementStatus.HONOURED)
        for n, r in enumerate(spec.requirements)
    ]
    report, requirements = _report(statuses)
    assert [(row.id, row.subject, row.reason) for row in report.rows] == [
        (r.id, r.text, r.reason) for r in requirements
    ]
    outcomes = {row.outcome for row in report.rows}
    assert {RowOutcome.MET, RowOutcome.FAILED, RowOutcome.NOT_IMPLEMENTED} <= outcomes
    assert report.verdict is Verdict.FAILED
    honoured = statuses.count(RequirementStatus.HONOURED)
    assert report.headline == (
        f"requirements {honoured}/{len(statuses)} honoured, "
        f"{statuses.count(RequirementStatus.NOT_IMPLEMENTED)} not implemented, 1 failed"
    )
    failed = next(row for row in report.rows if row.outcome is RowOutcome.FAILED)
    assert failed.status == "failed" and "status 500" in (failed.reason or "")


def test_requirements_never_checked_are_not_called_honoured() -> None:
    spec = extract_spec(IDEA)
    statuses = [
        r.status if r.status is RequirementStatus.NOT_IMPLEMENTED else RequirementStatus.PENDING
        for r in spec.requirements
    ]
    report, _ = _report(statuses, target=DeployTarget.AZURE)
    assert report.verdict is Verdict.INCOMPLETE and report.counts["met"] == 0
    assert report.headline.startswith(f"requirements 0/{len(statuses)} honoured")
    assert "not checked" in report.headline and "plan only" in report.notes
    unchecked = [row for row in report.rows if row.outcome is RowOutcome.UNCHECKED]
    assert unchecked and all(row.status == "not checked" and row.reason for row in unchecked)
    assert "service" not in report.facts


def test_the_build_workflow_reports_from_its_deploy_checkpoint() -> None:
    declared = workflow.report_declaration
    assert declared is not None and declared.steps == ("architecture", "deploy")
    workflow.validate()
