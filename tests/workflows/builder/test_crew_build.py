"""`baton build` with a model, as a user runs it (a subprocess, the real engine, the real gate, real git,
a real deploy), against a local server speaking OpenAI's (and Anthropic's) protocol with scripted turns.

Each build costs a few seconds of gate runs (the generated project's venv is cached), so the scenarios
are few and each checks much: the repository's history, BUILD.md, the run's events, records and costs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from crew_code import (
    BROKEN_TESTS,
    FIX_NEW,
    FIX_OLD,
    IDEA,
    RATES_MODULE,
    architect_spec,
    finish,
    script_green_build,
    write_feature,
)
from crew_support import ARCHITECT_MODEL, CODER_MODEL, FakeModelServer, Reply, baton, config_text
from sqlalchemy import select

from baton.store.events import query_events
from baton.store.runs import list_runs, run_outputs
from baton.store.schema import model_calls
from baton.store.store import Store
from baton.workflows.builder import stop_service

TEMPLATE_COMMIT = "Generate the service and its tests (baton)"
pytestmark = pytest.mark.slow


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "rates"
    yield repo
    stop_service(repo)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def history(repo: Path) -> list[str]:
    """Each commit's tree and subject, oldest first: what a rebuild must reproduce."""
    return git(repo, "log", "--reverse", "--format=%T %s").splitlines()


def commits(repo: Path) -> list[str]:
    """Every commit of every branch: hash, author and committer with their dates, the full message."""
    return git(
        repo, "log", "--all", "--reverse", "--format=%H %an <%ae> %ad | %cn <%ce> %cd | %B"
    ).splitlines()


def the_run(tmp_path: Path) -> tuple[Store, str]:
    store = Store.open(f"sqlite:///{tmp_path / 'baton.db'}")
    with store.read() as conn:
        runs = list_runs(conn)
    return store, runs[-1].id  # the first run (newest first)


def crew_report(repo: Path) -> dict[str, Any]:
    return json.loads((repo / ".baton-build" / "crew.json").read_text(encoding="utf-8"))


