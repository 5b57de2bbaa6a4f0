"""Tools through the gateway, against the fake server speaking OpenAI's and Anthropic's real protocols:
definitions, calls and results on the wire, and a tool conversation routed, costed, recorded, cached
(each turn's conversation prefix is a hit on the next run) and replayed offline."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from baton.llm import (
    BudgetExceededError,
    CallContext,
    Gateway,
    Message,
    ModelRequest,
    ModelResponse,
    ProviderRejectedError,
    Role,
    ToolCall,
    ToolChoice,
    ToolSpec,
)
from baton.llm.errors import AllModelsFailedError
from baton.store.events import query_events
from baton.store.schema import model_calls
from baton.store.store import Store

from .conftest import GatewayFactory, make_config
from .fakeserver import FakeModelServer, Reply

READ = ToolSpec(
    "read_file",
    "Read a file of the repository",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
FINISH = ToolSpec(
    "finish",
    "Say you are done",
    {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]},
)
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}


def first_request(model: str) -> ModelRequest:
    return ModelRequest.of(
        "Read app/main.py, then finish.", system="You edit code.", tools=(READ, FINISH), model=model
    )


async def converse(
    gateway: Gateway, model: str, context: CallContext, stamp: str = ""
) -> list[ModelResponse]:
    """Two turns: the model calls read_file, gets the result, then calls finish."""
    request = first_request(model)
    answers = []
    for _ in range(3):
        answer = await gateway.complete(request, context)
        answers.append(answer)
        if not answer.tool_calls or answer.tool_calls[0].name == "finish":
            return answers
        results = [
            Message.tool_result(c, f"contents of {c.parsed()['path']}{stamp}") for c in answer.tool_calls
        ]
        request = request.with_messages(answer.assistant_message(), *results)
    return answers


def script_conversation(server: FakeModelServer, model: str) -> None:
    server.script(
        model,
        Reply.tool("read_file", {"path": "app/main.py"}, text="Let me look."),
        Reply.tool("finish", {"summary": "read it"}),
    )


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
async def test_a_tool_conversation_goes_over_each_protocol_as_its_api_expects(
    gateway: Gateway, server: FakeModelServer, store: Store, protocol: str
) -> None:
    model = MODELS[protocol]
    script_conversation(server, model)
    answers = await converse(gateway, model, CallContext(run_id="tools-1", step="code", agent="coder"))

    assert [a.tool_calls[0].name for a in answers] == ["read_file", "finish"]
    assert answers[0].tool_calls[0].parsed() == {"path": "app/main.py"}
    assert answers[0].text == "Let me look."
    assert answers[1].tool_calls[0].parsed() == {"summary": "read it"}
    assert all(a.cost_usd > 0 and a.model == model for a in answers)
    first, second = server.calls_for(model)
    if protocol == "openai":
        assert first.body["tools"][0] == {
            "type": "function",
            "function": {"name": "read_file", "description": READ.description, "parameters": READ.parameters},
        }
        assert first.body["tool_choice"] == "auto"
        assistant, result = second.body["messages"][-2:]
        assert assistant["tool_calls"][0]["function"] == {
            "name": "read_file",
            "arguments": json.dumps({"path": "app/main.py"}),
        }
        assert result == {
            "role": "tool",
            "tool_call_id": assistant["tool_calls"][0]["id"],
            "content": "contents of app/main.py",
        }
    else:
        assert first.body["tools"][0] == {
            "name": "read_file",
            "description": READ.description,
            "input_schema": READ.parameters,
        }
        assert first.body["tool_choice"] == {"type": "auto"}
        assert first.body["system"] == "You edit code."
        assistant, result = second.body["messages"][-2:]
        assert assistant["content"][0] == {"type": "text", "text": "Let me look."}
        use = assistant["content"][1]
        assert (use["type"], use["name"], use["input"]) == ("tool_use", "read_file", {"path": "app/main.py"})
        assert result == {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": use["id"], "content": "contents of app/main.py"}
            ],
        }
    with store.read() as conn:
        rows = list(conn.execute(select(model_calls).where(model_calls.c.run_id == "tools-1")))
        events = query_events(conn, run_id="tools-1", types=["model.call"])
    assert len(rows) == len(events) == 2
    recorded = json.loads(rows[0].response)
    assert recorded["tool_calls"][0]["name"] == "read_file"
    assert json.loads(rows[1].request)["request"]["messages"][-1]["role"] == "tool"


async def test_several_tool_calls_in_one_turn_and_their_results_in_order(
    gateway: Gateway, server: FakeModelServer
) -> None:
    server.script(
        "claude-haiku-4-5",
        Reply.tools(("read_file", {"path": "a.py"}), ("read_file", {"path": "b.py"})),
        Reply.text("done"),
    )
    request = first_request("claude-haiku-4-5")
    answer = await gateway.complete(request)
    assert [c.parsed()["path"] for c in answer.tool_calls] == ["a.py", "b.py"]
    results = [Message.tool_result(c, "x", is_error=(n == 1)) for n, c in enumerate(answer.tool_calls)]
    final = await gateway.complete(request.with_messages(answer.assistant_message(), *results))
    assert final.text == "done" and final.tool_calls == ()
    sent = server.calls_for("claude-haiku-4-5")[1].body["messages"][-1]
    assert [b["tool_use_id"] for b in sent["content"]] == [c.id for c in answer.tool_calls]
    assert sent["content"][1]["is_error"] is True


async def test_arguments_that_are_not_json_reach_the_caller_unparsed(
    gateway: Gateway, server: FakeModelServer
) -> None:
    server.script("gpt-4o-mini", Reply.tool("read_file", '{"path": "app/ma'))
    answer = await gateway.complete(first_request("gpt-4o-mini"))
    [call] = answer.tool_calls
    assert call.arguments == '{"path": "app/ma'
    with pytest.raises(ValueError):
        call.parsed()


@pytest.mark.parametrize(
    "choice, openai, anthropic", [("required", "required", "any"), ("none", "none", "none")]
)
async def test_tool_choice_is_sent_in_each_protocols_words(
    gateway: Gateway, server: FakeModelServer, choice: str, openai: str, anthropic: str
) -> None:
    for model in MODELS.values():
        request = ModelRequest.of("go", tools=(READ,), tool_choice=ToolChoice(choice), model=model)
        await gateway.complete(request)
    assert server.calls_for("gpt-4o-mini")[0].body["tool_choice"] == openai
    assert server.calls_for("claude-haiku-4-5")[0].body["tool_choice"] == {"type": anthropic}


async def test_a_result_for_a_call_never_made_is_refused_by_the_server(
    gateway: Gateway, server: FakeModelServer
) -> None:
    # The fake server checks conversations as the real APIs do; a broken one is a 400, not a fallback loop.
    orphan = Message.tool_result("call_nobody", "x")
    request = first_request("gpt-4o-mini").with_messages(orphan)
    with pytest.raises(AllModelsFailedError) as caught:
        await gateway.complete(request)
    [(_, error)] = caught.value.failures
    assert isinstance(error, ProviderRejectedError) and "tool" in error.message


def test_messages_refuse_inconsistent_tool_turns() -> None:
    with pytest.raises(ValueError, match="id of the call"):
        Message(Role.TOOL, "x")
    with pytest.raises(ValueError, match="only an assistant"):
        Message(Role.USER, "x", tool_calls=(ToolCall("c", "read_file", "{}"),))


def test_a_request_without_tools_keeps_its_key() -> None:
    # Records made before tools existed must still replay: their canonical form is unchanged.
    assert set(ModelRequest.of("hi").canonical()) == {
        "messages",
        "max_tokens",
        "temperature",
        "response_schema",
        "schema_name",
        "stop",
    }
    assert ModelRequest.of("hi").canonical()["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
async def test_the_same_conversation_again_is_answered_from_the_cache_turn_by_turn(
    make_gateway: GatewayFactory, server: FakeModelServer, protocol: str
) -> None:
    model = MODELS[protocol]
    script_conversation(server, model)
    first = await converse(make_gateway(), model, CallContext(run_id="a", step="code"))
    # A new process (a retried task) replays the conversation: every prefix it sends was asked before.
    again = await converse(make_gateway(), model, CallContext(run_id="b", step="code"))
    assert len(server.calls_for(model)) == 2
    assert all(a.cache_hit for a in again)
    assert [a.tool_calls for a in again] == [a.tool_calls for a in first]


async def test_a_tool_conversation_replays_offline_with_the_same_calls(
    make_gateway: GatewayFactory, server: FakeModelServer, store: Store
) -> None:
    script_conversation(server, "gpt-4o")
    source = await converse(make_gateway(), "gpt-4o", CallContext(run_id="src", step="code"))
    offline = make_gateway(make_config(server, providers={}, models=[]))
    # The tools need not answer the same (a test run's timings): the model's turns replay in order.
    context = CallContext(run_id="re", step="code", replay_of="src")
    replayed = await converse(offline, "gpt-4o", context, stamp=" (read at 12:00:01)")
    assert len(server.calls_for("gpt-4o")) == 2
    assert [a.tool_calls for a in replayed] == [a.tool_calls for a in source]
    assert all(a.replayed and a.cost_usd == 0 for a in replayed)


async def test_a_tool_conversation_is_held_to_the_runs_budget(
    gateway: Gateway, server: FakeModelServer, store: Store
) -> None:
    script_conversation(server, "gpt-4o")
    context = CallContext(run_id="poor", step="code", budget_usd=0.002)
    request = ModelRequest.of("go", tools=(READ, FINISH), model="gpt-4o", max_tokens=20)
    answer = await gateway.complete(request, context)
    assert answer.cost_usd > 0
    with pytest.raises(BudgetExceededError):
        for _ in range(50):
            answer = await gateway.complete(request.with_messages(Message(Role.USER, f"again {_}")), context)
