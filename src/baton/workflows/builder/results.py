"""What each stage of the build returns: the checkpoints, as pydantic models.

Every file a stage writes is an :class:`Artifact` that says what produced it — ``template`` (a
Jinja template), ``rules`` (deterministic code of baton) or ``model:<name>`` (a language model) —
so BUILD.md can say where each part of the repository came from.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from baton.workflows.builder.spec import BuildSpec, Requirement, RequirementStatus


class Stage(StrEnum):
    ARCHITECTURE = "architecture"  # idea or spec file → validated spec
    REPOSITORY = "repository"  # git repository with the project skeleton
    CODE = "code"  # the service and its tests
    GATE = "gate"  # ruff, mypy and pytest --cov of the generated project
    INFRASTRUCTURE = "infrastructure"  # Bicep, parameters, GitHub Actions, checkov
    DEPLOY = "deploy"  # local release or Azure plan
    DOCS = "docs"  # README, API reference, COSTS.md, BUILD.md
    NOTIFY = "notify"  # optional webhook


class Artifact(BaseModel):
    path: str = Field(description="relative to the repository root")
    produced_by: str = Field(description="`template`, `rules` or `model:<name>`")
    sha256: str = ""


class StageResult(BaseModel):
    duration_s: float = 0.0
    artifacts: list[Artifact] = Field(default_factory=list)


class ArchitectureResult(StageResult):
    spec: BuildSpec
    source: str = Field(description="`idea`, or the spec file it was read from")
    produced_by: str = "rules"
    out_dir: str
    build_id: str
    clock: int | None = Field(
        default=None,
        description="the build's clock (seconds since the epoch): the date of every commit it makes; "
        "a replay has its source's, so it makes the same commits",
    )


class RepositoryResult(StageResult):
    path: str
    commit: str
    branch: str = "main"
    remote_url: str | None = None
    pushed: bool = False


class CodeResult(StageResult):
    """``duration_s`` is the whole stage's time: the templates' (``template_s``) and the crew's (``crew_s``)."""

    commit: str
    requirements_hash: str
    files: int
    template_s: float = 0.0
    crew_s: float = 0.0


class CheckResult(BaseModel):
    name: str
    command: list[str]
    passed: bool
    exit_code: int
    duration_s: float
    output: str = Field(default="", description="the last lines of the tool's output")


class GateReport(StageResult):
    passed: bool
    checks: list[CheckResult]
    tests_passed: int = 0
    tests_failed: int = 0
    coverage: float = 0.0
    coverage_threshold: float = 80.0
    venv: str
    venv_reused: bool
    failure: str | None = None


class Finding(BaseModel):
    check_id: str
    check_name: str
    file: str
    resource: str
    framework: str
    guideline: str | None = None


class FileScan(BaseModel):
    """What the validator saw of one generated file: the resources it parsed and the checks they got."""

    path: str
    framework: str
    resources: int = 0
    passed_checks: int = 0
    failed_checks: int = 0


class InfrastructureReport(StageResult):
    commit: str
    validator: str = "checkov"
    validator_version: str = ""
    passed_checks: int = 0
    failed_checks: int = 0
    skipped_checks: int = 0
    parsing_errors: list[str] = Field(default_factory=list, description="files checkov named as unparsable")
    parse_error_count: int = Field(default=0, description="checkov's own count, also when it names no file")
    resources: dict[str, int] = Field(default_factory=dict, description="framework → resources scanned")
    files: list[FileScan] = Field(default_factory=list)
    not_scanned: list[str] = Field(default_factory=list, description="generated files no check looked at")
    findings: list[Finding] = Field(default_factory=list)
    valid: bool = Field(default=False, description="every file parsed and scanned (findings may remain)")


class DeployTarget(StrEnum):
    LOCAL = "local"  # a release folder and a real process on this machine
    AZURE = "azure"  # an `az` command plan, executed only with a logged-in az CLI


class SmokeCheck(BaseModel):
    name: str
    passed: bool
    detail: str = ""


class DeployResult(StageResult):
    target: DeployTarget
    release: str | None = None
    release_dir: str | None = None
    previous_release: str | None = None
    url: str | None = None
    pid: int | None = None
    port: int | None = None
    api_key_file: str | None = None
    smoke: list[SmokeCheck] = Field(default_factory=list)
    tries: int = 0
    plan_file: str | None = None
    executed: bool = False
    note: str = ""
    requirements: list[Requirement] = Field(
        default_factory=list, description="the spec's requirements, with the outcome of their checks"
    )


def requirement_counts(requirements: list[Requirement]) -> dict[str, int]:
    """How many requirements ended in each status, every status listed."""
    counts = {status.value: 0 for status in RequirementStatus}
    for requirement in requirements:
        counts[requirement.status.value] += 1
    return counts


class DocsResult(StageResult):
    commit: str
    requirements: list[Requirement] = Field(default_factory=list, description="the final requirements table")
    requirement_counts: dict[str, int] = Field(default_factory=dict, description="status → how many")
    monthly_costs: dict[str, float] = Field(default_factory=dict)
    price_table_date: str = ""


class NotifyResult(StageResult):
    sent: bool = False
    url: str | None = None
    status: int | None = None
    error: str | None = None
