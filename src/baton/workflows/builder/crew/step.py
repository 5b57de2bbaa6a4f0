"""How the crew joins the build: the ``code`` step renders the templates, then — when a model is
configured (or the run replays one) and the spec has requirements the templates could not express —
the coder works on them behind the gate, and the reviewer reads its diff. Without a model nothing
changes: the step is the template step.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baton.agents import AgentContext, call
from baton.core.errors import InvalidInputError
from baton.core.workflow import TaskContext
from baton.workflows.builder import _git, codegen, report
from baton.workflows.builder.architecture import BuildInputs, RulesRefusedError
from baton.workflows.builder.crew.agents import (
    ARCHITECT,
    REVIEWER,
    ArchitectInput,
    CoderInput,
    ReviewInput,
    coder_agent,
)
from baton.workflows.builder.crew.coder import CoderSession
from baton.workflows.builder.crew.models import (
    CREW_REPORT,
    CrewReport,
    CrewRequirement,
    CrewSettings,
    Outcome,
)
from baton.workflows.builder.results import (
    ArchitectureResult,
    Artifact,
    CodeResult,
    RepositoryResult,
    Stage,
)
from baton.workflows.builder.spec import AcceptanceCheck, BuildSpec, RequirementStatus

CREW_EVENT = "crew.report"


class ArchitectRefusedError(InvalidInputError):
    """Neither the rules nor the model made a spec of the idea: the build stops before writing anything."""

    def __init__(self, rules_said: str, model_said: str) -> None:
        super().__init__(
            f"no spec could be made of the idea: the rules could not read it ({rules_said[:300]}), and "
            f"{model_said[:400]}",
            fields={"idea": "no spec"},
            hint="nothing was written. Reword the idea (what it takes, what it answers), write spec.yaml "
            "and pass --spec, or configure another model in BATON_CONFIG and build again",
        )


def crew_requirements(spec: BuildSpec, idea: str) -> list[CrewRequirement]:
    """The requirements the templates could not implement: the spec's ``not implemented`` ones (with the
    reason the rules gave), else — a spec without requirements — the idea itself as one."""
    if spec.requirements:
        return [
            CrewRequirement(
                id=r.id,
                text=r.text + (f" (templates: {r.reason})" if r.reason else ""),
                checks=[c.model_dump(mode="json", exclude_defaults=True) for c in r.checks],
            )
            for r in spec.requirements
            if r.status is RequirementStatus.NOT_IMPLEMENTED
        ]
    return [CrewRequirement(id="R1", text=idea.strip())] if idea.strip() else []


def spec_after_crew(spec: BuildSpec, repo: Path) -> BuildSpec:
    """The spec's requirements as the crew left them: what it implemented is pending its acceptance
    checks (the deploy stage runs them: honoured or failed), what it did not is said with the reason."""
    report = read_report(repo)
    if report is None or not report.ran or not spec.requirements:
        return spec
    outcomes = {o.id: o for o in report.requirements}
    produced = f"model:{report.models[0]}" if report.models else "model"
    changed = []
    for requirement in spec.requirements:
        outcome = outcomes.get(requirement.id)
        if outcome is None or requirement.status is not RequirementStatus.NOT_IMPLEMENTED:
            changed.append(requirement)
            continue
        if outcome.status is Outcome.IMPLEMENTED and outcome.checks:
            checks = [AcceptanceCheck.model_validate(c) for c in outcome.checks]
            update: dict[str, Any] = {
                "status": RequirementStatus.PENDING,
                "implemented_by": produced,
                "checks": checks,
                "reason": None,
            }
        elif outcome.status is Outcome.IMPLEMENTED:
            update = {
                "implemented_by": produced,
                "reason": f"written by the crew ({outcome.note[:200]}) but with no acceptance check to prove it",
            }
        elif outcome.status is Outcome.FAILED:
            update = {"status": RequirementStatus.FAILED, "reason": outcome.note[:600]}
        else:
            update = {"reason": f"{outcome.note[:400]} (crew)"}
        changed.append(requirement.model_copy(update=update))
    return spec.model_copy(update={"requirements": changed})


def crew_settings(ctx: TaskContext) -> CrewSettings:
    raw = ctx.options.get("crew") or {}
    return CrewSettings.model_validate(raw if isinstance(raw, dict) else {})


def write_report(repo: Path, report: CrewReport) -> None:
    meta = repo / ".baton-build"
    meta.mkdir(exist_ok=True)
    (meta / CREW_REPORT).write_text(report.model_dump_json(indent=2), encoding="utf-8")


def read_report(repo: Path) -> CrewReport | None:
    path = repo / ".baton-build" / CREW_REPORT
    if not path.exists():
        return None
    try:
        return CrewReport.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def build_md_section(repo: Path) -> str:
    """The crew's part of BUILD.md (empty when the crew did not run)."""
    report = read_report(repo)
    if report is None or not report.ran:
        return ""
    lines = [
        "",
        "## The crew (model-written code)",
        "",
        f"{report.turns} model turns, {report.tool_calls} tool calls, {report.tokens_in + report.tokens_out} "
        f"tokens ({', '.join(report.models) or 'no model answered'}); what they cost is in the build's "
        "run (`baton costs RUN`).",
        "",
        "| requirement | status | note |",
        "|---|---|---|",
    ]
    for item in report.requirements:
        note = item.note.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {item.id} {item.text[:80]} | {item.status} | {note[:200]} |")
    lines += ["", "Rounds (each a commit):", ""]
    lines += [
        f"- round {r.round}: {'green' if r.passed else 'red'} — {r.summary} ({r.commit[:10]})"
        for r in report.rounds
    ]
    if not report.rounds:
        lines.append("- none finished")
    if report.reset_to_green:
        lines.append(
            f"\nThe work never got green: the repository was reset to {report.start_commit[:10]}; "
            f"the attempt is kept on branch `{report.kept_attempt}`. Reason: {report.reason}"
        )
    lines += ["", "### Review", ""]
    lines += [f"- {finding}" for finding in report.review] or ["- no findings"]
    if report.security:
        lines += ["", "Security rules (ruff S) on the crew's files:", ""]
        lines += [f"- {finding}" for finding in report.security]
    return "\n".join(lines) + "\n"


