"""The crew's agents against the scripted model server (the real gateway, the OpenAI protocol): the
architect's answers (good, fenced, fixed on the re-ask, refused twice) and the coder's sandbox (paths
out of the repository, bookkeeping files, unknown tools, malformed arguments: refused and told)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from crew_support import ARCHITECT_MODEL, CODER_MODEL, FakeModelServer, Reply, gateway_on

from baton.agents import AgentContext
from baton.agents.tools import LoopEnd, LoopLimits, ToolRefused, check_arguments, run_tool_loop
from baton.llm import CallContext, Complexity, Gateway, ModelRequest
from baton.store.store import Store
from baton.workflows.builder import _git
from baton.workflows.builder.architecture import BuildInputs
from baton.workflows.builder.crew.architect import design_with_model, parse_answer
from baton.workflows.builder.crew.coder import CoderSession
from baton.workflows.builder.crew.models import CrewRequirement, CrewSettings
from baton.workflows.builder.crew.sandbox import MAX_WRITE_BYTES, Sandbox
from baton.workflows.builder.crew.service import WorkingTreeService
from baton.workflows.builder.extractor import extract_spec

IDEA = "A service that every hour fetches exchange rates from a source and stores them"


@pytest.fixture
async def gateway(server: FakeModelServer, tmp_path: Path) -> AsyncIterator[Gateway]:
    store = Store.open(f"sqlite:///{tmp_path / 'baton.db'}")
    async with gateway_on(server, store) as opened:
        yield opened
    store.close()


def agents(gateway: Gateway, events: list[tuple[str, dict[str, Any]]] | None = None) -> AgentContext:
    sink = events if events is not None else []
    return AgentContext(
        gateway=gateway,
        call=CallContext(run_id="crew-test", step="code"),
        emit=lambda t, d: sink.append((t, d)),
    )


def model_spec() -> dict[str, Any]:
    return {
        "name": "rates-service",
        "title": "Rates Service",
        "entities": [
            {
                "name": "rate",
                "fields": [{"name": "currency", "max_length": 8}, {"name": "value", "type": "float"}],
            }
        ],
        "jobs": [{"name": "fetch_rates", "kind": "summary", "schedule": "0 0 * * * *"}],
    }


# -- the architect ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(model_spec()),
        "Here is the spec:\n```json\n" + json.dumps(model_spec(), indent=2) + "\n```\nHope it helps.",
        "Sure! " + json.dumps(model_spec()) + " That is all.",
    ],
    ids=["plain", "fenced", "prose-around"],
)
async def test_the_architects_spec_is_used_when_valid(
    gateway: Gateway, server: FakeModelServer, text: str
) -> None:
    server.script(ARCHITECT_MODEL, Reply.text(text))
    rules = extract_spec(IDEA)
    spec, produced_by, refused = await design_with_model(
        agents(gateway), BuildInputs(idea=IDEA, out="x"), rules
    )
    assert refused is None and produced_by == f"model:{ARCHITECT_MODEL}"
    assert [e.name for e in spec.entities] == ["rate"]
    assert [f.name for f in spec.entities[0].fields] == ["currency", "value"]
    [call] = server.calls_for(ARCHITECT_MODEL)
    assert call.body["response_format"]["type"] == "json_schema"
    assert "entities" in json.dumps(call.body["response_format"]["json_schema"]["schema"])


async def test_the_architect_is_re_asked_once_with_the_validation_errors(
    gateway: Gateway, server: FakeModelServer
) -> None:
    bad = {**model_spec(), "name": "Rates Service!"}
    server.script(ARCHITECT_MODEL, Reply.text(json.dumps(bad)), Reply.text(json.dumps(model_spec())))
    spec, _, refused = await design_with_model(
        agents(gateway), BuildInputs(idea=IDEA, out="x"), extract_spec(IDEA)
    )
    assert refused is None and spec.name == "rates-service"
    reask = server.calls_for(ARCHITECT_MODEL)[1].body["messages"][-1]["content"]
    assert "refused" in reask and "name" in reask and "Rates Service!" in reask


async def test_two_refused_answers_leave_the_rules_spec_and_say_so(
    gateway: Gateway, server: FakeModelServer
) -> None:
    server.script(ARCHITECT_MODEL, Reply.text("I cannot do that"), Reply.text(json.dumps({"name": "x"})))
    rules = extract_spec(IDEA)
    spec, produced_by, refused = await design_with_model(
        agents(gateway), BuildInputs(idea=IDEA, out="x"), rules
    )
    assert spec == rules and produced_by == "rules"
    assert refused is not None and "refused twice" in refused and "title: Field required" in refused
    assert len(server.calls_for(ARCHITECT_MODEL)) == 2


def test_answers_that_hold_no_object_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="not an object"):
        parse_answer("[1, 2]")
    with pytest.raises(ValueError, match=r"no JSON object|not valid JSON"):
        parse_answer("no json here")
    assert parse_answer("", structured={"a": 1}) == {"a": 1}


# -- the coder's sandbox ----------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print('hello')\n", encoding="utf-8")
    (root / "spec.yaml").write_text("name: x\n", encoding="utf-8")
    _git.init(root)
    _git.commit_all(root, "initial")
    return root


def session(gateway: Gateway, repo: Path, events: list[tuple[str, dict[str, Any]]]) -> CoderSession:
    spec = extract_spec(IDEA)
    requirement = CrewRequirement(id="R1", text="fetch rates")
    return CoderSession(agents(gateway, events), spec, repo, [requirement], CrewSettings())


async def test_escapes_bookkeeping_unknown_tools_and_bad_arguments_are_refused_and_told(
    gateway: Gateway, server: FakeModelServer, repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched", encoding="utf-8")
    os.symlink(outside, repo / "app" / "link.txt")
    os.symlink(tmp_path, repo / "escape")
    attempts: list[tuple[str, dict[str, Any] | str]] = [
        ("write_file", {"path": "../outside.txt", "content": "pwned"}),
        ("write_file", {"path": str(outside), "content": "pwned"}),
        ("write_file", {"path": "app/link.txt", "content": "pwned"}),
        ("write_file", {"path": "escape/outside.txt", "content": "pwned"}),
        ("read_file", {"path": "escape/outside.txt"}),
        ("write_file", {"path": ".git/config", "content": "pwned"}),
        ("write_file", {"path": "app/../.git/hooks/pre-commit", "content": "pwned"}),
        ("write_file", {"path": ".baton-build/crew.json", "content": "{}"}),
        ("write_file", {"path": "spec.yaml", "content": "pwned"}),
        ("replace_in_file", {"path": "app/main.py", "old": "absent", "new": "x"}),
        ("replace_in_file", {"path": "app/main.py", "old": "l", "new": "x"}),
        ("run_shell", {"command": "rm -rf /"}),
        ("write_file", '{"path": "app/x.py", "content": '),
        ("write_file", {"path": "app/x.py"}),
        ("write_file", {"path": "app/x.py", "content": 42}),
        ("list_files", {"path": ".", "recursive": True}),
        ("read_file", {"path": ".deploy/shared/secrets.env"}),
    ]
    server.script(
        CODER_MODEL,
        Reply.tools(*attempts),
        Reply.tool("write_file", {"path": "app/ok.py", "content": "X = 1\n"}),
        Reply.tool(
            "finish", {"summary": "done", "requirements": [{"id": "R1", "status": "not implemented"}]}
        ),
    )
    events: list[tuple[str, dict[str, Any]]] = []
    coder = session(gateway, repo, events)
    outcome = await run_tool_loop(
        coder.agents, ModelRequest.of("go", complexity=Complexity.COMPLEX), coder.tools()
    )

    assert outcome.finished and outcome.turns == 3
    results = [m for m in server.calls_for(CODER_MODEL)[1].body["messages"] if m["role"] == "tool"]
    assert len(results) == len(attempts)
    assert all(r["content"].startswith("error:") for r in results), [r["content"] for r in results]
    told = [r["content"] for r in results]
    assert "'..' is not allowed" in told[0] and "absolute" in told[1]
    assert "outside the repository" in told[2] and "outside the repository" in told[3]
    assert "bookkeeping" in told[5] and "written by baton" in told[8]
    assert "not found" in told[9] and "occurs" in told[10]
    assert "no tool named 'run_shell'" in told[11] and "not valid JSON" in told[12]
    assert "content is missing" in told[13] and "content must be a string" in told[14]
    assert "recursive is not an argument" in told[15] and "bookkeeping" in told[16]
    assert outside.read_text(encoding="utf-8") == "untouched"
    assert (repo / "spec.yaml").read_text(encoding="utf-8") == "name: x\n"
    assert (repo / "app" / "main.py").read_text(encoding="utf-8") == "print('hello')\n"
    assert (repo / "app" / "ok.py").read_text(encoding="utf-8") == "X = 1\n"
    assert coder.claims == {"R1": {"id": "R1", "status": "not implemented"}}
    tool_events = [d for t, d in events if t == "agent.tool"]
    assert len(tool_events) == len(attempts) + 2
    assert [e["ok"] for e in tool_events[-2:]] == [True, True]
    assert tool_events[0]["tool"] == "write_file" and "../outside.txt" in tool_events[0]["arguments"]


async def test_finish_must_account_for_every_requirement(
    gateway: Gateway, server: FakeModelServer, repo: Path
) -> None:
    server.script(
        CODER_MODEL,
        Reply.tool("finish", {"summary": "x", "requirements": [{"id": "R9", "status": "implemented"}]}),
        Reply.tool("finish", {"summary": "x", "requirements": []}),
        Reply.tool("finish", {"summary": "x", "requirements": [{"id": "R1", "status": "implemented"}]}),
    )
    coder = session(gateway, repo, [])
    outcome = await run_tool_loop(
        coder.agents, ModelRequest.of("go", complexity=Complexity.COMPLEX), coder.tools()
    )
    assert outcome.finished and outcome.turns == 3
    told = [m["content"] for m in server.calls_for(CODER_MODEL)[2].body["messages"] if m["role"] == "tool"]
    assert "unknown requirement ids ['R9']" in told[0] and "['R1'] are missing" in told[1]


async def test_a_model_that_stops_calling_tools_is_nudged_then_stopped(
    gateway: Gateway, server: FakeModelServer, repo: Path
) -> None:
    server.script(CODER_MODEL, Reply.text("I think I am done."), Reply.text("Really done."))
    coder = session(gateway, repo, [])
    outcome = await run_tool_loop(
        coder.agents, ModelRequest.of("go", complexity=Complexity.COMPLEX), coder.tools()
    )
    assert outcome.stopped == "no_tool_call" and outcome.turns == 2
    assert "call finish" in server.calls_for(CODER_MODEL)[1].body["messages"][-1]["content"]


def test_tool_arguments_are_checked_against_their_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"type": "integer"}},
            "mode": {"enum": ["a", "b"]},
        },
        "required": ["items"],
        "additionalProperties": False,
    }
    assert check_arguments(schema, {"items": [1, 2], "mode": "a"}) == []
    assert check_arguments(schema, {"items": [1, "2", True], "mode": "c", "x": 1}) == [
        "arguments.items[1] must be an integer",
        "arguments.items[2] must be an integer",
        "arguments.mode must be one of ['a', 'b']",
        "arguments.x is not an argument of this tool",
    ]
    assert check_arguments(schema, []) == ["arguments must be an object"]


@pytest.mark.parametrize(
    "limits, end",
    [(LoopLimits(max_turns=2), LoopEnd.TURNS), (LoopLimits(max_tokens=1000), LoopEnd.TOKENS)],
    ids=["turns", "tokens"],
)
async def test_the_turn_and_token_limits_end_the_loop(
    gateway: Gateway, server: FakeModelServer, repo: Path, limits: LoopLimits, end: LoopEnd
) -> None:
    server.script(CODER_MODEL, *[Reply.tool("read_file", {"path": "app/main.py"}) for _ in range(20)])
    coder = session(gateway, repo, [])
    request = ModelRequest.of("go " + "word " * 300, complexity=Complexity.COMPLEX)
    outcome = await run_tool_loop(coder.agents, request, coder.tools(), limits=limits)
    assert outcome.stopped is end and not outcome.finished
    assert len(server.calls_for(CODER_MODEL)) == outcome.turns  # no call past the limit
    if end is LoopEnd.TURNS:
        assert outcome.turns == 2
    else:  # stopped at the first turn that took the total past the limit
        assert outcome.tokens_in + outcome.tokens_out >= 1000 > outcome.tokens_in + outcome.tokens_out - 400
        assert outcome.turns < 20


def test_call_service_takes_a_path_never_a_host(repo: Path) -> None:
    service = WorkingTreeService(extract_spec(IDEA), repo, repo / ".baton-build" / "svc")
    for path in ("http://169.254.169.254/latest", "//evil.example/x", "items", "/x\r\nHost: evil"):
        with pytest.raises(ToolRefused, match="path must be a path on the service"):
            service.call("GET", path)
    with pytest.raises(ToolRefused, match="method must be one of"):
        service.call("TRACE", "/health")


def test_the_sandbox_bounds_what_it_writes_and_reads(repo: Path) -> None:
    box = Sandbox(repo)
    with pytest.raises(ToolRefused, match="limit"):
        box.write_file("app/big.py", "x" * (MAX_WRITE_BYTES + 1))
    (repo / "app" / "blob.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ToolRefused, match="binary"):
        box.read_file("app/blob.bin")
    with pytest.raises(ToolRefused, match="does not exist"):
        box.read_file("app/missing.py")
    assert box.list_files(".").splitlines() == ["spec.yaml", "app/blob.bin", "app/main.py"]
