"""Fetch jobs, rendered by the deterministic build on FastAPI: validated, read from an idea naming its
URL, and built end to end against a real HTTP source on loopback (the gate runs the project's own tests
against its stub source; the deploy stage runs the job against the configured one)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from baton.core.errors import InvalidInputError
from baton.workflows.builder import extract_spec, run_stages_locally, stop_service, validate_spec
from baton.workflows.builder.spec import JobKind, RequirementStatus, Stack

RATES = [{"code": "EUR", "value": 0.91, "extra": {"ignored": True}}, {"code": "GBP", "value": 0.79}]


def _spec(stack: str = "fastapi", **job: Any) -> dict[str, Any]:
    return {
        "name": "rates-api",
        "title": "Rates API",
        "stack": stack,
        "entities": [
            {
                "name": "exchange_rate",
                "fields": [
                    {"name": "currency", "type": "string", "unique": True},
                    {"name": "rate", "type": "decimal", "min": 0},
                    {"name": "note", "type": "string", "required": False},
                ],
            }
        ],
        "jobs": [
            {
                "name": "fetch_rates",
                "kind": "fetch",
                "entity": "exchange_rate",
                "mapping": {"currency": "code", "rate": "value"},
                "key": "currency",
                "retries": 0,
                "timeout_s": 5,
                **job,
            }
        ],
    }


class _Source(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"items": RATES} if self.path == "/rates" else [{"code": 7}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def source() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Source)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_fetch_job_is_valid_on_fastapi_only_and_must_be_able_to_create_rows() -> None:
    assert validate_spec(_spec()).jobs[0].kind is JobKind.FETCH
    with pytest.raises(InvalidInputError, match="fetch jobs need the fastapi stack"):
        validate_spec(_spec(stack="flask"))
    with pytest.raises(InvalidInputError, match=r"must map the required field\(s\) \['rate'\]") as error:
        validate_spec(_spec(mapping={"currency": "code"}))
    assert error.value.fields == {"jobs[0].mapping": error.value.fields["jobs[0].mapping"]}
    with pytest.raises(InvalidInputError, match="source_url must be an http"):
        validate_spec(_spec(source_url="file:///etc/passwd"))


def test_an_idea_naming_its_url_gets_a_fetch_job_and_one_without_says_what_is_missing() -> None:
    spec = extract_spec(
        "Every hour fetch exchange rates from https://rates.example.org/v1/latest and store them"
    )
    [job] = spec.jobs
    assert (job.kind, job.entity, job.source_url) == (
        JobKind.FETCH,
        "exchange_rate",
        "https://rates.example.org/v1/latest",
    )
    assert job.schedule == "0 0 * * * *" and job.key in job.mapping
    assert spec.stack is Stack.FASTAPI
    assert any("correct `mapping` in spec.yaml" in a for a in spec.assumptions)
    [fetch] = [r for r in spec.requirements if r.implemented_by == f"job:{job.name}"]
    assert "https://rates.example.org/v1/latest" in fetch.text
    vague = extract_spec("Every hour fetch exchange rates from the central bank")
    assert vague.jobs == []
    [left] = [r for r in vague.requirements if r.status is RequirementStatus.NOT_IMPLEMENTED]
    assert "needs its URL and a field mapping" in (left.reason or "")
    timer = extract_spec("Every hour fetch exchange rates from https://x.example/r", stack=Stack.FUNCTIONS)
    [left] = [r for r in timer.requirements if r.status is RequirementStatus.NOT_IMPLEMENTED]
    assert "fastapi stack only" in (left.reason or "") and timer.jobs == []


@pytest.mark.slow
@pytest.mark.parametrize(("path", "honoured"), [("/rates", True), ("/other", False)])
def test_a_fetch_job_is_built_tested_deployed_and_checked(
    tmp_path: Path, source: str, path: str, honoured: bool
) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(_spec(source_url=f"{source}{path}")), encoding="utf-8")
    out = tmp_path / "repo"
    try:
        build = run_stages_locally({"spec_path": str(spec_file), "out": str(out)})
        assert build.gate.passed, build.gate.failure  # the project's tests ran against its own stub source
        assert (out / "app" / "fetch.py").is_file() and (out / "tests" / "test_fetch_jobs.py").is_file()
        assert build.gate.tests_passed >= 25
        [job] = [r for r in build.deploy.requirements if r.implemented_by == "job:fetch_rates"]
        if not honoured:  # the source's rows do not fit the mapping: the check runs and says so
            assert job.status is RequirementStatus.FAILED, job
            assert "skipped is 1, expected 0" in (job.reason or "")
            return
        assert job.status is RequirementStatus.HONOURED, job.reason
        key = (
            (out / ".deploy" / "shared" / "secrets.env").read_text(encoding="utf-8").split("=", 1)[1].strip()
        )
        assert build.deploy.url is not None
        with httpx.Client(base_url=build.deploy.url, headers={"X-API-Key": key}, timeout=10) as client:
            fetched = {
                row["currency"]: row["rate"]
                for row in client.get("/exchange_rates", params={"limit": 100}).json()["items"]
                if row["created_by"] == "job:fetch_rates"
            }
            assert fetched == {"EUR": 0.91, "GBP": 0.79}
            assert client.get("/jobs").json() == [{"name": "fetch_rates", "schedule": "0 0 * * * *"}]
            assert client.post("/jobs/no_such_job").status_code == 404
    finally:
        stop_service(out)
