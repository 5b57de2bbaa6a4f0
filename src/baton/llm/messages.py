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


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role.value, "content": self.content}


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

    def canonical(self) -> dict[str, Any]:
        """Everything that determines the answer except the model: the basis of request keys and records."""
        return {
            "messages": [m.as_dict() for m in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "response_schema": dict(self.response_schema) if self.response_schema is not None else None,
            "schema_name": self.schema_name,
            "stop": list(self.stop),
        }

    def prompt_text(self) -> str:
        return "\n".join(m.content for m in self.messages)


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

    @property
    def produced_by(self) -> str:
        return f"model:{self.model}"

    def json(self) -> Any:
        """The structured answer, parsed from the text when the provider did not parse it."""
        return self.structured if self.structured is not None else json.loads(self.text)


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