def test_the_crew_adds_a_scheduled_fetch_and_an_endpoint_green_and_a_replay_rebuilds_it_offline(
    tmp_path: Path, server: FakeModelServer, out: Path
) -> None:
    script_green_build(server)

    result = baton(tmp_path, "build", IDEA, "--out", str(out), "--force", config=config_text(server))
    assert result.returncode == 0, result.stdout + result.stderr

    # The model's spec, the coder's code, one green round, the deployed service answering.
    assert "rates-service" in (out / "spec.yaml").read_text(encoding="utf-8")
    assert (out / "app" / "rates.py").read_text(encoding="utf-8") == RATES_MODULE
    subjects = [line.split(" ", 1)[1] for line in history(out)]
    crew_commits = [s for s in subjects if s.startswith("Crew round")]
    assert crew_commits == ["Crew round 1 (green): scheduled fetch and latest-per-currency endpoint"]
    assert subjects.index(crew_commits[0]) == subjects.index(TEMPLATE_COMMIT) + 1
    report = crew_report(out)
    assert [(r["id"], r["status"]) for r in report["requirements"]] == [("R2", "implemented")]
    assert report["review"] == ["[low] (app/rates.py) the source URL should come from settings"]
    build_md = (out / "BUILD.md").read_text(encoding="utf-8")
    assert (
        "## The crew" in build_md
        and "| R1 " in build_md
        and "source URL should come from settings" in build_md
    )
    store, run_id = the_run(tmp_path)
    try:
        with store.read() as conn:
            outputs = run_outputs(conn, run_id)
            tools = query_events(conn, run_id=run_id, types=["agent.tool"])
            agent_calls = query_events(conn, run_id=run_id, types=["agent.call"])
            calls = list(conn.execute(select(model_calls).where(model_calls.c.run_id == run_id)))
    finally:
        store.close()
    deploy = outputs["deploy"]
    # The coder's acceptance check ran against the deployed service: the requirement is honoured.
    table = {r["id"]: (r["status"], r.get("implemented_by")) for r in deploy["requirements"]}
    assert table == {"R1": ("honoured", "entity:currency"), "R2": ("honoured", f"model:{CODER_MODEL}")}
    key = Path(deploy["api_key_file"]).read_text(encoding="utf-8").strip().split("=", 1)[1]
    latest = httpx.get(deploy["url"] + "/rates/latest", headers={"X-API-Key": key}, timeout=10)
    assert (latest.status_code, latest.json()) == (200, [])
    assert httpx.get(deploy["url"] + "/rates/latest", timeout=10).status_code == 401
    assert [e.data["tool"] for e in tools] == [
        "list_files", "read_file", "write_file", "replace_in_file", "replace_in_file", "write_file",
        "run_checks", "call_service", "finish",
    ]  # fmt: skip
    assert all(e.data["ok"] for e in tools), [e.data for e in tools]
    # Each member of the crew is an agent call with what produced its result.
    assert [(e.data["agent"], e.data["status"], e.data["produced_by"]) for e in agent_calls] == [
        ("build.architect", "ok", f"model:{ARCHITECT_MODEL}"),
        ("build.coder", "ok", f"model:{CODER_MODEL}"),
        ("build.reviewer", "ok", f"model:{ARCHITECT_MODEL}"),
    ]
    assert tools[7].data["result"].startswith("200")
    assert {c.step for c in calls} == {"architecture", "code"} and sum(c.cost_usd for c in calls) > 0
    crew_commit = git(out, "log", "--format=%H", "--grep", "^Crew round 1").strip()
    # The crew's requirement, with the check it wrote, joins the project's own tests/requirements.json
    # (in a commit of its own, after the crew's): tests/test_requirements.py runs it in the gate too.
    recorded = git(out, "log", "--format=%H", "--grep", "^Record the crew's requirements").strip()
    assert git(out, "rev-parse", f"{recorded}^").strip() == crew_commit
    assert outputs["code"]["commit"] == recorded and deploy["release"] == recorded[:12]
    in_tests = {r["id"]: r for r in json.loads((out / "tests" / "requirements.json").read_text())}
    assert in_tests["R2"]["status"] == "pending" and in_tests["R2"]["checks"]
    assert in_tests["R2"]["implemented_by"] == f"model:{CODER_MODEL}"
    assert outputs["gate"]["tests_passed"] > 0 and outputs["gate"]["passed"]
    asked = len(server.received)

    # Replay: the same repository, offline (no model configured at all), for free.
    # No measured coverage in what is committed: code with timing-dependent paths covers a little more or
    # less from run to run (a replay once differed, 95.9 % against 95.7 %), and the replay must be identical.
    committed_text = git(out, "log", "--format=%B") + (out / "BUILD.md").read_text(encoding="utf-8")
    assert "coverage at least 80%" in committed_text
    assert not re.search(r"coverage \d+\.\d%", committed_text)
    before, tree_before = commits(out), git(out, "ls-tree", "-r", "HEAD")
    port_before = deploy["url"].rsplit(":", 1)[1]
    stop_service(out)
    first = tmp_path / "first-build"
    shutil.move(out, first)
    again = baton(tmp_path, "rerun", run_id, "--replay", "-q")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(server.received) == asked  # zero model calls
    # The same commits, hash for hash (trees, messages, authors, dates), on every branch: a byte-for-byte
    # rebuild. The committed files carry nothing of one execution (the release's port, the timings).
    assert commits(out) == before and len(git(out, "rev-list", "HEAD").split()) == len(subjects)
    assert git(out, "ls-tree", "-r", "HEAD") == tree_before
    assert git(out, "status", "--porcelain") == ""
    store = Store.open(f"sqlite:///{tmp_path / 'baton.db'}")
    try:
        with store.read() as conn:
            replay = next(r for r in list_runs(conn) if r.id != run_id)
            source = next(r for r in list_runs(conn) if r.id == run_id)
            replayed = list(conn.execute(select(model_calls).where(model_calls.c.run_id == replay.id)))
            deploy_again = run_outputs(conn, replay.id)["deploy"]
    finally:
        store.close()
    assert replay.options["replay_of"] == run_id and replay.clock == source.clock == source.created_at
    assert len(replayed) == len(calls) and {c.status for c in replayed} == {"replayed"}
    assert sum(c.cost_usd for c in replayed) == 0
    # Both releases ran, each on its own port; neither port is in the repository.
    port_after = deploy_again["url"].rsplit(":", 1)[1]
    for repo in (first, out):
        text = (repo / "README.md").read_text(encoding="utf-8") + (repo / "BUILD.md").read_text("utf-8")
        assert f":{port_before}" not in text and f":{port_after}" not in text


