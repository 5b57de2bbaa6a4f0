"""The smoke test of a started service: /health answers, then one CRUD round trip on a root entity (when
the spec has entities)."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx

from baton.workflows.builder._checks import CheckFailed, resolve, run_checks
from baton.workflows.builder.acceptance import sample_body, sample_value
from baton.workflows.builder.results import SmokeCheck
from baton.workflows.builder.spec import BuildSpec, EntitySpec, Requirement, RequirementStatus

TRY_INTERVAL_S = 0.3


def sample_payload(entity: EntitySpec, spec: BuildSpec | None = None) -> dict[str, Any]:
    """A valid create body of ``entity`` (without foreign keys), with fresh unique values."""
    spec_body = (
        {f.name: sample_value(f) for f in entity.fields} if spec is None else sample_body(spec, entity)
    )
    resolved: dict[str, Any] = resolve(spec_body, {})
    return resolved


def _wait_for_health(
    client: httpx.Client, tries: int, process: subprocess.Popen[bytes] | None
) -> tuple[SmokeCheck, int]:
    detail = "no answer"
    for attempt in range(1, tries + 1):
        if process is not None and process.poll() is not None:
            return SmokeCheck(
                name="health", passed=False, detail=f"the process exited ({process.returncode})"
            ), attempt
        try:
            response = client.get("/health")
            if response.status_code == 200:
                return SmokeCheck(name="health", passed=True, detail=f"200 after {attempt} tries"), attempt
            detail = f"status {response.status_code}"
        except httpx.TransportError as error:
            detail = type(error).__name__
        time.sleep(TRY_INTERVAL_S)
    return SmokeCheck(name="health", passed=False, detail=f"{detail} after {tries} tries"), tries


def _round_trip(client: httpx.Client, spec: BuildSpec) -> SmokeCheck:
    entity = spec.ordered_entities()[0]
    path = f"/{entity.plural_name}"
    steps: list[str] = []
    try:
        created = client.post(path, json=sample_payload(entity, spec))
        steps.append(f"POST {path} {created.status_code}")
        if created.status_code != 201:
            return SmokeCheck(name="crud", passed=False, detail=f"{'; '.join(steps)}: {created.text[:200]}")
        item = f"{path}/{created.json()['id']}"
        expected: list[tuple[str, str, dict[str, Any] | None, int]] = [
            ("GET", item, None, 200),
            ("PATCH", item, {}, 200),
            ("DELETE", item, None, 204),
            ("GET", item, None, 404),
        ]
        for method, url, body, status in expected:
            response = client.request(method, url, json=body)
            steps.append(f"{method} {url} {response.status_code}")
            if response.status_code != status:
                return SmokeCheck(name="crud", passed=False, detail=f"{'; '.join(steps)} (expected {status})")
    except httpx.HTTPError as error:
        return SmokeCheck(name="crud", passed=False, detail=f"{'; '.join(steps)}: {error}")
    return SmokeCheck(name="crud", passed=True, detail="; ".join(steps))


def check_requirements(client: httpx.Client, spec: BuildSpec) -> list[Requirement]:
    """Run every pending requirement's checks against the service: each ends honoured or failed."""
    done: list[Requirement] = []
    for requirement in spec.requirements:
        if requirement.status is RequirementStatus.NOT_IMPLEMENTED or not requirement.checks:
            done.append(requirement)
            continue
        checks = [c.model_dump(mode="json") for c in requirement.checks]
        update: dict[str, Any]
        try:
            run_checks(client, checks)
        except CheckFailed as error:
            update = {"status": RequirementStatus.FAILED, "reason": str(error)[:600]}
        except httpx.HTTPError as error:
            update = {"status": RequirementStatus.FAILED, "reason": f"the service did not answer: {error}"}
        else:
            update = {"status": RequirementStatus.HONOURED, "reason": None}
        done.append(requirement.model_copy(update=update))
    return done


def smoke_test(
    url: str, api_key: str, spec: BuildSpec, *, tries: int, process: subprocess.Popen[bytes] | None = None
) -> tuple[list[SmokeCheck], int]:
    """``([health, crud], tries used)``; the CRUD check runs only once /health answers."""
    headers = {"X-API-Key": api_key, "X-Actor": "baton-smoke-test"}
    with httpx.Client(base_url=url, headers=headers, timeout=5, follow_redirects=False) as client:
        health, used = _wait_for_health(client, tries, process)
        if not health.passed or not spec.entities:  # a service that keeps nothing: no CRUD to try
            return [health], used
        return [health, _round_trip(client, spec)], used


def acceptance(url: str, api_key: str, spec: BuildSpec) -> list[Requirement]:
    """The requirements of ``spec`` checked against the service at ``url``."""
    headers = {"X-API-Key": api_key, "X-Actor": "baton-acceptance"}
    # A redirect is an answer, not a hop: a check expecting 200 must not pass on a 307 to elsewhere, and the
    # service's Location is not followed off this machine. The generated project's test clients agree.
    with httpx.Client(base_url=url, headers=headers, timeout=10, follow_redirects=False) as client:
        return check_requirements(client, spec)
