from __future__ import annotations

import pytest
from pydantic import BaseModel

from baton.agents import (
    AgentContext,
    AgentDefinitionError,
    AgentRegistry,
    Skill,
    UnknownAgentError,
    define_agent,
    register,
)


class In(BaseModel):
    x: int


class Out(BaseModel):
    y: int


async def double(inp: In, ctx: AgentContext) -> Out:
    """Doubles a number.

    More words that the description leaves out."""
    return Out(y=inp.x * 2)


def test_register_reads_the_types_and_the_description(registry: AgentRegistry) -> None:
    agent = register(timeout=3, skills=[Skill.ALGORITHM], registry=registry)(double)
    assert (agent.name, agent.input_model, agent.output_model) == ("double", In, Out)
    assert (agent.description, agent.timeout, agent.skills) == ("Doubles a number.", 3, (Skill.ALGORITHM,))
    assert registry.get("double") is agent and "double" in registry
    [described] = registry.describe()
    assert described["input"]["properties"] == {"x": {"title": "X", "type": "integer"}}
    assert described["skills"] == ["algorithm"]


def test_an_unknown_agent_names_the_registered_ones(registry: AgentRegistry) -> None:
    register(name="a", registry=registry)(double)
    with pytest.raises(UnknownAgentError, match=r"no agent is registered as 'b' \(registered: a\)"):
        registry.get("b")


def test_two_agents_cannot_share_a_name(registry: AgentRegistry) -> None:
    register(name="same", registry=registry)(double)

    async def other(inp: In, ctx: AgentContext) -> Out:
        return Out(y=0)

    with pytest.raises(AgentDefinitionError, match="already registered"):
        register(name="same", registry=registry)(other)


def test_untyped_or_badly_declared_agents_are_refused() -> None:
    async def untyped(inp, ctx):  # type: ignore[no-untyped-def]
        return None

    async def returns_dict(inp: In, ctx: AgentContext) -> dict[str, int]:
        return {}

    with pytest.raises(AgentDefinitionError, match="input must be a pydantic model"):
        define_agent(untyped)
    with pytest.raises(AgentDefinitionError, match="output must be a pydantic model"):
        define_agent(returns_dict)
    with pytest.raises(AgentDefinitionError, match="timeout must be positive"):
        define_agent(double, timeout=0)
    with pytest.raises(AgentDefinitionError, match="skills must be among template, rules, algorithm"):
        define_agent(double, skills=["magic"])