def test_a_red_gate_goes_back_to_the_coder_and_is_fixed_in_round_two(
    tmp_path: Path, server: FakeModelServer, out: Path
) -> None:
    server.script(ARCHITECT_MODEL, Reply.text(json.dumps(architect_spec())))
    server.script(
        CODER_MODEL,
        *write_feature(BROKEN_TESTS),
        finish(),
        Reply.tool("replace_in_file", {"path": "tests/test_rates.py", "old": FIX_OLD, "new": FIX_NEW}),
        Reply.tool("run_checks"),
        finish(note="fixed the expectation"),
        # The reviewer sends the work back once: the coder answers in one more (green) round.
        Reply.tool("read_file", {"path": "app/rates.py"}),
        finish(note="the fetch refuses sources that are not http(s)"),
    )
    send_back = {
        "verdict": "send_back",
        "findings": [{"severity": "medium", "file": "app/rates.py", "issue": "check the source's scheme"}],
    }
    server.script(ARCHITECT_MODEL, Reply.structured(send_back))
    result = baton(tmp_path, "build", IDEA, "--out", str(out), config=config_text(server))
    assert result.returncode == 0, result.stdout + result.stderr
    # the code stage's time is the crew's too: the step's own wall time, split into templates and crew
    output = " ".join(result.stdout.split())
    code_s = float(output.split("stage times │", 1)[1].split("code ", 1)[1].split(" s", 1)[0])
    crew_s = float(output.split("crew (coder, debugger, reviewer) ", 1)[1].split(" s", 1)[0])
    assert 0 < crew_s <= code_s, output
    subjects = [line.split(" ", 1)[1] for line in history(out)]
    assert [s.split(":")[0] for s in subjects if s.startswith("Crew")] == [
        "Crew round 1 (red)",
        "Crew round 2 (green)",
        "Crew round 3 (green)",
    ]
    review = crew_report(out)["review"]
    assert review[:2] == [
        "[medium] (app/rates.py) check the source's scheme",
        "sent back once; the coder answered in the next round",
    ]
    sent_back = server.calls_for(CODER_MODEL)[-2].body["messages"][-1]["content"]
    assert sent_back.startswith("The reviewer sent your work back") and "source's scheme" in sent_back
    assert len(server.calls_for(ARCHITECT_MODEL)) == 2  # one review only: the work goes back once
    # The debugger's message carried the failing test and its assertion, not the whole log.
    debugger = [m for m in server.calls_for(CODER_MODEL)[5].body["messages"] if m["role"] == "user"][-1]
    assert "Round 1 ended red" in debugger["content"]
    assert "test_fetch_stores_and_latest_keeps_the_newest_per_currency" in debugger["content"]
    assert "AssertionError" in debugger["content"] and len(debugger["content"]) < 6000
    assert [(r["id"], r["status"]) for r in crew_report(out)["requirements"]] == [("R2", "implemented")]


def test_work_that_never_gets_green_is_reset_and_the_requirement_fails(
    tmp_path: Path, server: FakeModelServer, out: Path
) -> None:
    server.script(ARCHITECT_MODEL, Reply.text(json.dumps(architect_spec())))
    server.script(CODER_MODEL, *write_feature(BROKEN_TESTS), finish(), finish())
    result = baton(tmp_path, "build", IDEA, "--out", str(out), "--rounds", "2", config=config_text(server))
    assert result.returncode == 0, result.stdout + result.stderr
    subjects = [line.split(" ", 1)[1] for line in history(out)]
    assert not any(s.startswith("Crew") for s in subjects)  # main holds only green work
    assert not (out / "app" / "rates.py").exists()
    attempt = git(out, "log", "--format=%s", "crew/attempt-2").splitlines()
    assert attempt[:2] == [
        "Crew round 2 (red): scheduled fetch and latest-per-currency endpoint",
        "Crew round 1 (red): scheduled fetch and latest-per-currency endpoint",
    ]
    [requirement] = crew_report(out)["requirements"]
    assert requirement["status"] == "failed" and "still red after 2 round(s)" in requirement["note"]
    build_md = (out / "BUILD.md").read_text(encoding="utf-8")
    assert "never got green" in build_md and "crew/attempt-2" in build_md


def test_a_budget_hit_mid_loop_leaves_the_requirement_not_implemented_and_the_build_green(
    tmp_path: Path, server: FakeModelServer, out: Path
) -> None:
    server.script(ARCHITECT_MODEL, Reply.text(json.dumps(architect_spec())))
    reads = [
        Reply.tool("read_file", {"path": p}) for p in ("app/main.py", "app/models.py", "app/database.py")
    ]
    server.script(CODER_MODEL, *reads * 5)
    # gpt-4o may spend $0.041 on a turn's 4096 output tokens: the budget covers a few turns, not ten.
    result = baton(tmp_path, "build", IDEA, "--out", str(out), "--budget", "0.05", config=config_text(server))
    assert result.returncode == 0, result.stdout + result.stderr
    [requirement] = crew_report(out)["requirements"]
    assert requirement["status"] == "not implemented" and "(budget)" in requirement["note"]
    store, run_id = the_run(tmp_path)
    try:
        with store.read() as conn:
            statuses = [
                row.status
                for row in conn.execute(select(model_calls.c.status).where(model_calls.c.run_id == run_id))
            ]
    finally:
        store.close()
    assert statuses.count("ok") >= 3 and statuses[-1] == "refused"  # the architect, then coder turns
    assert not any(line.split(" ", 1)[1].startswith("Crew") for line in history(out))


