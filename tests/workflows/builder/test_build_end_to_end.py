"""Ideas built end to end: the gate passed, the service answers, the artifacts validate."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from baton.workflows.builder import BuildSpec, LocalBuild, Stack, load_spec
from baton.workflows.builder._git import git
from baton.workflows.builder._smoke import sample_payload
from baton.workflows.builder.acceptance import attach_checks
from baton.workflows.builder.gate import require_venv
from baton.workflows.builder.spec import FieldType, RequirementStatus

pytestmark = pytest.mark.slow
BUILDS = ["library_build", "timer_build", "flask_build"]


@pytest.fixture(params=BUILDS)
def build(request: pytest.FixtureRequest) -> LocalBuild:
    result: LocalBuild = request.getfixturevalue(request.param)
    return result


def test_the_stacks_follow_the_ideas(
    library_build: LocalBuild, timer_build: LocalBuild, flask_build: LocalBuild
) -> None:
    assert library_build.architecture.spec.stack is Stack.FASTAPI
    assert timer_build.architecture.spec.stack is Stack.FUNCTIONS
    assert flask_build.architecture.spec.stack is Stack.FLASK
    assert [j.name for j in timer_build.architecture.spec.jobs] == ["cleanup_reservations"]


def test_the_gate_passed(build: LocalBuild) -> None:
    gate = build.gate
    assert gate.passed, gate.failure
    assert [c.name for c in gate.checks] == [
        "ruff check",
        "ruff format",
        "ruff security (S)",
        "mypy",
        "pytest",
    ]
    assert gate.tests_passed >= 20
    assert gate.tests_failed == 0
    assert gate.coverage >= 80


def test_the_service_answers_with_a_crud_round_trip(build: LocalBuild) -> None:
    deploy = build.deploy
    assert deploy.url is not None
    assert all(check.passed for check in deploy.smoke)
    spec = build.architecture.spec
    root = spec.ordered_entities()[0]
    headers = {"X-API-Key": api_key(build)}
    with httpx.Client(base_url=deploy.url, headers=headers, timeout=10) as client:
        assert client.get("/health").json() == {"status": "ok", "database": "ok"}
        assert client.get(f"/{root.plural_name}", headers={"X-API-Key": "wrong"}).status_code == 401
        body = {f.name: "x" if f.type.value in ("string", "text") else None for f in root.fields}
        body = {k: v for k, v in body.items() if v is not None}
        created = client.post(f"/{root.plural_name}", json=body | _other_values(build))
        assert created.status_code in (201, 422)
        listing = client.get(f"/{root.plural_name}", params={"limit": 1}).json()
        assert set(listing) == {"items", "total", "limit", "offset"}


def _other_values(build: LocalBuild) -> dict[str, object]:
    return sample_payload(build.architecture.spec.ordered_entities()[0])


def api_key(build: LocalBuild) -> str:
    assert build.deploy.api_key_file is not None
    return Path(build.deploy.api_key_file).read_text().strip().split("=", 1)[1]


def test_current_points_at_the_running_release(build: LocalBuild) -> None:
    repo = Path(build.repository.path)
    current = (repo / ".deploy" / "current").resolve()
    assert current.name == build.deploy.release
    assert (current / "app").is_dir()


def test_the_infrastructure_validates(build: LocalBuild) -> None:
    infra = build.infrastructure
    assert infra.valid
    assert infra.parsing_errors == []
    assert infra.passed_checks > 100
    repo = Path(build.repository.path)
    bicep = (
        "function-app-storage.bicep"
        if build.architecture.spec.stack is Stack.FUNCTIONS
        else "web-app-sql.bicep"
    )
    text = (repo / "infra" / bicep).read_text()
    for needed in (
        "userAssignedIdentities",
        "Microsoft.KeyVault/vaults",
        "Microsoft.Insights/components",
        "Microsoft.OperationalInsights/workspaces",
        "minTlsVersion: '1.2'",
    ):
        assert needed in text
    for env, sku in (("dev", ("B1", "Y1")), ("staging", ("S1", "EP1")), ("prod", ("P1v2", "EP2"))):
        params = json.loads((repo / "infra" / "parameters" / f"{env}.json").read_text())["parameters"]
        assert params["appServiceSku"]["value"] in sku
    workflows = {p.name for p in (repo / ".github" / "workflows").iterdir()}
    assert workflows == {
        "quality.yml",
        "test.yml",
        "build.yml",
        "deploy-dev.yml",
        "deploy-staging.yml",
        "deploy-prod.yml",
    }
    prod = yaml.safe_load((repo / ".github" / "workflows" / "deploy-prod.yml").read_text())
    assert "workflow_dispatch" in prod[True]
    assert prod["jobs"]["deploy"]["environment"] == "production"
    assert "slot swap" in (repo / ".github" / "workflows" / "deploy-prod.yml").read_text()


def test_the_repository_has_its_docs_and_history(build: LocalBuild) -> None:
    repo = Path(build.repository.path)
    for name in ("README.md", "API.md", "COSTS.md", "BUILD.md", "LICENSE", "pyproject.toml", ".gitignore"):
        assert (repo / name).is_file(), name
    written = load_spec(repo / "spec.yaml")
    assert all(not r.checks for r in written.requirements if r.implemented_by)  # derived again on a rebuild
    assert attach_checks(written) == build.architecture.spec
    log = git(repo, "log", "--format=%s").splitlines()
    assert len(log) == 4
    assert git(repo, "status", "--porcelain") == ""
    build_md = (repo / "BUILD.md").read_text()
    verdict = build_md.splitlines()[2]
    honoured = all(r.status is RequirementStatus.HONOURED for r in build.deploy.requirements)
    assert verdict.startswith(
        "**The build succeeded: all" if honoured else "**The build finished, but not every"
    )
    assert "| `app/models.py` | template |" in build_md
    assert "| `infra/parameters/prod.json` | rules |" in build_md
    rows = [line.split("|")[1].strip() for line in build_md.split("## Artifacts", 1)[1].splitlines()[4:]]
    assert len(rows) == len(set(rows)) and "`README.md`" in rows  # each file once (README is rewritten)
    assert "| notify | not asked (no --notify) |" in build_md  # no --notify: not a stage that failed to run
    readme = (repo / "README.md").read_text()
    assert not re.search(r"\ba [aeio]", readme) and not re.search(r"\ban [bcdfgjklmnpqrstvwxyz]", readme)
    costs = (repo / "COSTS.md").read_text()
    assert all(f"| {env} |" in costs for env in ("dev", "staging", "prod"))
    assert build.docs.monthly_costs["prod"] > build.docs.monthly_costs["dev"]
    api = (repo / "API.md").read_text()
    for entity in build.architecture.spec.entities:
        assert f"## `POST /{entity.plural_name}`" in api


def test_every_artifact_says_what_produced_it(build: LocalBuild) -> None:
    artifacts = [
        *build.repository.artifacts,
        *build.code.artifacts,
        *build.infrastructure.artifacts,
        *build.docs.artifacts,
    ]
    assert artifacts
    assert {a.produced_by for a in artifacts} <= {"template", "rules"}


def test_every_requirement_ends_honoured_or_reported(build: LocalBuild) -> None:
    requirements = build.deploy.requirements
    assert requirements and requirements == build.docs.requirements
    for requirement in requirements:
        assert requirement.status in (RequirementStatus.HONOURED, RequirementStatus.NOT_IMPLEMENTED), (
            requirement
        )
        if requirement.status is RequirementStatus.HONOURED:
            assert requirement.checks
        else:
            assert requirement.reason
    repo = Path(build.repository.path)
    build_md = (repo / "BUILD.md").read_text()
    assert build_md.index("## Requirements") < build_md.index("## Stages")
    assert (repo / "tests" / "test_requirements.py").exists() and (repo / "tests" / "acceptance.py").exists()
    readme = (repo / "README.md").read_text()
    assert "**What it does**" in readme
    assert "pip install -e '.[dev]'" in readme


def test_datetimes_read_back_with_their_zone(timer_build: LocalBuild) -> None:
    spec = timer_build.architecture.spec
    entity, name = next(
        (e, f.name) for e in spec.ordered_entities() for f in e.fields if f.type is FieldType.DATETIME
    )
    headers = {"X-API-Key": api_key(timer_build)}
    with httpx.Client(base_url=str(timer_build.deploy.url), headers=headers) as client:
        created_id = _create(client, spec, entity.name, {name: "2026-05-01T10:00:00+02:00"})
        read = client.get(f"/{entity.plural_name}/{created_id}").json()[name]
    assert read == "2026-05-01T08:00:00Z"


def _create(client: httpx.Client, spec: BuildSpec, name: str, values: dict[str, object]) -> int:
    """Create one `name` row (and its parents) on the running service; its id."""
    entity = spec.entity(name)
    body: dict[str, object] = {**sample_payload(entity, spec), **values}
    for relation in spec.parents_of(name):
        body[relation.foreign_key] = _create(client, spec, relation.parent, {})
    created = client.post(f"/{entity.plural_name}", json=body)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


PROBE = """
from tests.support import Client


def test_a_redirect_is_answered_as_it_is(client: Client) -> None:
    assert client.get("/{plural}/").status_code == 307
"""


def test_the_projects_tests_and_the_deploy_see_a_redirect_alike(library_build: LocalBuild) -> None:
    """FastAPI answers `/books/` with a 307 to `/books`: the deploy's client and the project's own test
    client both take that answer as it is (neither follows it), so a check passes or fails the same in both."""
    plural = library_build.architecture.spec.ordered_entities()[0].plural_name
    assert httpx.get(f"{library_build.deploy.url}/{plural}/", timeout=10).status_code == 307
    repo = Path(library_build.repository.path)
    probe = repo / "tests" / "test_redirect_probe.py"
    probe.write_text(PROBE.format(plural=plural), encoding="utf-8")
    try:
        done = subprocess.run(
            [str(require_venv(repo).python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        probe.unlink()
    assert done.returncode == 0, done.stdout + done.stderr
