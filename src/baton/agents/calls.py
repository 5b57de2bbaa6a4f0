"""Calling agents: one call with its timeout and its ``agent.call`` event, and handoff chains."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from baton.agents.agent import AGENT_CALL_EVENT, Agent, AgentContext, AgentResult, model_produced
from baton.agents.errors import (
    AgentInputError,
    AgentOutputError,
    AgentTimeoutError,
    HandoffContextError,
    ModelRequiredError,
    validation_fields,
)
from baton.agents.registry import AgentRegistry, default_registry
from baton.core.errors import BatonError
from baton.llm.errors import error_summary


def resolve(agent: str | Agent[Any, Any], registry: AgentRegistry | None = None) -> Agent[Any, Any]:
    return agent if isinstance(agent, Agent) else (registry or default_registry).get(agent)


async def call(
    agent: str | Agent[Any, Any],
    input: BaseModel | Mapping[str, Any],
    ctx: AgentContext | None = None,
    *,
    registry: AgentRegistry | None = None,
    timeout: float | None = None,
) -> AgentResult[Any]:
    """Run one agent on ``input`` (its input model, or a mapping validated into it).

    Raises :class:`AgentTimeoutError` past the agent's timeout (or ``timeout``), :class:`AgentInputError`,
    :class:`AgentOutputError`, :class:`ModelRequiredError`, or whatever the agent raised. Every call,
    failed or not, is emitted as an ``agent.call`` event.
    """
    spec = resolve(agent, registry)
    context = (ctx or AgentContext()).for_agent(spec.name)
    validated = _validate_input(spec, input)
    if spec.needs_model and not context.model_available:
        raise ModelRequiredError(spec.name)
    limit = timeout if timeout is not None else spec.timeout
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit) as deadline:
            raw = await _invoke(spec, validated, context)
    except TimeoutError:
        if not deadline.expired():
            _emit(context, spec, started, "error", None, {"code": "TimeoutError"})
            raise
        _emit(context, spec, started, "timeout", None, {"code": AgentTimeoutError.code})
        raise AgentTimeoutError(spec.name, limit) from None
    except BaseException as error:
        status = "cancelled" if isinstance(error, asyncio.CancelledError) else "error"
        _emit(context, spec, started, status, None, error_summary(error))
        raise
    output = _validate_output(spec, raw)
    produced_by = _produced_by(spec, context)
    duration = _emit(context, spec, started, "ok", produced_by, None)
    return AgentResult(agent=spec.name, output=output, produced_by=produced_by, duration_ms=duration)


async def _invoke(spec: Agent[Any, Any], validated: BaseModel, context: AgentContext) -> Any:
    if inspect.iscoroutinefunction(spec.fn):
        return await spec.fn(validated, context)
    # A plain function runs in a thread so that its timeout still releases the caller.
    result = await asyncio.to_thread(spec.fn, validated, context)
    return await result if inspect.isawaitable(result) else result


def _validate_input(spec: Agent[Any, Any], input: BaseModel | Mapping[str, Any]) -> BaseModel:
    if isinstance(input, spec.input_model):
        return cast(BaseModel, input)
    raw = input.model_dump() if isinstance(input, BaseModel) else dict(input)
    try:
        validated: BaseModel = spec.input_model.model_validate(raw)
        return validated
    except ValidationError as error:
        missing, invalid = validation_fields(error)
        raise AgentInputError(spec.name, missing, invalid) from None


def _validate_output(spec: Agent[Any, Any], raw: Any) -> BaseModel:
    if isinstance(raw, spec.output_model):
        return cast(BaseModel, raw)
    try:
        output: BaseModel = spec.output_model.model_validate(
            raw.model_dump() if isinstance(raw, BaseModel) else raw
        )
        return output
    except ValidationError as error:
        missing, invalid = validation_fields(error)
        reason = (
            f"missing {', '.join(missing)}" if missing else "; ".join(f"{k}: {v}" for k, v in invalid.items())
        )
        raise AgentOutputError(spec.name, spec.output_model.__name__, reason) from None


def _produced_by(spec: Agent[Any, Any], context: AgentContext) -> str:
    if context.produced_by:
        return context.produced_by
    if context.models_used:
        return model_produced(context.models_used[-1])
    return spec.skills[0].value if spec.skills else "unknown"


def _emit(
    context: AgentContext,
    spec: Agent[Any, Any],
    started: float,
    status: str,
    produced_by: str | None,
    error: dict[str, Any] | None,
) -> float:
    duration = (time.perf_counter() - started) * 1000.0
    data: dict[str, Any] = {
        "agent": spec.name,
        "step": context.call.step,
        "duration_ms": round(duration, 3),
        "status": status,
        "produced_by": produced_by,
        "models": list(context.models_used),
    }
    if error is not None:
        data["error"] = error
    context.emit(AGENT_CALL_EVENT, data)
    return duration


@dataclass(frozen=True)
class ChainResult:
    """The results of a handoff chain, in order; ``output`` is the last agent's."""

    results: tuple[AgentResult[Any], ...]
    context: Mapping[str, Any]

    @property
    def output(self) -> Any:
        return self.results[-1].output

    @property
    def produced_by(self) -> dict[str, str]:
        return {r.agent: r.produced_by for r in self.results}


async def handoff_chain(
    agents: Sequence[str | Agent[Any, Any]],
    context: BaseModel | Mapping[str, Any],
    ctx: AgentContext | None = None,
    *,
    registry: AgentRegistry | None = None,
) -> ChainResult:
    """Call ``agents`` in order; each one's typed result becomes part of the next one's context.

    The chain's context starts from ``context``. After each agent, its output is stored under the
    agent's name and under ``previous``, and its fields are merged in (a later field wins). Each agent's
    input is built from the fields of the context that its input model declares; a missing required
    field is a :class:`HandoffContextError` before the agent runs. A timed-out agent raises
    :class:`AgentTimeoutError` naming its place in the chain.
    """
    if not agents:
        raise BatonError("a handoff chain needs at least one agent")
    specs = [resolve(a, registry) for a in agents]
    held: dict[str, Any] = _fields_of(context)
    results: list[AgentResult[Any]] = []
    for position, spec in enumerate(specs):
        fields = {name: held[name] for name in spec.input_model.model_fields if name in held}
        try:
            agent_input = spec.input_model.model_validate(fields)
        except ValidationError as error:
            missing, invalid = validation_fields(error)
            if missing:
                raise HandoffContextError(spec.name, position, missing, held) from None
            raise AgentInputError(spec.name, missing, invalid) from None
        try:
            result = await call(spec, agent_input, ctx, registry=registry)
        except AgentTimeoutError as error:
            raise AgentTimeoutError(
                error.agent,
                error.timeout,
                where=f" (agent {position + 1} of {len(specs)} of the handoff chain)",
            ) from None
        results.append(result)
        held[spec.name] = result.output
        held["previous"] = result.output
        held.update(_fields_of(result.output))
    return ChainResult(results=tuple(results), context=held)


def _fields_of(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return {name: getattr(value, name) for name in type(value).model_fields}
    return dict(value)
