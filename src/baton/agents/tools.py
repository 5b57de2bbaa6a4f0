"""A tool-using agent loop: the model calls tools, baton runs them and answers, until the model calls its
``finish`` tool or a limit is reached.

    outcome = await run_tool_loop(ctx, request, tools, limits=LoopLimits(max_turns=30))

Every model answer is untrusted input. A call of an unknown tool, arguments that are not a JSON object
or do not fit the tool's schema, and anything a tool refuses (:class:`ToolRefused`) go back to the model
as an error result it can read and correct — never an exception in the caller. Results are trimmed to
``max_result_chars``. Each call is an ``agent.tool`` event (tool, a short digest of the arguments,
whether it worked, how long it took), so live views show what the agent is doing as it does it.

The loop ends when ``finish`` is called with valid arguments (``finished``), on the turn, token or
budget limit (``turns``, ``tokens``, ``budget``: the gateway enforces the run's dollar budget), when
every model of the chain failed (``model_failed``), or when the model stops calling tools twice running
(``no_tool_call``).
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from baton.agents.agent import AgentContext
from baton.llm import (
    AllModelsFailedError,
    BudgetExceededError,
    Message,
    ModelRequest,
    ModelResponse,
    Role,
    ToolCall,
    ToolSpec,
)

TOOL_EVENT = "agent.tool"
_NUDGE = "Use the tools to do the work; call finish when you are done."


class LoopEnd(StrEnum):
    """Why a tool loop ended."""

    FINISHED = "finished"  # the model called the finish tool with valid arguments
    TURNS = "turns"  # the turn limit was reached
    TOKENS = "tokens"  # the token limit was reached
    BUDGET = "budget"  # the gateway refused a call: the run's dollar budget
    MODEL_FAILED = "model_failed"  # every model of the chain failed
    NO_TOOL_CALL = "no_tool_call"  # the model answered without a tool call twice running


class ToolRefused(Exception):
    """Raised by a tool to refuse a call; the message is what the model is told."""


ToolFunction = Callable[..., Awaitable[str] | str]


@dataclass(frozen=True)
class Tool:
    """A tool: its definition for the model and the function that runs it with the call's arguments."""

    spec: ToolSpec
    run: ToolFunction

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class LoopLimits:
    max_turns: int = 40  # model calls
    max_tokens: int = 400_000  # tokens in and out, over the whole loop
    max_result_chars: int = 6_000  # of one tool result, as the model sees it
    max_tokens_per_turn: int = 4096


@dataclass
class LoopOutcome:
    stopped: LoopEnd
    finish: dict[str, Any] | None = None  # the finish tool's arguments
    turns: int = 0
    tool_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    models: list[str] = field(default_factory=list)
    error: str | None = None
    messages: tuple[Message, ...] = ()

    @property
    def finished(self) -> bool:
        return self.stopped is LoopEnd.FINISHED


def _type_ok(value: Any, kind: str | None) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
        "null": lambda v: v is None,
    }
    return kind is None or checks.get(kind, lambda _: True)(value)


def check_arguments(schema: Mapping[str, Any], value: Any, where: str = "arguments") -> list[str]:
    """What is wrong with ``value`` against the subset of JSON schema tools use (types, required,
    properties, additionalProperties: false, items, enum). Empty when it fits."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if not any(_type_ok(value, k) for k in kinds):
        wanted = (
            f"one of {kind}"
            if isinstance(kind, list)
            else f"{'an' if str(kind)[0] in 'aeiou' else 'a'} {kind}"
        )
        return [f"{where} must be {wanted}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} must be one of {schema['enum']}")
    if isinstance(value, dict):
        problems += _check_object(schema, value, where)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += check_arguments(schema["items"], item, f"{where}[{index}]")
    return problems


def _check_object(schema: Mapping[str, Any], value: dict[str, Any], where: str) -> list[str]:
    properties = schema.get("properties", {})
    problems = [f"{where}.{name} is missing" for name in schema.get("required", []) if name not in value]
    for name, item in value.items():
        if name in properties:
            problems += check_arguments(properties[name], item, f"{where}.{name}")
        elif schema.get("additionalProperties") is False:
            problems.append(f"{where}.{name} is not an argument of this tool")
    return problems


def _digest(arguments: Any, limit: int = 160) -> str:
    """A short, single-line view of a call's arguments for events (long contents are cut)."""
    if isinstance(arguments, dict):
        parts = []
        for key, value in arguments.items():
            text = value if isinstance(value, str) else json.dumps(value)
            text = text.replace("\n", "⏎")
            parts.append(f"{key}={text[:60]}{'…' if len(text) > 60 else ''}")
        out = ", ".join(parts)
    else:
        out = str(arguments)
    return out[:limit]


