"""What goes into the gateway and what comes out: requests, responses and the run context of a call."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baton.core.workflow import TaskContext


class Complexity(IntEnum):
    """How demanding a request is; a model serves every level up to its configured tier."""

    SIMPLE = 1  # short prompts, plain answers: classification, extraction of a few fields
    MODERATE = 2  # longer prompts or a structured answer with many fields
    COMPLEX = 3  # long context, reasoning, code generation

    @classmethod
    def parse(cls, value: str | int | Complexity) -> Complexity:
        if isinstance(value, Complexity):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"complexity must be simple, moderate or complex, not {value!r}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Role(StrEnum):
    SYSTEM = "system"  # instructions; Anthropic takes them apart from the conversation
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"  # the result of a tool call, answering the assistant's call of the same id


class ToolChoice(StrEnum):
    AUTO = "auto"  # the model decides whether to call a tool
    REQUIRED = "required"  # the model must call one of the tools
    NONE = "none"  # the model must answer in text


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: its name, what it does, and a JSON schema of its arguments (an object)."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model asked for. ``arguments`` is the model's JSON text, unparsed: it is untrusted
    input, and the caller (not the gateway) decides what to do with arguments that do not parse."""

    id: str
    name: str
    arguments: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        return cls(id=str(data["id"]), name=str(data["name"]), arguments=str(data["arguments"]))

    def parsed(self) -> Any:
        """The arguments as JSON (raises ``ValueError`` when the model sent something that is not JSON)."""
        return json.loads(self.arguments) if self.arguments.strip() else {}


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. An assistant turn may carry ``tool_calls``; a ``tool`` turn answers the call named by
    ``tool_call_id`` with ``content`` (``is_error`` when the tool refused or failed)."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    is_error: bool = False

    def __post_init__(self) -> None:
        if self.role is Role.TOOL and not self.tool_call_id:
            raise ValueError("a tool message needs the id of the call it answers")
        if self.tool_calls and self.role is not Role.ASSISTANT:
            raise ValueError("only an assistant message carries tool calls")

    @classmethod
    def tool_result(cls, call: ToolCall | str, content: str, *, is_error: bool = False) -> Message:
        call_id = call.id if isinstance(call, ToolCall) else call
        return cls(Role.TOOL, content, tool_call_id=call_id, is_error=is_error)

    def as_dict(self) -> dict[str, Any]:
        """The canonical form (the basis of request keys): plain turns keep their two-key shape."""
        data: dict[str, Any] = {"role": self.role.value, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [c.as_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        if self.is_error:
            data["is_error"] = True
        return data

    def token_text(self) -> str:
        """What the model reads of this turn (the content and any tool calls), for token estimates."""
        if not self.tool_calls:
            return self.content
        return self.content + "".join(f" {c.name}({c.arguments})" for c in self.tool_calls)


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One request to a language model, independent of the provider that will answer it.

    ``model`` pins a configured model (its fallbacks still apply); otherwise the router chooses by
    ``complexity``. ``response_schema`` asks for structured output: a JSON schema the answer must follow.
    ``cache`` set to False skips the response cache (the call is still recorded).
    """

    messages: tuple[Message, ...]
    max_tokens: int = 1024
    temperature: float = 0.0
    response_schema: Mapping[str, Any] | None = None
    schema_name: str = "answer"
    complexity: Complexity | None = None
    model: str | None = None
    stop: tuple[str, ...] = ()
    cache: bool = True
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = ToolChoice.AUTO

    @classmethod
    def of(
        cls,
        prompt: str,
        *,
        system: str | None = None,
        history: Iterable[Message] = (),
        **options: Any,
    ) -> ModelRequest:
        """A request from a user prompt, an optional system instruction and earlier turns."""
        messages = [Message(Role.SYSTEM, system)] if system else []
        messages += [*history, Message(Role.USER, prompt)]
        return cls(messages=tuple(messages), **options)

    def with_messages(self, *more: Message) -> ModelRequest:
        """The same request with more turns appended (a re-ask)."""
        from dataclasses import replace

        return replace(self, messages=(*self.messages, *more))

    def canonical(self, *, tool_results: bool = True) -> dict[str, Any]:
        """Everything that determines the answer except the model: the basis of request keys and records.

        A request without tools keeps the shape it had before tools existed, so its keys (cache, replay)
        do not change. ``tool_results=False`` blanks what tools returned: the basis of the replay key of a
        tool conversation, whose tools (a test run, a clock) need not answer byte for byte the same
        when the run is replayed — the model's recorded turns are, in order."""
        messages = [m.as_dict() for m in self.messages]
        if not tool_results:
            for message in messages:
                if message["role"] == Role.TOOL.value:
                    message["content"] = ""
        canonical: dict[str, Any] = {
            "messages": messages,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "response_schema": dict(self.response_schema) if self.response_schema is not None else None,
            "schema_name": self.schema_name,
            "stop": list(self.stop),
        }
        if self.tools:
            canonical["tools"] = [t.as_dict() for t in self.tools]
            canonical["tool_choice"] = self.tool_choice.value
        return canonical

    def prompt_text(self) -> str:
        return "\n".join(m.content for m in self.messages)

    def token_texts(self) -> list[str]:
        """The texts the prompt's tokens are estimated from: every turn, and the tools' definitions."""
        texts = [m.token_text() for m in self.messages]
        texts += [json.dumps(t.as_dict()) for t in self.tools]
        return texts


@dataclass(frozen=True, slots=True)
class Usage:
    tokens_in: int
    tokens_out: int
    estimated: bool = False  # counted by baton's approximation because the provider sent no usage


@dataclass(frozen=True, slots=True)
class Completion:
    """What a provider returned, before the gateway adds cost and bookkeeping."""

    text: str
    usage: Usage
    finish_reason: str | None = None
    structured: Any = None  # the parsed JSON when the request had a response schema
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """The gateway's answer. ``produced_by`` is ``model:<name>`` for the events and results of agents."""

    text: str
    model: str
    provider: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: float
    cache_hit: bool = False
    fallback: bool = False
    replayed: bool = False
    tokens_estimated: bool = False
    finish_reason: str | None = None
    structured: Any = None
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def produced_by(self) -> str:
        return f"model:{self.model}"

    def json(self) -> Any:
        """The structured answer, parsed from the text when the provider did not parse it."""
        return self.structured if self.structured is not None else json.loads(self.text)

    def assistant_message(self) -> Message:
        """This answer as the assistant's turn of a conversation (its text and its tool calls)."""
        return Message(Role.ASSISTANT, self.text, tool_calls=self.tool_calls)


@dataclass(frozen=True, slots=True)
class CallContext:
    """Whose call this is. The engine passes it; the gateway records and budgets by it.

    ``budget_usd`` caps the whole run's model spending (None: the configured default, 0 or less: no cap).
    ``replay_of`` names a source run: every answer then comes from that run's record, never a provider.
    """

    run_id: str | None = None
    task_id: int | None = None
    step: str | None = None
    agent: str | None = None
    budget_usd: float | None = None
    replay_of: str | None = None
    complexity: Complexity | None = None

    @classmethod
    def from_task(
        cls,
        task: TaskContext,
        *,
        budget_usd: float | None = None,
        replay_of: str | None = None,
        complexity: Complexity | None = None,
        agent: str | None = None,
    ) -> CallContext:
        """The context of a call made by a running task. The gateway writes the ``model.call`` events
        itself, in the transaction that records the call, so they do not go through ``task.emit``."""
        return cls(
            run_id=task.run_id,
            task_id=task.task_id,
            step=task.task_name,
            agent=agent,
            budget_usd=budget_usd,
            replay_of=replay_of,
            complexity=complexity,
        )

    def for_agent(self, agent: str) -> CallContext:
        from dataclasses import replace

        return replace(self, agent=agent)
