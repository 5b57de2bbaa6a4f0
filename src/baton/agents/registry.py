"""The agent registry: agents by name, registered with a decorator that reads their types.

    @register(description="Summarises a text", timeout=20, skills=[Skill.RULES])
    async def summarise(text: Text, ctx: AgentContext) -> Summary: ...

The input model is the type of the first parameter, the output model the return type; both must be
pydantic models.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel

from baton.agents.agent import Agent, AgentFunction, Skill
from baton.agents.errors import AgentDefinitionError, UnknownAgentError


class AgentRegistry:
    def __init__(self) -> None:
        self._agents: dict[str, Agent[Any, Any]] = {}

    def add(self, agent: Agent[Any, Any], *, replace: bool = False) -> Agent[Any, Any]:
        if agent.name in self._agents and not replace and self._agents[agent.name].fn is not agent.fn:
            raise AgentDefinitionError(
                f"an agent named {agent.name!r} is already registered",
                hint="give every agent a unique name",
            )
        self._agents[agent.name] = agent
        return agent

    def get(self, name: str) -> Agent[Any, Any]:
        try:
            return self._agents[name]
        except KeyError:
            raise UnknownAgentError(name, self._agents) from None

    def __contains__(self, name: object) -> bool:
        return name in self._agents

    def names(self) -> list[str]:
        return sorted(self._agents)

    def describe(self) -> list[dict[str, Any]]:
        """Every agent's name, description, timeout, skills and input/output JSON schemas."""
        return [self._agents[name].describe() for name in self.names()]

    def remove(self, name: str) -> None:
        self._agents.pop(name, None)


default_registry = AgentRegistry()


def register(
    name: str | None = None,
    *,
    description: str | None = None,
    timeout: float = 60.0,
    skills: Iterable[Skill | str] = (),
    registry: AgentRegistry | None = None,
) -> Callable[[AgentFunction], Agent[Any, Any]]:
    """Decorator that registers ``fn(input, ctx) -> output`` as an agent and returns the :class:`Agent`."""

    def add(fn: AgentFunction) -> Agent[Any, Any]:
        agent = define_agent(fn, name=name, description=description, timeout=timeout, skills=skills)
        return (registry or default_registry).add(agent)

    return add


def define_agent(
    fn: AgentFunction,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float = 60.0,
    skills: Iterable[Skill | str] = (),
) -> Agent[Any, Any]:
    """An :class:`Agent` from a typed function, without registering it."""
    agent_name = name or getattr(fn, "__name__", "")
    if not agent_name:
        raise AgentDefinitionError("an agent needs a name")
    if timeout <= 0:
        raise AgentDefinitionError(f"agent {agent_name!r}: timeout must be positive, not {timeout}")
    try:
        hints = typing.get_type_hints(fn)
    except NameError as error:
        raise AgentDefinitionError(
            f"agent {agent_name!r}: cannot resolve its type hints ({error})",
            hint="define its input and output models at module level",
        ) from None
    parameters = list(inspect.signature(fn).parameters)
    input_model = hints.get(parameters[0]) if parameters else None
    output_model = hints.get("return")
    for role, model in (("input", input_model), ("output", output_model)):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise AgentDefinitionError(
                f"agent {agent_name!r}: its {role} must be a pydantic model, not {model!r}",
                hint="annotate the first parameter and the return type with BaseModel subclasses",
            )
    try:
        parsed_skills = tuple(Skill(s) for s in skills)
    except ValueError:
        raise AgentDefinitionError(
            f"agent {agent_name!r}: skills must be among {', '.join(s.value for s in Skill)}"
        ) from None
    doc = (inspect.getdoc(fn) or "").split("\n", 1)[0]
    return Agent(
        name=agent_name,
        fn=fn,
        input_model=typing.cast(type[BaseModel], input_model),
        output_model=typing.cast(type[BaseModel], output_model),
        description=description if description is not None else doc,
        timeout=timeout,
        skills=parsed_skills,
    )
