"""A spec without entities — a service that computes or relays rather than keeps (a converter, a calculator,
a webhook relay): the validator takes it when it states requirements, and every stack renders a skeleton
(health endpoint, auth, request plumbing, tests, infrastructure) whose gate is green and which deploys.
Its requirements' checks are kept for whoever writes the code (the crew, with a model) and not run against
the skeleton: offline they end `not implemented`, saying why."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from baton.core.errors import InvalidInputError
from baton.workflows.builder import costs, run_stages_locally, stop_service, validate_spec
from baton.workflows.builder.acceptance import UNWRITTEN, attach_checks
from baton.workflows.builder.infrastructure import bicep_file, render_infrastructure
from baton.workflows.builder.spec import Environment, RequirementStatus

BOOK = {"name": "book", "fields": [{"name": "title", "type": "string"}]}

CONVERT = {
    "id": "R1",
    "text": "convert a temperature from Celsius to Fahrenheit",
    "checks": [
        {"path": "/convert", "params": {"celsius": 100}, "expect_fields": {"fahrenheit": 212}},
        {"path": "/convert", "params": {"celsius": "hot"}, "expect_status": 422},
    ],
}


def converter(stack: str = "fastapi") -> dict[str, object]:
    return {"name": "temp-converter", "title": "Temp Converter", "stack": stack, "requirements": [CONVERT]}


def test_a_spec_without_entities_needs_requirements() -> None:
    spec = attach_checks(validate_spec(converter()))
    assert spec.entities == []
    [requirement] = spec.requirements
    # Nothing renders /convert: its stated checks are kept (for the crew) but not run on the skeleton.
    assert requirement.status is RequirementStatus.NOT_IMPLEMENTED and requirement.reason == UNWRITTEN
    assert [c.path for c in requirement.checks] == ["/convert", "/convert"]
    with pytest.raises(InvalidInputError, match="no entities and no requirements") as refused:
        validate_spec({"name": "empty-service", "title": "Empty", "requirements": []})
    assert "a converter" in (refused.value.hint or "")
    with pytest.raises(InvalidInputError, match="must be a path of the service"):
        bad = {**CONVERT, "checks": [{"path": "http://elsewhere/convert"}]}
        validate_spec({**converter(), "requirements": [bad]})


@pytest.mark.parametrize("stack", ["fastapi", "flask", "functions"])
def test_a_service_that_keeps_nothing_gets_no_database_in_azure_nor_in_its_cost(stack: str) -> None:
    keeps_nothing = attach_checks(validate_spec(converter(stack)))
    keeps_books = attach_checks(validate_spec({**converter(stack), "entities": [BOOK]}))
    for spec, has_sql in ((keeps_nothing, False), (keeps_books, True)):
        templated, made = render_infrastructure(spec)
        bicep = templated[f"infra/{bicep_file(spec)}"]
        assert ("Microsoft.Sql/servers/databases" in bicep) is has_sql
        assert ("APP_DATABASE_URL" in bicep) is has_sql and ("param sqlSku" in bicep) is has_sql
        parameters = json.loads(made["infra/parameters/prod.json"])["parameters"]
        assert ("sqlSku" in parameters) is has_sql
        for environment in Environment:
            items = [line.item for line in costs.estimate(spec, environment)]
            assert ("Azure SQL Database" in items) is has_sql
    sql_prod = next(
        line.monthly
        for line in costs.estimate(keeps_books, Environment.PROD)
        if line.item in ("Azure SQL Database",)
    )
    saved = costs.monthly_totals(keeps_books)["prod"] - costs.monthly_totals(keeps_nothing)["prod"]
    assert sql_prod > 0 and saved >= sql_prod - 0.01


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["fastapi", "flask", "functions"])
def test_every_stack_renders_a_green_deployable_skeleton_for_a_service_without_entities(
    tmp_path: Path, stack: str
) -> None:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(converter(stack)), encoding="utf-8")
    out = tmp_path / "repo"
    try:
        build = run_stages_locally({"spec_path": str(tmp_path / "spec.yaml"), "out": str(out)})
        assert build.gate.passed and build.gate.coverage >= 80
        assert not (out / "app" / "services.py").exists() and not (out / "app" / "repositories.py").exists()
        assert (out / "infra" / "parameters" / "prod.json").exists()
        assert httpx.get(f"{build.deploy.url}/health", timeout=10).json()["status"] == "ok"
        # The skeleton does not pretend: /convert is not there, and the requirement says why.
        assert httpx.get(f"{build.deploy.url}/convert", timeout=10).status_code in (401, 404)
        [requirement] = build.deploy.requirements
        assert requirement.status is RequirementStatus.NOT_IMPLEMENTED and requirement.reason == UNWRITTEN
        readme = (out / "README.md").read_text(encoding="utf-8")
        assert "keeps no resources of its own" in readme and "/convert" not in readme.split("## Run it")[1]
        assert [c.name for c in build.deploy.smoke] == ["health"]
        # It keeps nothing, so its Azure deployment provisions no database, and checkov still parses it all.
        bicep = "".join(path.read_text() for path in (out / "infra").glob("*.bicep"))
        assert "Microsoft.Sql" not in bicep and "databaseUrlSecret" not in bicep and "sqlSku" not in bicep
        assert "sqlSku" not in (out / "infra" / "parameters" / "prod.json").read_text()
        assert build.infrastructure.parse_error_count == 0 and not build.infrastructure.not_scanned
        assert "Azure SQL" not in (out / "COSTS.md").read_text()
    finally:
        stop_service(out)
