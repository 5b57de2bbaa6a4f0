from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from baton.agents import (
    AGENT_CALL_EVENT,
    AgentContext,
    AgentRegistry,
    AgentTimeoutError,
    HandoffContextError,
    handoff_chain,
    register,
)
from baton.core.errors import MissingContextError

from .conftest import Events


class Idea(BaseModel):
    idea: str


class Plan(BaseModel):
    idea: str
    steps: list[str]


class Estimate(BaseModel):
    steps: list[str]
    hours_per_step: float = 2.0


class Budget(BaseModel):
    hours: float


class Review(BaseModel):
    plan: Plan
    hours: float
    approved: bool = False


def crew(registry: AgentRegistry, ran: list[str]) -> None:
    @register(name="plan", skills=["template"], registry=registry)
    async def planner(inp: Idea, ctx: AgentContext) -> Plan:
        ran.append("planner")
        return Plan(idea=inp.idea, steps=[f"design {inp.idea}", "build", "ship"])

    @register(skills=["algorithm"], registry=registry)
    def estimator(inp: Estimate, ctx: AgentContext) -> Budget:
        ran.append("estimator")
        return Budget(hours=len(inp.steps) * inp.hours_per_step)

    @register(skills=["rules"], registry=registry)
    async def reviewer(inp: Review, ctx: AgentContext) -> Review:
        ran.append("reviewer")
        return Review(plan=inp.plan, hours=inp.hours, approved=inp.hours < 10)


async def test_each_result_becomes_part_of_the_next_agents_context(
    registry: AgentRegistry, offline: AgentContext, events: Events
) -> None:
    ran: list[str] = []
    crew(registry, ran)
    # The reviewer takes `plan` (the output of the agent named plan) and `hours` (a field of the budget).
    result = await handoff_chain(
        ["plan", "estimator", "reviewer"], Idea(idea="a shop"), offline, registry=registry
    )
    assert ran == ["planner", "estimator", "reviewer"]
    assert result.output == Review(plan=result.results[0].output, hours=6.0, approved=True)
    assert result.produced_by == {"plan": "template", "estimator": "algorithm", "reviewer": "rules"}
    assert [e["agent"] for e in events.of(AGENT_CALL_EVENT)] == ["plan", "estimator", "reviewer"]
    assert result.context["previous"] is result.output


async def test_a_missing_field_stops_the_chain_before_the_agent_runs(
    registry: AgentRegistry, offline: AgentContext
) -> None:
    ran: list[str] = []
    crew(registry, ran)
    with pytest.raises(HandoffContextError) as caught:
        await handoff_chain(["plan", "reviewer"], {"idea": "x"}, offline, registry=registry)
    assert ran == ["planner"]
    assert isinstance(caught.value, MissingContextError)
    assert caught.value.missing == ["hours"]
    assert "handoff to agent 'reviewer' (#2 of the chain) lacks hours" in caught.value.message
    with pytest.raises(HandoffContextError, match="lacks plan, hours; the chain holds idea"):
        await handoff_chain(["reviewer"], {"idea": "x"}, offline, registry=registry)


async def test_a_timeout_inside_a_chain_names_the_agent_and_its_place(
    registry: AgentRegistry, offline: AgentContext
) -> None:
    ran: list[str] = []
    crew(registry, ran)
    never = asyncio.Event()

    @register(timeout=0.05, skills=["template"], registry=registry)
    async def slow(inp: Plan, ctx: AgentContext) -> Estimate:
        await never.wait()
        return Estimate(steps=[])

    with pytest.raises(AgentTimeoutError, match=r"'slow' did not finish within 0\.05 s \(agent 2 of 3"):
        await handoff_chain(["plan", "slow", "estimator"], {"idea": "x"}, offline, registry=registry)
    assert ran == ["planner"]