async def run_crew(
    inputs: BuildInputs,
    architecture: ArchitectureResult,
    result: CodeResult,
    ctx: TaskContext,
    agents: AgentContext,
) -> CodeResult:
    repo = Path(architecture.out_dir)
    requirements = crew_requirements(architecture.spec, inputs.idea)
    if not requirements:
        write_report(repo, CrewReport(ran=False, reason="no requirement left for the crew"))
        return result
    session = CoderSession(
        agents,
        architecture.spec,
        repo,
        requirements,
        crew_settings(ctx),
        progress=lambda text: ctx.progress(70, text),
        commit_date=architecture.clock,
    )
    coded = await call(
        coder_agent(session),
        CoderInput(
            repo=str(repo), spec=architecture.spec, requirements=requirements, settings=session.settings
        ),
        agents,
    )
    report: CrewReport = coded.output.report
    if report.files_written and not report.reset_to_green:
        reviewed = await call(
            REVIEWER, ReviewInput(repo=str(repo), spec=architecture.spec, report=report), agents
        )
        report = reviewed.output.report
        verdict, findings = reviewed.output.verdict, reviewed.output.findings
        if verdict == "send_back" and findings:
            report.review.append("sent back once; the coder answered in the next round")
            await session.revise(report, findings)
    write_report(repo, report)
    recorded = _record_requirements(architecture, repo)
    ctx.emit(CREW_EVENT, report.model_dump(mode="json", exclude={"files_written"}))
    ctx.log(
        f"crew: {sum(r.status is Outcome.IMPLEMENTED for r in report.requirements)}/{len(report.requirements)} "
        f"requirements implemented, {report.turns} turns, ${report.cost_usd:.4f}"
        + (f"; reset to green ({report.reason})" if report.reset_to_green else "")
    )
    produced = f"model:{report.models[0]}" if report.models else "model"
    written = [Artifact(path=p, produced_by=produced) for p in report.files_written]
    kept = [a for a in result.artifacts if a.path not in set(report.files_written)]
    if recorded is not None:
        kept = [a for a in kept if a.path != codegen.REQUIREMENTS_JSON]
        written.append(Artifact(path=codegen.REQUIREMENTS_JSON, produced_by=f"template, {produced}"))
    return result.model_copy(
        update={
            "commit": recorded or report.final_commit or result.commit,
            "artifacts": [*kept, *written],
        }
    )


