"""What an agent is: a named function with a typed input and output, a timeout, and the skills it can
use without a model; and the context it runs in.

    @register(description="Writes the README", timeout=30, skills=[Skill.TEMPLATE])
    async def readme(spec: ServiceSpec, ctx: AgentContext) -> Readme:
        if not ctx.model_available:
            return Readme(text=render("readme.md.jinja", spec))   # produced_by: template
        answer = await ctx.complete(ModelRequest.of(...))          # produced_by: model:<name>
        return Readme(text=answer.text)

An agent may mark what produced its result with ``ctx.produced(...)``; otherwise a model call marks
``model:<name>``, and a call without one is credited to the agent's first declared skill.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from baton.core.events import EventType
from baton.llm import CallContext, Gateway, ModelRequest, ModelResponse, NoModelConfiguredError
from baton.store.events import append_events_txn, event_row
from baton.store.store import Store

if TYPE_CHECKING:
    from baton.core.workflow import TaskContext

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)

AGENT_CALL_EVENT = EventType.AGENT_CALL

Emit = Callable[[str, dict[str, Any]], None]


class Skill(StrEnum):
    """A way to produce a result without a language model."""

    TEMPLATE = "template"  # rendering files or text from templates
    RULES = "rules"  # deterministic rules: parsing, extraction, validation
    ALGORITHM = "algorithm"  # computation: forecasting, optimisation, allocation


def model_produced(model: str) -> str:
    return f"model:{model}"


@dataclass(frozen=True)
class Agent(Generic[In, Out]):
    """A registered agent. ``fn(input, ctx)`` may be ``async def`` or plain (run in a thread)."""

    name: str
    fn: Callable[[Any, AgentContext], Any]
    input_model: type[In]
    output_model: type[Out]
    description: str = ""
    timeout: float = 60.0
    skills: tuple[Skill, ...] = ()

    @property
    def needs_model(self) -> bool:
        """True when the agent cannot work without a language model."""
        return not self.skills

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "timeout": self.timeout,
            "skills": [s.value for s in self.skills],
            "input": self.input_model.model_json_schema(),
            "output": self.output_model.model_json_schema(),
        }


@dataclass(frozen=True)
class AgentResult(Generic[Out]):
    """An agent's typed output and what produced it (``template``, ``rules``, ``algorithm``, ``model:<name>``)."""

    agent: str
    output: Out
    produced_by: str
    duration_ms: float


class AgentContext:
    """What an agent may use besides its input: the model gateway (if any), the run context of its
    calls, and the event sink. Build one per task with :meth:`for_task`; ``call`` derives a fresh one
    per agent."""

    def __init__(
        self,
        *,
        gateway: Gateway | None = None,
        call: CallContext | None = None,
        emit: Emit | None = None,
        task: TaskContext | None = None,
    ) -> None:
        self.gateway = gateway
        self.call = call or CallContext()
        self.task = task
        self._emit = emit
        self.produced_by: str | None = None
        self.models_used: list[str] = []

    @classmethod
    def for_task(
        cls,
        task: TaskContext,
        *,
        gateway: Gateway | None = None,
        budget_usd: float | None = None,
        replay_of: str | None = None,
    ) -> AgentContext:
        """The context of agents called by a running task: events go through ``task.emit``.

        What is not given comes from the task: the gateway its process provides (``services``), the
        run's budget and the run it replays (``options``) — so the engine, not each agent, sets them."""
        if gateway is None:
            gateway = task.services.get("gateway")
        if budget_usd is None:
            budget_usd = task.options.get("budget_usd")
        if replay_of is None:
            replay_of = task.options.get("replay_of")
        call = CallContext.from_task(task, budget_usd=budget_usd, replay_of=replay_of)
        return cls(gateway=gateway, call=call, emit=task.emit, task=task)

    @property
    def model_available(self) -> bool:
        """Whether a model can answer: one is configured, or the run replays one that answered this step."""
        return self.gateway is not None and self.gateway.can_answer(self.call)

    def for_agent(self, agent: str) -> AgentContext:
        """A fresh context for one call of ``agent`` (its own produced-by mark, its calls named after it)."""
        return AgentContext(
            gateway=self.gateway, call=self.call.for_agent(agent), emit=self._emit, task=self.task
        )

    def with_call(self, **changes: Any) -> AgentContext:
        return AgentContext(
            gateway=self.gateway, call=replace(self.call, **changes), emit=self._emit, task=self.task
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Ask the model gateway; the result is then credited to ``model:<name>``."""
        if self.gateway is None:
            raise NoModelConfiguredError("this agent was called without a model gateway")
        response = await self.gateway.complete(request, self.call)
        self.models_used.append(response.model)
        return response

    def produced(self, by: Skill | str) -> None:
        """Say what produced the result (a skill, or ``model:<name>``)."""
        self.produced_by = by.value if isinstance(by, Skill) else by

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        if self._emit is not None:
            self._emit(event_type, data)


def store_emitter(store: Store, *, run_id: str | None = None, task_id: int | None = None) -> Emit:
    """An event sink that writes each event to the store at once (agents used outside the engine)."""

    def emit(event_type: str, data: dict[str, Any]) -> None:
        with store.begin() as conn:
            append_events_txn(conn, [event_row(run_id, task_id, event_type, time.time(), data)])

    return emit


AgentFunction = Callable[[Any, AgentContext], Awaitable[Any] | Any]
