"""Ideas that are not CRUD at all — a converter, a webhook relay, a calculator — as a user builds them
(`baton build` in a subprocess, the real engine, gate, git and deploy), against a local server speaking
OpenAI's protocol with scripted turns. The rules refuse these ideas (nothing to keep); with a model the
architect is asked, its spec (no entities, requirements with the checks it states) passes the `--spec`
validator, the coder writes the code through its tools, and the deploy stage runs the architect's checks
against the running service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from crew_support import ARCHITECT_MODEL, CODER_MODEL, FakeModelServer, Reply, baton, config_text

from baton.store.events import query_events
from baton.store.runs import list_runs, run_outputs
from baton.store.store import Store
from baton.workflows.builder import stop_service

pytestmark = pytest.mark.slow

_FILES = Path(__file__).parent / "crew_files"
CONVERT_MODULE = (_FILES / "convert.py.txt").read_text(encoding="utf-8")
CONVERT_TESTS = (_FILES / "test_convert.py.txt").read_text(encoding="utf-8")
WRONG_FORMULA = "fahrenheit=celsius * 9 / 5 + 32)"
# Round 1 forgets the offset, and its tests only look at status codes: the project's gate is green, and
# only the architect's acceptance check (100 °C is 212 °F) can tell.
WRONG_MODULE = CONVERT_MODULE.replace(WRONG_FORMULA, "fahrenheit=celsius * 9 / 5)")
WEAK_TESTS = '''"""GET /convert answers."""

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def test_convert_answers(client: TestClient) -> None:
    response = client.get("/convert", params={"celsius": 10})
    assert response.status_code == 200
    assert "fahrenheit" in response.json()
    assert client.get("/convert", params={"celsius": "hot"}).status_code == 422


def test_convert_needs_the_api_key(settings: Settings) -> None:
    with TestClient(create_app(settings)) as anonymous:
        assert anonymous.get("/convert", params={"celsius": 1}).status_code == 401
'''
CONVERTER = "A converter from Celsius to Fahrenheit"
RELAY = "A webhook relay that forwards incoming JSON to a configured URL"


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "service"
    yield repo
    stop_service(repo)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def outputs_of(tmp_path: Path) -> tuple[dict[str, Any], list[Any]]:
    store = Store.open(f"sqlite:///{tmp_path / 'baton.db'}")
    try:
        with store.read() as conn:
            run_id = list_runs(conn)[0].id
            return run_outputs(conn, run_id), query_events(conn, run_id=run_id, types=["agent.call"])
    finally:
        store.close()


def converter_spec() -> dict[str, Any]:
    return {
        "name": "temperature-converter",
        "title": "Temperature Converter",
        "description": "Converts temperatures from Celsius to Fahrenheit.",
        "stack": "fastapi",
        "entities": [],
        "assumptions": ["temperatures are real numbers; nothing is stored"],
        "requirements": [
            {
                "id": "R1",
                "text": "convert a temperature from Celsius to Fahrenheit",
                "checks": [
                    {"path": "/convert", "params": {"celsius": 100}, "expect_fields": {"fahrenheit": 212}},
                    {"path": "/convert", "params": {"celsius": -40}, "expect_fields": {"fahrenheit": -40}},
                    {"path": "/convert", "params": {"celsius": "hot"}, "expect_status": 422},
                ],
            }
        ],
    }


def finish(note: str, status: str = "implemented") -> Reply:
    claim = {"id": "R1", "status": status, "note": note}
    return Reply.tool("finish", {"summary": "GET /convert", "requirements": [claim]})


def test_a_converter_idea_is_designed_by_the_architect_coded_by_the_crew_and_checked_when_deployed(
    tmp_path: Path, server: FakeModelServer, out: Path
) -> None:
    server.script(ARCHITECT_MODEL, Reply.text(json.dumps(converter_spec())))
    main_import = ("from app.routes import health\n", "from app.routes import convert, health\n")
    main_router = (
        "    app.include_router(health.router)\n",
        "    app.include_router(health.router)\n    app.include_router(convert.router)\n",
    )
    server.script(
        CODER_MODEL,
        Reply.tool("list_files", {"path": "."}),
        Reply.tool("read_file", {"path": "app/main.py"}),
        Reply.tool("write_file", {"path": "app/routes/convert.py", "content": WRONG_MODULE}),
        Reply.tool("replace_in_file", {"path": "app/main.py", "old": main_import[0], "new": main_import[1]}),
        Reply.tool("replace_in_file", {"path": "app/main.py", "old": main_router[0], "new": main_router[1]}),
        Reply.tool("write_file", {"path": "tests/test_convert.py", "content": WEAK_TESTS}),
        finish("GET /convert?celsius=…"),
        # Round 2: the debugger's message quoted the architect's failed check; the coder fixes the formula.
        Reply.tool(
            "replace_in_file",
            {"path": "app/routes/convert.py", "old": "fahrenheit=celsius * 9 / 5)", "new": WRONG_FORMULA},
        ),
        Reply.tool("write_file", {"path": "tests/test_convert.py", "content": CONVERT_TESTS}),
        Reply.tool("run_checks"),
        Reply.tool("call_service", {"method": "GET", "path": "/convert?celsius=100"}),
        finish("GET /convert?celsius=…: F = C × 9/5 + 32"),
    )
    server.script(ARCHITECT_MODEL, Reply.structured({"verdict": "approve", "findings": []}))

    result = baton(tmp_path, "build", CONVERTER, "--out", str(out), config=config_text(server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the rules could not read the idea" in result.stdout and "1/1 honoured" in result.stdout

    # The architect's spec, as validated and written: no entities, the requirement with its checks.
    written = yaml.safe_load((out / "spec.yaml").read_text(encoding="utf-8"))
    assert written["entities"] == [] and written["name"] == "temperature-converter"
    assert any("the rules could not read the idea" in a for a in written["assumptions"])
    assert [c["params"] for c in written["requirements"][0]["checks"]] == [
        {"celsius": 100},
        {"celsius": -40},
        {"celsius": "hot"},
    ]
    # The coder was given the architect's checks, and round 1's red came from one of them alone (the
    # project's own tests passed): the debugger's message says which and how.
    first_prompt = server.calls_for(CODER_MODEL)[0].body["messages"][-1]["content"]
    assert '"expect_fields": {"fahrenheit": 212}' in first_prompt
    debugger = [m for m in server.calls_for(CODER_MODEL)[7].body["messages"] if m["role"] == "user"][-1]
    assert "Round 1 ended red" in debugger["content"]
    assert "fahrenheit is 180.0, expected 212" in debugger["content"]
    subjects = git(out, "log", "--reverse", "--format=%s").splitlines()
    assert [s.split(":")[0] for s in subjects if s.startswith("Crew")] == [
        "Crew round 1 (red)",
        "Crew round 2 (green)",
    ]
    assert (out / "app" / "routes" / "convert.py").read_text(encoding="utf-8") == CONVERT_MODULE
    assert git(out, "status", "--porcelain") == ""

    outputs, agent_calls = outputs_of(tmp_path)
    assert [(e.data["agent"], e.data["produced_by"]) for e in agent_calls] == [
        ("build.architect", f"model:{ARCHITECT_MODEL}"),
        ("build.coder", f"model:{CODER_MODEL}"),
        ("build.reviewer", f"model:{ARCHITECT_MODEL}"),
    ]
    assert outputs["architecture"]["spec"]["entities"] == []
    gate, deploy = outputs["gate"], outputs["deploy"]
    assert gate["passed"] and gate["tests_passed"] >= 8  # the skeleton's tests and the coder's
    [requirement] = deploy["requirements"]
    assert (requirement["status"], requirement["implemented_by"]) == ("honoured", f"model:{CODER_MODEL}")
    # The deployed service really converts, behind its key.
    key = Path(deploy["api_key_file"]).read_text(encoding="utf-8").strip().split("=", 1)[1]
    answer = httpx.get(deploy["url"] + "/convert", params={"celsius": 37.5}, headers={"X-API-Key": key})
    assert answer.json() == {"celsius": 37.5, "fahrenheit": 99.5}
    assert httpx.get(deploy["url"] + "/convert", params={"celsius": 1}).status_code == 401
    build_md = (out / "BUILD.md").read_text(encoding="utf-8")
    assert "| R1 " in build_md and "honoured" in build_md


def relay_spec(check_path: str) -> dict[str, Any]:
    return {
        "name": "webhook-relay",
        "title": "Webhook Relay",
        "entities": [],
        "requirements": [
            {
                "id": "R1",
                "text": "forward every JSON body POSTed to /hooks to the configured URL (APP_RELAY_URL)",
                "checks": [
                    {"method": "POST", "path": check_path, "body": {"event": "ping"}, "expect_status": 202},
                    {"method": "POST", "path": check_path, "body": "not an object", "expect_status": 422},
                ],
            },
            {
                "id": "R2",
                "text": "GET /hooks/last answers the last body relayed and the target's status",
                "checks": [{"path": "/hooks/last", "expect_fields": {"body.event": "ping"}}],
            },
        ],
    }


def test_a_relay_idea_gets_a_spec_on_the_re_ask_and_what_the_coder_leaves_says_why(
    tmp_path: Path, server: FakeModelServer, out: Path
) -> None:
    # The first answer's check names another host: the validator refuses it, the model is re-asked.
    server.script(
        ARCHITECT_MODEL,
        Reply.text(json.dumps(relay_spec("https://target.example/hooks"))),
        Reply.text("Here it is:\n```json\n" + json.dumps(relay_spec("/hooks")) + "\n```"),
    )
    claims = [
        {
            "id": "R1",
            "status": "not implemented",
            "note": "the target URL's contract (auth, retries) is unknown",
        },
        {"id": "R2", "status": "not implemented", "note": "depends on R1"},
    ]
    server.script(CODER_MODEL, Reply.tool("finish", {"summary": "nothing written", "requirements": claims}))
    result = baton(tmp_path, "build", RELAY, "--out", str(out), config=config_text(server))
    assert result.returncode == 0, result.stdout + result.stderr
    re_ask = server.calls_for(ARCHITECT_MODEL)[1].body["messages"][-1]["content"]
    assert "That spec was refused" in re_ask and "must be a path of the service" in re_ask
    written = yaml.safe_load((out / "spec.yaml").read_text(encoding="utf-8"))
    assert written["entities"] == [] and written["requirements"][0]["checks"][0]["path"] == "/hooks"
    outputs, _ = outputs_of(tmp_path)
    table = {r["id"]: (r["status"], r["reason"]) for r in outputs["deploy"]["requirements"]}
    assert table == {
        "R1": ("not_implemented", "the target URL's contract (auth, retries) is unknown (crew)"),
        "R2": ("not_implemented", "depends on R1 (crew)"),
    }
    assert "0/2 honoured, 2 not implemented" in result.stdout
    assert outputs["gate"]["passed"] and httpx.get(outputs["deploy"]["url"] + "/health").status_code == 200


def test_when_neither_the_rules_nor_the_model_make_a_spec_the_build_stops_before_writing(
    tmp_path: Path, server: FakeModelServer, out: Path
) -> None:
    server.script(
        ARCHITECT_MODEL,
        Reply.text("A calculator does not need a spec."),
        Reply.text('{"name": "Calculator!", "title": "Calc"}'),
    )
    result = baton(tmp_path, "build", "A tip calculator", "--out", str(out), config=config_text(server))
    assert result.returncode == 1, result.stdout + result.stderr  # the build failed, as any failed build
    said = " ".join((result.stdout + result.stderr).split())
    assert "nothing was written to" in said and "build report" not in said
    assert "no spec could be made of the idea" in said and "the model's spec was refused twice" in said
    assert "nothing was written" in said and "--spec" in said
    assert "Traceback" not in said
    assert not out.exists()  # no half-written repository


def test_offline_the_refusal_says_a_model_builds_such_ideas(tmp_path: Path) -> None:
    result = baton(tmp_path, "build", CONVERTER, "--out", str(tmp_path / "converter"))
    assert result.returncode == 2
    said = " ".join((result.stdout + result.stderr).split())
    assert "names no entities" in said and "BATON_CONFIG" in said and "--spec" in said
    assert not (tmp_path / "converter").exists()


def test_the_real_crew_benchmark_stops_saying_how_to_configure_a_model_when_none_is(tmp_path: Path) -> None:
    script = Path(__file__).parents[3] / "benchmarks" / "build_crew.py"
    (tmp_path / "baton.toml").write_text("[llm]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "BATON_CONFIG"}
    ran = subprocess.run(
        [sys.executable, str(script), "--real"],
        env={**env, "BATON_CONFIG": str(tmp_path / "baton.toml")},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    assert "--real needs a model endpoint" in ran.stderr and "configures no model" in ran.stderr
    assert "[[llm.models]]" in ran.stderr and "BATON_CONFIG=baton.toml" in ran.stderr