def _record_requirements(architecture: ArchitectureResult, repo: Path) -> str | None:
    """Write the crew's requirements (what it implemented, with the checks it wrote) into the project's
    ``tests/requirements.json``, so its own tests run them too; commit. The commit, or None if unchanged."""
    after = spec_after_crew(architecture.spec, repo)
    path = repo / codegen.REQUIREMENTS_JSON
    text = codegen.requirements_json(after)
    if not path.is_file() or path.read_text(encoding="utf-8") == text:
        return None
    path.write_text(text, encoding="utf-8")
    return _git.commit_all(
        repo,
        "Record the crew's requirements and their checks in tests/requirements.json (baton)",
        [codegen.REQUIREMENTS_JSON],
        date=architecture.clock,
    )


def _producer(result: CodeResult) -> str:
    """`template`, plus the crew's model when it wrote any of the stage's files."""
    models = sorted({a.produced_by for a in result.artifacts if a.produced_by.startswith("model")})
    return ", ".join(["template", *models])


def with_crew(template_step: Callable[..., CodeResult]) -> Callable[..., Any]:
    """The ``code`` step: ``template_step`` (in a thread), then the crew when a model can answer."""

    async def code(
        inputs: BuildInputs, architecture: ArchitectureResult, repository: RepositoryResult, ctx: TaskContext
    ) -> CodeResult:
        result = await asyncio.to_thread(template_step, architecture, repository, ctx)
        result.template_s = result.duration_s
        agents = AgentContext.for_task(ctx)
        if not agents.model_available:
            return result
        started = time.perf_counter()
        crewed = await run_crew(inputs, architecture, result, ctx, agents)
        crew_s = round(time.perf_counter() - started, 3)
        total = round(result.template_s + crew_s, 3)
        # the stage's time in the build's ledger (BUILD.md's stages, `stages.json`) is the crew's too
        report.record(
            Path(architecture.out_dir), Stage.CODE, "succeeded", total, produced_by=_producer(crewed)
        )
        return crewed.model_copy(update={"crew_s": crew_s, "duration_s": total})

    code.__doc__ = template_step.__doc__
    return code


def crew_summary(repo: Path) -> dict[str, Any] | None:
    report = read_report(repo)
    return json.loads(report.model_dump_json()) if report is not None else None


def with_architect(rules_step: Callable[..., ArchitectureResult]) -> Callable[..., Any]:
    """The ``architecture`` step: the rules (always, in a thread), then the model's spec when one can answer.

    When the rules refuse the idea (a converter, a relay: nothing to keep) and a model is configured, the
    architect is asked all the same; when its answer fails too, the build ends here with
    :class:`ArchitectRefusedError` — before any file is written."""

    async def architecture(inputs: BuildInputs, ctx: TaskContext) -> ArchitectureResult:
        started = time.perf_counter()
        result = await _design(inputs, ctx)
        # the stage's time is the architect's too, not only the rules' reading
        return result.model_copy(update={"duration_s": round(time.perf_counter() - started, 3)})

    async def _design(inputs: BuildInputs, ctx: TaskContext) -> ArchitectureResult:
        agents = AgentContext.for_task(ctx)
        asks_model = bool(inputs.idea.strip()) and agents.model_available
        try:
            result: ArchitectureResult | None = await asyncio.to_thread(rules_step, inputs, ctx)
        except RulesRefusedError as refusal:
            if not asks_model:
                raise
            result, rules_said = None, refusal.message
            ctx.log(f"architect: the rules could not read the idea ({rules_said}); the model is asked")
        if result is not None and not asks_model:
            return result
        rules = result.spec if result is not None else None
        designed = await call(ARCHITECT, ArchitectInput(inputs=inputs, rules=rules), agents)
        spec, produced_by, refused = designed.output.spec, designed.produced_by, designed.output.refused
        if result is None:
            if spec is None or refused is not None:
                raise ArchitectRefusedError(rules_said, refused or "the model gave no spec")
            ctx.log(f"architect: the spec is the model's ({produced_by})")
            said = f"the rules could not read the idea ({rules_said[:200]}); this spec is the model's"
            spec = spec.model_copy(update={"assumptions": [*spec.assumptions, said]})
            designed_result = await asyncio.to_thread(rules_step, inputs, ctx, spec)
            return designed_result.model_copy(update={"produced_by": produced_by})
        if refused is not None or spec is None:
            note = f"{refused}: the rules' spec is used"
            ctx.log(f"architect: {note}")
            spec = result.spec.model_copy(update={"assumptions": [*result.spec.assumptions, note]})
        else:
            ctx.log(f"architect: the spec is the model's ({produced_by})")
        return result.model_copy(update={"spec": spec, "produced_by": produced_by})

    architecture.__doc__ = rules_step.__doc__
    return architecture
