"""A spec without entities — a service that computes or relays rather than keeps (a converter, a calculator,
a webhook relay): the validator takes it when it states requirements, and every stack renders a skeleton
(health endpoint, auth, request plumbing, tests, infrastructure) whose gate is green and which deploys.
Its requirements' checks are kept for whoever writes the code (the crew, with a model) and not run against
the skeleton: offline they end `not implemented`, saying why."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from baton.core.errors import InvalidInputError
from baton.workflows.builder import run_stages_locally, stop_service, validate_spec
from baton.workflows.builder.acceptance import UNWRITTEN, attach_checks
from baton.workflows.builder.spec import RequirementStatus

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
    finally:
        stop_service(out)
