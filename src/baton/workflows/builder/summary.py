"""The build's run report: its requirements table and headline, for `GET /runs/{id}`, `baton status` and
the dashboard.

Made from the ``architecture`` and ``deploy`` checkpoints (the deploy stage ran every requirement's
acceptance checks against the running service), so it is there as soon as the service is checked —
before the docs are written.
"""

from __future__ import annotations

from baton.core.report import ReportRow, RowOutcome, RunReport
from baton.workflows.builder.results import ArchitectureResult, DeployResult, requirement_counts
from baton.workflows.builder.spec import RequirementStatus

WORDS = {
    RequirementStatus.HONOURED: "honoured",
    RequirementStatus.NOT_IMPLEMENTED: "not implemented",
    RequirementStatus.FAILED: "failed",
    RequirementStatus.PENDING: "not checked",
}
OUTCOMES = {
    RequirementStatus.HONOURED: RowOutcome.MET,
    RequirementStatus.NOT_IMPLEMENTED: RowOutcome.NOT_IMPLEMENTED,
    RequirementStatus.FAILED: RowOutcome.FAILED,
    RequirementStatus.PENDING: RowOutcome.UNCHECKED,
}
IMPLEMENTED_BY = "implemented by"


def headline(deploy: DeployResult) -> str:
    """`requirements 3/5 honoured, 1 not implemented, 1 failed` (the others named only when there are any)."""
    counts = requirement_counts(deploy.requirements)
    line = f"requirements {counts[RequirementStatus.HONOURED.value]}/{len(deploy.requirements)} honoured"
    others = [
        f"{counts[status.value]} {WORDS[status]}"
        for status in (RequirementStatus.NOT_IMPLEMENTED, RequirementStatus.FAILED, RequirementStatus.PENDING)
        if counts[status.value]
    ]
    return ", ".join([line, *others])


def build_report(architecture: ArchitectureResult, deploy: DeployResult) -> RunReport:
    """The requirements table: each requirement of the idea, its outcome, what implements it and why."""
    spec = architecture.spec
    rows = [
        ReportRow(
            id=requirement.id,
            subject=requirement.text,
            status=WORDS[requirement.status],
            outcome=OUTCOMES[requirement.status],
            # a requirement no check has run on says so, whatever the spec's reason was
            reason=requirement.reason
            or ("its checks did not run" if requirement.status is RequirementStatus.PENDING else None),
            cells={IMPLEMENTED_BY: requirement.implemented_by or "nothing"},
        )
        for requirement in deploy.requirements
    ]
    facts = {"stack": spec.stack.value, "deployed to": deploy.target.value}
    if deploy.url:
        facts["service"] = deploy.url
    if deploy.release:
        facts["release"] = deploy.release
    if deploy.plan_file:
        facts["plan"] = deploy.plan_file
    facts["repository"] = architecture.out_dir
    notes = [deploy.note] if deploy.note else []
    notes += [f"assumed: {line}" for line in spec.assumptions]
    return RunReport(
        title=f"{spec.title}: requirements",
        headline=headline(deploy),
        subject_label="requirement",
        columns=[IMPLEMENTED_BY],
        rows=rows,
        facts=facts,
        notes=notes,
    )
