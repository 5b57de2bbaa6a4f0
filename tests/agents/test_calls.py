from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel

from baton.agents import (
    AGENT_CALL_EVENT,
    AgentContext,
    AgentInputError,
    AgentOutputError,
    AgentRegistry,
    AgentTimeoutError,
    ModelRequiredError,
    Skill,
    call,
    register,
    store_emitter,
)
from baton.core.errors import TaskTimeoutError
from baton.core.workflow import RetryPolicy
from baton.llm import BreakerState, CallContext, Gateway, ModelRequest
from baton.store.events import query_events
from baton.store.store import Store
from llm.fakeserver import FakeModelServer, Reply

from .conftest import Events


class Topic(BaseModel):
    topic: str
    words: int = 5


class Draft(BaseModel):
    text: str


def agents(registry: AgentRegistry) -> None:
    @register(description="Writes a draft", timeout=5, skills=[Skill.TEMPLATE], registry=registry)
    async def writer(inp: Topic, ctx: AgentContext) -> Draft:
        if not ctx.model_available:
            return Draft(text=f"About {inp.topic}.")
        answer = await ctx.complete(ModelRequest.of(f"write about {inp.topic}"))
        return Draft(text=answer.text)

    @register(timeout=5, registry=registry)
    async def thinker(inp: Topic, ctx: AgentContext) -> Draft:
        answer = await ctx.complete(ModelRequest.of(inp.topic))
        return Draft(text=answer.text)

    @register(timeout=5, skills=["rules", "template"], registry=registry)
    def counter(inp: Topic, ctx: AgentContext) -> Draft:
        ctx.produced(Skill.RULES)
        return Draft(text=str(len(inp.topic)))

    @register(timeout=5, skills=["template"], registry=registry)
    async def liar(inp: Topic, ctx: AgentContext) -> Draft:
        return {"nope": 1}  # type: ignore[return-value]


async def test_without_a_model_the_agent_uses_its_template_and_says_so(
    registry: AgentRegistry, offline: AgentContext, events: Events
) -> None:
    agents(registry)
    result = await call("writer", {"topic": "tides"}, offline, registry=registry)
    assert result.output == Draft(text="About tides.")
    assert result.produced_by == "template"
    [event] = events.of(AGENT_CALL_EVENT)
    assert {k: event[k] for k in ("agent", "status", "produced_by", "step")} == {
        "agent": "writer",
        "status": "ok",
        "produced_by": "template",
        "step": "step-a",
    }
    assert event["duration_ms"] >= 0


async def test_with_a_model_the_result_names_the_model_and_its_call_names_the_agent(
    registry: AgentRegistry, online: AgentContext, events: Events, store: Store
) -> None:
    agents(registry)
    result = await call("writer", Topic(topic="tides"), online, registry=registry)
    assert result.output.text == "echo: write about tides"
    assert result.produced_by == "model:llama-small"
    assert events.of(AGENT_CALL_EVENT)[0]["models"] == ["llama-small"]
    with store.read() as conn:
        [model_event] = query_events(conn, run_id="run-a", types=["model.call"])
    assert (model_event.data["agent"], model_event.data["step"]) == ("writer", "step-a")


async def test_a_plain_function_agent_runs_and_marks_its_skill(
    registry: AgentRegistry, offline: AgentContext
) -> None:
    agents(registry)
    result = await call("counter", {"topic": "abc"}, offline, registry=registry)
    assert (result.output.text, result.produced_by) == ("3", "rules")


async def test_an_agent_that_needs_a_model_refuses_to_start_without_one(
    registry: AgentRegistry, offline: AgentContext
) -> None:
    agents(registry)
    with pytest.raises(ModelRequiredError, match="'thinker' needs a language model"):
        await call("thinker", {"topic": "x"}, offline, registry=registry)


async def test_bad_input_and_bad_output_are_typed_errors(
    registry: AgentRegistry, offline: AgentContext
) -> None:
    agents(registry)
    with pytest.raises(AgentInputError) as caught:
        await call("writer", {"words": "many"}, offline, registry=registry)
    assert caught.value.missing == ["topic"] and "words" in caught.value.invalid
    with pytest.raises(AgentOutputError, match="not a Draft: missing text"):
        await call("liar", {"topic": "x"}, offline, registry=registry)


async def test_a_timed_out_agent_raises_a_task_timeout_and_emits_it(
    registry: AgentRegistry, offline: AgentContext, events: Events
) -> None:
    never = asyncio.Event()

    @register(timeout=0.05, skills=["template"], registry=registry)
    async def stuck(inp: Topic, ctx: AgentContext) -> Draft:
        await never.wait()
        return Draft(text="")

    with pytest.raises(AgentTimeoutError, match=r"'stuck' did not finish within 0\.05 s") as caught:
        await call("stuck", {"topic": "x"}, offline, registry=registry)
    assert isinstance(caught.value, TaskTimeoutError)
    assert RetryPolicy().is_transient(caught.value)  # so its task follows its retry policy
    assert events.of(AGENT_CALL_EVENT)[0]["status"] == "timeout"


async def test_a_timeout_during_a_model_call_leaves_the_provider_healthy(
    registry: AgentRegistry, online: AgentContext, server: FakeModelServer, gateway: Gateway
) -> None:
    agents(registry)
    # A first call loads the SDK and opens the connection: on a busy machine that alone can outlast the
    # timeout below, which would then fire before the model is called and leave the hang for the next call.
    await call("thinker", {"topic": "warm"}, online, registry=registry)
    server.script("llama-small", Reply.hanging())
    with pytest.raises(AgentTimeoutError):
        await call("thinker", {"topic": "slow"}, online, registry=registry, timeout=1.0)
    assert len(server.calls_for("llama-small")) == 2  # the timeout came during the model call
    assert gateway.channel("local").breaker.state is BreakerState.CLOSED
    result = await call("thinker", {"topic": "fast"}, online, registry=registry)
    assert result.output.text == "echo: fast"


async def test_an_agents_own_error_is_emitted_and_raised(
    registry: AgentRegistry, offline: AgentContext
) -> None:
    seen = Events()

    @register(skills=["template"], registry=registry)
    async def broken(inp: Topic, ctx: AgentContext) -> Draft:
        raise ValueError("boom")

    context = AgentContext(call=CallContext(run_id="r"), emit=seen)
    with pytest.raises(ValueError, match="boom"):
        await call("broken", {"topic": "x"}, context, registry=registry)
    [event] = seen.of(AGENT_CALL_EVENT)
    assert event["status"] == "error" and event["error"] == {"code": "ValueError", "message": "boom"}


async def test_the_store_emitter_writes_agent_events_to_the_store(
    registry: AgentRegistry, store: Store
) -> None:
    agents(registry)
    context = AgentContext(call=CallContext(run_id="r-store"), emit=store_emitter(store, run_id="r-store"))
    await call("writer", {"topic": "x"}, context, registry=registry)
    with store.read() as conn:
        [event] = query_events(conn, run_id="r-store", types=[AGENT_CALL_EVENT])
    assert event.data["produced_by"] == "template"
    assert json.dumps(event.data)
