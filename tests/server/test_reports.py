"""A run's report in `GET /runs/{id}` and `baton status`, through a real server and the real engine.

The build's report is checked against the run's own outputs (`GET /runs/{id}/outputs`), never against
hard-coded rows; the server is checked to know none of the shipped workflows' step names.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from baton.engine import load_workflow
from baton.server.settings import SHIPPED_WORKFLOWS
from baton.store.keys import Role

from .conftest import BuildRun, RunningServer, wait_for_state

SERVER = Path(__file__).parents[2] / "src" / "baton" / "server"
ENGINE_FLOWS = Path(__file__).parents[1] / "engine"
OUTCOME_OF_STATUS = {  # a requirement's status → the row's outcome every client knows
    "honoured": "met",
    "not_implemented": "not_implemented",
    "failed": "failed",
    "pending": "unchecked",
}


def _finished_build(build_run: BuildRun) -> tuple[dict[str, Any], dict[str, Any]]:
    with build_run.server.client(Role.VIEWER) as client:
        run = wait_for_state(client, build_run.run_id, {"succeeded", "failed", "cancelled"}, timeout=280)
        assert run["state"] == "succeeded", run["error"]
        outputs: dict[str, Any] = client.get(f"/runs/{build_run.run_id}/outputs").json()
    return run, outputs


def test_a_builds_report_is_its_requirements_table_from_its_outputs(build_run: BuildRun) -> None:
    run, outputs = _finished_build(build_run)
    report = run["report"]
    assert run["report_error"] is None and report is not None
    requirements = outputs["deploy"]["requirements"]
    assert requirements == outputs["docs"]["requirements"]  # the table BUILD.md and the CLI show
    assert [
        (r["id"], r["subject"], r["outcome"], r["cells"]["implemented by"], r["reason"])
        for r in report["rows"]
    ] == [
        (q["id"], q["text"], OUTCOME_OF_STATUS[q["status"]], q["implemented_by"] or "nothing", q["reason"])
        for q in requirements
    ]
    statuses = [q["status"] for q in requirements]
    assert "honoured" in statuses and "not_implemented" in statuses  # the idea gives both kinds
    left_out = [r for r in report["rows"] if r["outcome"] == "not_implemented"]
    assert all(r["reason"] and r["status"] == "not implemented" for r in left_out)
    honoured = statuses.count("honoured")
    assert report["headline"].startswith(f"requirements {honoured}/{len(requirements)} honoured, ")
    assert f"{statuses.count('not_implemented')} not implemented" in report["headline"]
    assert report["verdict"] == ("failed" if "failed" in statuses else "incomplete")
    assert report["counts"]["met"] == honoured
    assert report["columns"] == ["implemented by"] and report["subject_label"] == "requirement"
    assert report["facts"]["service"] == outputs["deploy"]["url"]
    assert report["source"] == list(load_workflow(SHIPPED_WORKFLOWS["build"]).report_declaration.steps)  # type: ignore[union-attr]


def test_baton_status_prints_the_report(build_run: BuildRun) -> None:
    run, outputs = _finished_build(build_run)
    environment = {
        **os.environ,
        "BATON_DATABASE_URL": build_run.server.store.url,
        "COLUMNS": "400",
        "PYTHONPATH": str(ENGINE_FLOWS),
    }
    shown = subprocess.run(
        [sys.executable, "-m", "baton", "status", build_run.run_id],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert run["report"]["headline"] in shown.stdout
    for requirement in outputs["deploy"]["requirements"]:
        line = next(line for line in shown.stdout.splitlines() if f" {requirement['id']} " in line)
        assert requirement["text"] in line
        if requirement["status"] == "not_implemented":
            assert "⊘" in line and "not implemented" in line and requirement["reason"] in line
    assert "verdict" in shown.stdout and "incomplete" in shown.stdout


def test_a_report_is_null_until_its_steps_succeed_and_a_broken_one_says_why(
    sqlite_server: RunningServer,
) -> None:
    with sqlite_server.client(Role.OPERATOR) as client:
        graded = client.post("/runs", json={"workflow": "graded"}).json()["id"]
        broken = client.post("/runs", json={"workflow": "graded", "inputs": {"broken": True}}).json()["id"]
        plain = client.post("/runs", json={"workflow": "demo", "inputs": {"documents": 1}}).json()["id"]
        waiting = wait_for_state(client, graded, {"waiting"})
        assert waiting["report"] is None and waiting["report_error"] is None  # `publish` awaits a human
        for run_id in (graded, broken):
            wait_for_state(client, run_id, {"waiting"})
            assert client.post(f"/runs/{run_id}/tasks/publish/approve", json={}).status_code == 200
        done = wait_for_state(client, graded, {"succeeded"})
        marks = client.get(f"/runs/{graded}/outputs").json()["mark"]["marks"]
        report = done["report"]
        assert {row["id"]: row["cells"]["score"] for row in report["rows"]} == {
            k: str(v) for k, v in marks.items()
        }
        taken = {row["id"]: (row["outcome"], row["reason"]) for row in report["rows"]}
        assert taken["music"] == ("not_implemented", "music was not taken")
        assert report["verdict"] == "failed" and report["source"] == ["mark", "publish"]
        assert client.get(f"/runs/{graded[:6]}").json() == done  # a prefix reads the same, cached or not

        torn = wait_for_state(client, broken, {"succeeded"})  # the run is fine; only its report is missing
        assert torn["report"] is None
        assert "ValueError: the grade book is torn" in torn["report_error"]
        other = wait_for_state(client, plain, {"succeeded"})
        assert other["report"] is None and other["report_error"] is None  # demo names no report

        schema = client.get("/openapi.json").json()["components"]["schemas"]["RunDetail"]["properties"]
        assert {"type": "null"} in schema["report"]["anyOf"]
        assert "**null** while" in schema["report"]["description"]


def _literals(text: str) -> set[str]:
    return {m.group(2) for m in re.finditer(r"""(["'`])([A-Za-z_][A-Za-z0-9_-]*)\1""", text)}


def test_the_server_knows_no_step_of_the_shipped_workflows() -> None:
    steps = {
        name
        for ref in SHIPPED_WORKFLOWS.values()
        if ref != SHIPPED_WORKFLOWS["demo"]
        for name in load_workflow(ref).steps
    }
    assert {"deploy", "docs", "demand", "pricing"} <= steps  # the scan below looks for the real names
    # Two words are the server's own as well: the API's `report` field (the season's last step has the
    # same name) and the error body's `code` (the build's code step). They may be written, never used to
    # read a checkpoint (`outputs["report"]`, `.get("code")`); every other step name is absent.
    shared = {"report", "code"}
    steps -= shared
    names = "|".join(sorted(shared))
    reads = re.compile(r"""(\[|\.get\()\s*(["'])(""" + names + r""")\2""")
    named = {}
    for path in SERVER.rglob("*"):
        if path.suffix not in {".py", ".js", ".html", ".css"}:
            continue
        text = path.read_text(encoding="utf-8")
        found = (_literals(text) & steps) | {m.group(3) for m in reads.finditer(text)}
        if path.suffix == ".js":  # and no property access such as `outputs.deploy` either
            found |= {m.group(1) for m in re.finditer(r"\.([a-z_]+)\b", text) if m.group(1) in steps}
        if found:
            named[str(path.relative_to(SERVER))] = sorted(found)
    assert named == {}