@pytest.mark.parametrize("fallback", [False, True], ids=["no-fallback", "fallback-model"])
def test_a_provider_outage_mid_loop_falls_back_or_ends_cleanly(
    tmp_path: Path, server: FakeModelServer, out: Path, fallback: bool
) -> None:
    server.script(ARCHITECT_MODEL, Reply.text(json.dumps(architect_spec())))
    server.script(
        CODER_MODEL,
        Reply.tool("list_files", {"path": "app"}),
        *[Reply.fail(503, "overloaded") for _ in range(20)],
    )
    # The fallback model continues the same conversation over Anthropic's protocol.
    server.script("claude-sonnet-4-5", finish("not implemented", "the source's format is unknown"))
    result = baton(tmp_path, "build", IDEA, "--out", str(out), config=config_text(server, fallback=fallback))
    assert result.returncode == 0, result.stdout + result.stderr
    [requirement] = crew_report(out)["requirements"]
    assert requirement["status"] == "not implemented"
    if fallback:
        assert requirement["note"] == "the source's format is unknown"
        [claude] = server.calls_for("claude-sonnet-4-5")
        blocks = claude.body["messages"][-1]["content"]
        assert blocks[0]["type"] == "tool_result" and "app/main.py" in blocks[0]["content"]
    else:
        assert "the model was unavailable" in requirement["note"]


def test_a_replay_of_a_build_with_a_failed_requirement_makes_the_same_commits(tmp_path: Path) -> None:
    """A check that fails only against the deployed service quotes a request holding a fresh `{uniq}`
    token; BUILD.md and README.md carry the reason, and a replay still makes the same commits."""
    # The project's tests call the service without an X-Actor (its audit columns say "api"); the deploy
    # stage's client names itself, so the check fails there only, with the token in the path it quotes.
    by_api = {"name": "add as the api", "method": "POST", "path": "/books?ref={uniq}"}
    check = {
        **by_api,
        "body": {"title": "t {uniq}"},
        "expect_status": 201,
        "expect_fields": {"created_by": "api"},
    }
    spec = {
        "name": "shelf-api",
        "title": "Shelf",
        "entities": [{"name": "book", "fields": [{"name": "title"}]}],
        "requirements": [
            {"id": "R1", "text": "keep books", "implemented_by": "entity:book"},
            {
                "id": "R2",
                "text": "add a book with a reference",
                "implemented_by": "entity:book",
                "checks": [check],
            },
        ],
    }
    (tmp_path / "spec.yaml").write_text(json.dumps(spec), encoding="utf-8")
    out = tmp_path / "shelf"
    try:
        built = baton(tmp_path, "build", "--spec", str(tmp_path / "spec.yaml"), "--out", str(out), "-q")
        assert built.returncode == 0, built.stdout + built.stderr
        failed = next(r for r in run_outputs_of(tmp_path)["deploy"]["requirements"] if r["id"] == "R2")
        assert failed["status"] == "failed"
        assert failed["reason"].startswith("check 1 (add as the api: POST /books?ref={uniq}): "), failed
        assert "created_by" in failed["reason"]
        assert "POST /books?ref={uniq}" in (out / "BUILD.md").read_text(encoding="utf-8")
        before, tree_before = commits(out), git(out, "ls-tree", "-r", "HEAD")
        stop_service(out)
        shutil.move(out, tmp_path / "first-build")
        _, run_id = the_run(tmp_path)
        again = baton(tmp_path, "rerun", run_id, "--replay", "-q")
        assert again.returncode == 0, again.stdout + again.stderr
        assert commits(out) == before and git(out, "ls-tree", "-r", "HEAD") == tree_before
    finally:
        stop_service(out)


def run_outputs_of(tmp_path: Path) -> dict[str, Any]:
    store, run_id = the_run(tmp_path)
    try:
        with store.read() as conn:
            return run_outputs(conn, run_id)
    finally:
        store.close()