def trim(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, keeping its start and end, saying how much was left out."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    return f"{text[:head]}\n… [{len(text) - limit} characters left out] …\n{text[-tail:]}"


async def _run_call(
    call: ToolCall, tools: Mapping[str, Tool], ctx: AgentContext, limits: LoopLimits
) -> tuple[str, bool, Any]:
    """The result text of one call, whether it is an error, and the parsed arguments (None if unusable)."""
    tool = tools.get(call.name)
    if tool is None:
        return f"error: there is no tool named {call.name!r}; the tools are {sorted(tools)}", True, None
    try:
        arguments = call.parsed()
    except ValueError as error:
        return f"error: the arguments are not valid JSON ({error}); send a JSON object", True, None
    problems = check_arguments(tool.spec.parameters, arguments)
    if problems:
        return "error: " + "; ".join(problems[:10]), True, None
    try:
        result = tool.run(**arguments)
        if inspect.isawaitable(result):
            result = await result
    except ToolRefused as refused:
        return f"error: {refused}", True, arguments
    return trim(str(result), limits.max_result_chars), False, arguments


async def _answer_calls(
    answer: ModelResponse,
    tools: Mapping[str, Tool],
    ctx: AgentContext,
    limits: LoopLimits,
    outcome: LoopOutcome,
    finish: str,
    on_tool: Callable[[dict[str, Any]], None] | None,
) -> tuple[list[Message], dict[str, Any] | None]:
    """Run every call of one answer, in order; their results, and the finish arguments if it finished."""
    results: list[Message] = []
    finished: dict[str, Any] | None = None
    for call in answer.tool_calls:
        started = time.perf_counter()
        text, is_error, arguments = await _run_call(call, tools, ctx, limits)
        outcome.tool_calls += 1
        event = {
            "agent": ctx.call.agent,
            "tool": call.name[:80],
            "arguments": _digest(arguments if arguments is not None else call.arguments),
            "ok": not is_error,
            "result": text.splitlines()[0][:160] if text else "",
            "ms": round((time.perf_counter() - started) * 1000.0, 1),
            "turn": outcome.turns,
        }
        ctx.emit(TOOL_EVENT, event)
        if on_tool is not None:
            on_tool(event)
        results.append(Message.tool_result(call, text, is_error=is_error))
        if call.name == finish and not is_error:
            finished = arguments
    return results, finished


async def run_tool_loop(
    ctx: AgentContext,
    request: ModelRequest,
    tools: Sequence[Tool],
    *,
    finish: str = "finish",
    limits: LoopLimits | None = None,
    on_turn: Callable[[ModelResponse], None] | None = None,
    on_tool: Callable[[dict[str, Any]], None] | None = None,
) -> LoopOutcome:
    """Drive ``request`` (its first turns) with ``tools`` until ``finish`` or a limit; see the module doc."""
    limits = limits or LoopLimits()
    by_name = {t.name: t for t in tools}
    if finish not in by_name:
        raise ValueError(f"the tools have no {finish!r} tool to end the loop")
    request = ModelRequest(
        messages=request.messages,
        max_tokens=min(request.max_tokens, limits.max_tokens_per_turn),
        temperature=request.temperature,
        complexity=request.complexity,
        model=request.model,
        tools=tuple(t.spec for t in tools),
        tool_choice=request.tool_choice,
        cache=request.cache,
    )
    outcome = LoopOutcome(stopped=LoopEnd.TURNS)
    idle = 0
    while True:
        if outcome.turns >= limits.max_turns:
            outcome.stopped = LoopEnd.TURNS
            break
        if outcome.tokens_in + outcome.tokens_out >= limits.max_tokens:
            outcome.stopped = LoopEnd.TOKENS
            break
        try:
            answer = await ctx.complete(request)
        except BudgetExceededError as error:
            outcome.stopped, outcome.error = LoopEnd.BUDGET, error.message
            break
        except AllModelsFailedError as error:
            outcome.stopped, outcome.error = LoopEnd.MODEL_FAILED, error.message
            break
        outcome.turns += 1
        outcome.tokens_in += answer.tokens_in
        outcome.tokens_out += answer.tokens_out
        outcome.cost_usd += answer.cost_usd
        outcome.models.append(answer.model)
        if on_turn is not None:
            on_turn(answer)
        if not answer.tool_calls:
            idle += 1
            if idle >= 2:
                outcome.stopped = LoopEnd.NO_TOOL_CALL
                break
            request = request.with_messages(answer.assistant_message(), Message(Role.USER, _NUDGE))
            continue
        idle = 0
        results, finished = await _answer_calls(answer, by_name, ctx, limits, outcome, finish, on_tool)
        request = request.with_messages(answer.assistant_message(), *results)
        if finished is not None:
            outcome.stopped, outcome.finish = LoopEnd.FINISHED, finished
            break
    outcome.messages = request.messages
    return outcome
