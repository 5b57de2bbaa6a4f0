"""The ``build`` workflow: architecture → repository → code → gate ∥ infrastructure → deploy → docs → notify.

Each step is a thin shell around one stage's module; it times the stage, records it in the
repository's ledger, and on failure writes a BUILD.md that says the build failed there. Steps are
idempotent — files are rewritten only when they change, commits are made only when something
changed, a release already running and healthy is kept — so a retried task finishes the job.

Production deploys wait for ``baton approve``: the deploy step's approval is a function of the run's
inputs (:func:`needs_approval`), true for env prod.

The run's report (:mod:`.summary`) is the requirements table, made from the deploy checkpoint.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from baton.core.errors import BatonError, PermanentError
from baton.core.workflow import RetryPolicy, TaskContext, Workflow
from baton.workflows.builder import _git, codegen, costs, docs, github, notify, report
from baton.workflows.builder._openapi import openapi_document
from baton.workflows.builder.architecture import BuildInputs, design
from baton.workflows.builder.crew import step as crew
from baton.workflows.builder.deploy import deploy_azure, deploy_local, undo_local
from baton.workflows.builder.gate import GateFailedError, require_venv, run_gate
from baton.workflows.builder.infrastructure import bicep_file, write_infrastructure
from baton.workflows.builder.repository import create_repository
from baton.workflows.builder.results import (
    ArchitectureResult,
    Artifact,
    CodeResult,
    DeployResult,
    DeployTarget,
    DocsResult,
    GateReport,
    InfrastructureReport,
    NotifyResult,
    RepositoryResult,
    Stage,
    requirement_counts,
)
from baton.workflows.builder.spec import BuildSpec, Environment, load_spec
from baton.workflows.builder.summary import build_report
from baton.workflows.builder.venvs import requirements_hash

RETRY = RetryPolicy(attempts=3, backoff=1.0, permanent=(BatonError,))
MANIFEST = Path(".baton-build") / "code-manifest.json"


@contextmanager
def _stage(
    stage: Stage,
    architecture: ArchitectureResult,
    inputs: BuildInputs | None = None,
    ctx: TaskContext | None = None,
) -> Iterator[None]:
    repo = Path(architecture.out_dir)
    try:
        yield
    except BaseException as error:
        spec = architecture.spec
        report.write_failure_report(
            repo, stage, error, title=spec.title, source=architecture.source, assumptions=spec.assumptions
        )
        if inputs is not None and inputs.notify:
            facts = {"stage": stage.value, "error": str(error).splitlines()[0][:300], "repository": str(repo)}
            confine = ctx is not None and notify.confined(ctx.options)
            notify.send(inputs.notify, notify.message(spec.title, facts, succeeded=False), confine=confine)
        raise


def _done(stage: Stage, architecture: ArchitectureResult, started: float, produced_by: str) -> float:
    duration = round(time.perf_counter() - started, 3)
    report.record(Path(architecture.out_dir), stage, "succeeded", duration, produced_by=produced_by)
    return duration


def architecture(inputs: BuildInputs, ctx: TaskContext, spec: BuildSpec | None = None) -> ArchitectureResult:
    """Turn the idea (or spec file) into a validated spec (``spec``: the model's, when the rules had none)."""
    started = time.perf_counter()
    ctx.progress(10, "reading the idea" if inputs.idea else f"reading {inputs.spec_path}")
    result = design(inputs, spec)
    # The date of the build's commits: the run's clock (a replay's is its source's), not the wall clock.
    result.clock = int(ctx.clock if ctx.clock is not None else time.time())
    result.duration_s = round(time.perf_counter() - started, 3)
    entities = ", ".join(e.name for e in result.spec.entities)
    kept = (
        f"with {entities}"
        if entities
        else f"keeping no entities, {len(result.spec.requirements)} requirement(s)"
    )
    ctx.log(f"spec: {result.spec.stack.value} service {kept}", assumptions=result.spec.assumptions)
    return result


def repository(inputs: BuildInputs, architecture: ArchitectureResult, ctx: TaskContext) -> RepositoryResult:
    """Create the git repository with the project skeleton and the spec; first commit."""
    started = time.perf_counter()
    with _stage(Stage.REPOSITORY, architecture, inputs, ctx):
        result = create_repository(
            architecture.spec,
            Path(architecture.out_dir),
            github_owner=inputs.github_owner,
            date=architecture.clock,
        )
        # The architecture stage ran before there was a repository to keep its ledger in.
        report.record(
            Path(architecture.out_dir),
            Stage.ARCHITECTURE,
            "succeeded",
            architecture.duration_s,
            produced_by=architecture.produced_by,
        )
        result.duration_s = _done(Stage.REPOSITORY, architecture, started, "template")
    ctx.log(f"repository {result.path} at {result.commit[:10]}")
    return result


def _remove_stale(repo: Path, keep: set[str]) -> None:
    manifest = repo / MANIFEST
    if manifest.exists():
        for relative in set(json.loads(manifest.read_text(encoding="utf-8"))) - keep:
            (repo / relative).unlink(missing_ok=True)
    manifest.parent.mkdir(exist_ok=True)
    manifest.write_text(json.dumps(sorted(keep)), encoding="utf-8")


def code(architecture: ArchitectureResult, repository: RepositoryResult, ctx: TaskContext) -> CodeResult:
    """Render the service and its tests from templates, tidy them with the project's ruff, commit."""
    started = time.perf_counter()
    repo = Path(repository.path)
    with _stage(Stage.CODE, architecture):
        files = codegen.render_code_files(architecture.spec)
        _remove_stale(repo, set(files))
        artifacts = codegen.write_files(repo, files, "template")
        ctx.progress(40, "preparing the project's environment (cached by its requirements)")
        venv = require_venv(repo)
        codegen.tidy(repo, venv)
        commit = _git.commit_all(repo, "Generate the service and its tests (baton)", date=architecture.clock)
        digest = requirements_hash(files["requirements.txt"], files["requirements-dev.txt"])
        duration = _done(Stage.CODE, architecture, started, "template")
    return CodeResult(
        commit=commit,
        requirements_hash=digest,
        files=len(artifacts),
        artifacts=artifacts,
        duration_s=duration,
    )


def gate(architecture: ArchitectureResult, code: CodeResult, ctx: TaskContext) -> GateReport:
    """Run the generated project's ruff, mypy and pytest --cov; fail under 80% or on any failure."""
    started = time.perf_counter()
    with _stage(Stage.GATE, architecture):
        result = run_gate(Path(architecture.out_dir))
        result.duration_s = round(time.perf_counter() - started, 3)
        if not result.passed:
            raise GateFailedError(result)
        _done(Stage.GATE, architecture, started, "rules")
    ctx.log(f"gate passed: {result.tests_passed} tests, coverage {result.coverage:.1f}%")
    return result


def infrastructure(
    architecture: ArchitectureResult, code: CodeResult, ctx: TaskContext
) -> InfrastructureReport:
    """Write Bicep, parameter files and GitHub Actions; validate them with checkov; commit."""
    started = time.perf_counter()
    repo = Path(architecture.out_dir)
    with _stage(Stage.INFRASTRUCTURE, architecture):
        artifacts, result = write_infrastructure(architecture.spec, repo)
        result.commit = _git.commit_all(
            repo, "Add infrastructure and CI/CD (baton)", ["infra", ".github"], date=architecture.clock
        )
        result.artifacts = artifacts
        result.duration_s = _done(Stage.INFRASTRUCTURE, architecture, started, "template, rules")
    ctx.log(f"checkov: {result.passed_checks} passed, {result.failed_checks} failed")
    return result


def deploy(
    inputs: BuildInputs,
    architecture: ArchitectureResult,
    code: CodeResult,
    gate: GateReport,
    infrastructure: InfrastructureReport,
    ctx: TaskContext,
) -> DeployResult:
    """Deploy the tested commit: a local release with a smoke test, or the Azure plan."""
    return _deploy(inputs, architecture, code, gate, ctx)


def _deploy(
    inputs: BuildInputs,
    architecture: ArchitectureResult,
    code: CodeResult,
    gate: GateReport,
    ctx: TaskContext,
) -> DeployResult:
    started = time.perf_counter()
    repo = Path(architecture.out_dir)
    spec = crew.spec_after_crew(architecture.spec, repo)  # the crew's requirements, to be checked too
    with _stage(Stage.DEPLOY, architecture, inputs, ctx):
        if not gate.passed:
            raise PermanentError("the test gate did not pass; nothing is deployed")
        if inputs.target is DeployTarget.AZURE:
            result = deploy_azure(spec, repo, bicep_file(spec))
        else:
            ctx.progress(30, "starting the release and smoke-testing it")
            result = deploy_local(spec, repo, code.commit, require_venv(repo), port=inputs.port)
        result.duration_s = _done(Stage.DEPLOY, architecture, started, "rules")
    counts = requirement_counts(result.requirements)
    ctx.log(
        f"deployed: {result.url or result.plan_file}; requirements {counts['honoured']}/"
        f"{len(result.requirements)} honoured",
        requirements=counts,
    )
    return result


def undo_deploy(output: DeployResult) -> None:
    """Compensation of the deploy step: stop the release, point `current` back at the previous one."""
    if output.target is DeployTarget.LOCAL and output.release_dir:
        undo_local(Path(output.release_dir).parents[2], output)


def documentation(
    inputs: BuildInputs,
    architecture: ArchitectureResult,
    repository: RepositoryResult,
    code: CodeResult,
    gate: GateReport,
    infrastructure: InfrastructureReport,
    deploy: DeployResult,
    ctx: TaskContext,
) -> DocsResult:
    """Write README, API.md (from OpenAPI), COSTS.md and BUILD.md; commit (and push if there is a remote)."""
    started = time.perf_counter()
    spec = architecture.spec
    repo = Path(architecture.out_dir)
    with _stage(Stage.DOCS, architecture, inputs, ctx):
        document, openapi_by = openapi_document(spec, repo, require_venv(repo))
        texts = {
            "README.md": (docs.readme(spec, deploy.url, deploy.release, deploy.requirements), "template"),
            "docs/openapi.json": (json.dumps(document, indent=2) + "\n", openapi_by),
            "API.md": (docs.api_reference(spec, document, openapi_by), "template"),
            "COSTS.md": (docs.costs_md(spec), "rules"),
        }
        for relative, (text, _) in texts.items():
            docs.write_text(repo, relative, text)
        own = [Artifact(path=p, produced_by=by) for p, (_, by) in texts.items()]
        own.append(Artifact(path="BUILD.md", produced_by="rules"))
        durations = {
            Stage.ARCHITECTURE: architecture.duration_s,
            Stage.REPOSITORY: repository.duration_s,
            Stage.CODE: code.duration_s,
            Stage.GATE: gate.duration_s,
            Stage.INFRASTRUCTURE: infrastructure.duration_s,
            Stage.DEPLOY: deploy.duration_s,
            Stage.DOCS: round(time.perf_counter() - started, 3),
        }
        # one row per file: a file a later stage rewrote (README.md) is listed once, as that stage made it
        by_path = {
            a.path: a for a in [*repository.artifacts, *code.artifacts, *infrastructure.artifacts, *own]
        }
        artifacts = list(by_path.values())
        later = (
            {Stage.NOTIFY: "runs after this file is written: see `baton status RUN`"} if inputs.notify else {}
        )
        build_md = report.render_build_md(
            title=spec.title,
            source=architecture.source,
            stages=report.stage_rows(repo, durations, later=later),
            assumptions=spec.assumptions,
            gate=gate,
            infra=infrastructure,
            deploy=deploy,
            artifacts=artifacts,
            requirements=deploy.requirements,
        )
        docs.write_text(repo, "BUILD.md", build_md + crew.build_md_section(repo))
        commit = _git.commit_all(
            repo,
            "Document the service and the build (baton)",
            [*texts, "BUILD.md"],
            date=architecture.clock,
        )
        token = os.environ.get("GITHUB_TOKEN")
        if repository.pushed and token:
            origin = _git.git(repo, "remote", "get-url", "origin")
            github.push(
                repo,
                github.RemoteRepository(full_name="", clone_url=origin, html_url="", created=False),
                token,
            )
        duration = _done(Stage.DOCS, architecture, started, "template, rules")
    return DocsResult(
        requirements=deploy.requirements,
        requirement_counts=requirement_counts(deploy.requirements),
        commit=commit,
        artifacts=own,
        monthly_costs=costs.monthly_totals(spec),
        price_table_date=costs.PRICE_TABLE_DATE,
        duration_s=duration,
    )


def notification(
    inputs: BuildInputs,
    architecture: ArchitectureResult,
    gate: GateReport,
    deploy: DeployResult,
    docs: DocsResult,
    ctx: TaskContext,
) -> NotifyResult:
    """Send the Slack/Teams-compatible webhook when ``--notify URL`` was given."""
    if not inputs.notify:
        return NotifyResult(sent=False)
    facts = {
        "repository": architecture.out_dir,
        "tests": f"{gate.tests_passed} passed, coverage {gate.coverage:.1f}%",
        "service": deploy.url or deploy.plan_file or "",
        "monthly cost": ", ".join(f"{k} ${v:.2f}" for k, v in docs.monthly_costs.items()),
        "requirements": f"{docs.requirement_counts.get('honoured', 0)}/{len(docs.requirements)} honoured",
    }
    message = notify.message(architecture.spec.title, facts, succeeded=True)
    return notify.send(inputs.notify, message, confine=notify.confined(ctx.options))


def needs_approval(inputs: BuildInputs) -> bool:
    """Whether the deploy step waits for `baton approve`: a deploy to prod, by --env or by the spec file."""
    if inputs.env is not None:
        return inputs.env is Environment.PROD
    if inputs.spec_path:
        try:
            return load_spec(Path(inputs.spec_path).expanduser()).environment is Environment.PROD
        except BatonError:
            return False  # the architecture step reports the bad spec
    return False


def build_workflow() -> Workflow:
    """The build workflow (a fresh instance; :data:`workflow` is the one to start)."""
    wf = Workflow(
        "build", inputs=BuildInputs, description="an idea in plain words → a tested, deployed service"
    )
    wf.step(name="architecture", retry=RETRY, expected_duration=0.1)(crew.with_architect(architecture))
    wf.step(retry=RETRY, expected_duration=0.3)(repository)
    # With a model, the code step's crew writes what the templates cannot (see crew/step.py).
    wf.step(name="code", retry=RETRY, timeout=3600, expected_duration=3)(crew.with_crew(code))
    wf.step(retry=RETRY, timeout=1200, expected_duration=12)(gate)
    wf.step(retry=RETRY, timeout=600, expected_duration=6)(infrastructure)
    wf.step(retry=RETRY, approval=needs_approval, timeout=300, expected_duration=3, compensate=undo_deploy)(
        deploy
    )
    wf.step(name="docs", retry=RETRY, expected_duration=2)(documentation)
    wf.step(name="notify", retry=RETRY, expected_duration=0.1)(notification)
    wf.report(build_report)  # the requirements table, once the deploy stage has checked them
    return wf


workflow = build_workflow()
