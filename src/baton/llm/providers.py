"""Providers: one call to one model through its official SDK, with errors mapped to baton's.

The SDKs' own retries are switched off (``max_retries=0``): the gateway retries, so that it can honour
``Retry-After``, count failures in the circuit breaker and fall back to another model.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol

from baton.llm.config import ModelConfig, ProviderConfig, ProviderKind
from baton.llm.errors import (
    GatewayConfigError,
    MalformedResponseError,
    ProviderError,
    ProviderRejectedError,
    ProviderTimeoutError,
    RateLimitedError,
)
from baton.llm.messages import Completion, Message, ModelRequest, Role, ToolCall, ToolChoice, Usage
from baton.llm.tokens import count_message_tokens, count_tokens

if TYPE_CHECKING:
    import openai

# The SDKs are imported when a provider is first built: importing both costs about two seconds, which
# every `baton` command would pay even when no model is configured.

# Sent to endpoints that need no key: the SDKs refuse to start without one.
_NO_KEY = "no-key-needed"


class Provider(Protocol):
    name: str

    async def complete(self, model: ModelConfig, request: ModelRequest) -> Completion:
        """One attempt; raises a :class:`ProviderError` (transient) or :class:`ProviderRejectedError`."""
        ...

    async def close(self) -> None: ...


def create_provider(config: ProviderConfig) -> Provider:
    if config.api_key is None and not config.is_local:
        env = config.api_key_env or {"anthropic": "ANTHROPIC_API_KEY", "azure": "AZURE_OPENAI_API_KEY"}.get(
            config.kind.value, "OPENAI_API_KEY"
        )
        raise GatewayConfigError(
            f"provider {config.name!r} needs an API key and the environment has none",
            hint=f"set {env}, or mark the provider local = true if it needs no key",
        )
    if config.kind is ProviderKind.ANTHROPIC:
        return AnthropicProvider(config)
    return OpenAIProvider(config)


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), if present."""
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def _status_error(provider: str, model: str, status: int, body: object, headers: Any) -> Exception:
    reason = _error_text(body)
    if status == 429:
        return RateLimitedError(
            provider, model, reason, status=status, retry_after=retry_after_seconds(headers)
        )
    if status >= 500 or status in (408, 409):
        return ProviderError(provider, model, reason, status=status, retry_after=retry_after_seconds(headers))
    return ProviderRejectedError(provider, model, reason, status=status)


def _error_text(body: object) -> str:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        return json.dumps(body)[:300]
    return str(body)[:300] if body else "no details"


def _usage(tokens_in: int | None, tokens_out: int | None, request: ModelRequest, text: str) -> Usage:
    if tokens_in is not None and tokens_out is not None:
        return Usage(int(tokens_in), int(tokens_out))
    prompt = count_message_tokens(request.token_texts())
    return Usage(prompt, count_tokens(text), estimated=True)


# -- tools in each protocol ------------------------------------------------------------------------


def _openai_message(message: Message) -> dict[str, Any]:
    if message.role is Role.TOOL:
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ],
        }
    return {"role": message.role.value, "content": message.content}


def _openai_tool_calls(message: Any) -> tuple[ToolCall, ...]:
    calls = []
    for call in getattr(message, "tool_calls", None) or ():
        function = getattr(call, "function", None)
        if function is None:  # a custom (non-function) tool call: baton defines none
            continue
        calls.append(
            ToolCall(id=str(call.id), name=str(function.name), arguments=str(function.arguments or ""))
        )
    return tuple(calls)


def _anthropic_input(call: ToolCall) -> Any:
    # Anthropic's tool_use carries an object. Arguments a model sent that do not parse (only possible
    # through a recorded OpenAI answer replayed elsewhere) go as a string inside an object.
    try:
        value = call.parsed()
    except ValueError:
        return {"_unparsed": call.arguments}
    return value if isinstance(value, dict) else {"_value": value}


def _anthropic_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """The conversation in Anthropic's shape: tool results are user-turn blocks, and consecutive turns of
    one role are merged (the API wants user and assistant to alternate)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.SYSTEM:
            continue
        role = "user" if message.role in (Role.USER, Role.TOOL) else "assistant"
        if message.role is Role.TOOL:
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
            }
            if message.is_error:
                block["is_error"] = True
            blocks = [block]
        else:
            blocks = [{"type": "text", "text": message.content}] if message.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _anthropic_input(c)}
                for c in message.tool_calls
            ]
        if out and out[-1]["role"] == role:
            previous = out[-1]["content"]
            if isinstance(previous, str):
                previous = out[-1]["content"] = [{"type": "text", "text": previous}] if previous else []
            previous.extend(blocks)
        elif not message.tool_calls and message.role is not Role.TOOL:
            out.append({"role": role, "content": message.content})
        else:
            out.append({"role": role, "content": blocks})
    return out


def _schema_instruction(request: ModelRequest) -> str:
    return "Answer with one JSON object only, no prose, that follows this JSON schema:\n" + json.dumps(
        request.response_schema
    )


class OpenAIProvider:
    """Any OpenAI-compatible chat-completions endpoint, or Azure OpenAI."""

    def __init__(self, config: ProviderConfig) -> None:
        import openai

        self.name = config.name
        self.config = config
        key = config.api_key.get_secret_value() if config.api_key else _NO_KEY
        self._client: openai.AsyncOpenAI
        if config.kind is ProviderKind.AZURE:
            self._client = openai.AsyncAzureOpenAI(
                azure_endpoint=config.base_url or "",
                api_version=config.api_version,
                api_key=key,
                max_retries=0,
                timeout=config.timeout,
            )
        else:
            self._client = openai.AsyncOpenAI(
                base_url=config.base_url, api_key=key, max_retries=0, timeout=config.timeout
            )

    async def complete(self, model: ModelConfig, request: ModelRequest) -> Completion:
        import openai

        params = self._params(model, request)
        try:
            response = await self._client.chat.completions.create(**params)
        except openai.APITimeoutError:
            raise ProviderTimeoutError(
                self.name, model.name, f"no answer within {self.config.timeout:g} s"
            ) from None
        except openai.APIStatusError as error:
            raise _status_error(
                self.name, model.name, error.status_code, error.body, error.response.headers
            ) from None
        except openai.APIConnectionError as error:
            raise ProviderError(self.name, model.name, f"cannot connect: {error.message}") from None
        except (openai.APIResponseValidationError, ValueError) as error:
            raise MalformedResponseError(self.name, model.name, f"unreadable answer: {error}") from None
        return self._completion(model, request, response)

    def _params(self, model: ModelConfig, request: ModelRequest) -> dict[str, Any]:
        messages = [_openai_message(m) for m in request.messages]
        params: dict[str, Any] = {
            "model": model.provider_model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            params["stop"] = list(request.stop)
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": dict(t.parameters),
                    },
                }
                for t in request.tools
            ]
            params["tool_choice"] = request.tool_choice.value
        if request.response_schema is not None:
            if model.structured_output:
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": request.schema_name, "schema": dict(request.response_schema)},
                }
            else:
                messages.insert(0, {"role": "system", "content": _schema_instruction(request)})
        return params

    def _completion(self, model: ModelConfig, request: ModelRequest, response: Any) -> Completion:
        choices = getattr(response, "choices", None)
        if not choices or getattr(choices[0], "message", None) is None:
            raise MalformedResponseError(self.name, model.name, "the answer has no choices")
        message = choices[0].message
        text = message.content
        tool_calls = _openai_tool_calls(message) if request.tools else ()
        if text is None and tool_calls:
            text = ""
        if not isinstance(text, str):
            raise MalformedResponseError(self.name, model.name, "the answer has no text content")
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            usage=_usage(
                getattr(usage, "prompt_tokens", None),
                getattr(usage, "completion_tokens", None),
                request,
                text + "".join(c.arguments for c in tool_calls),
            ),
            finish_reason=choices[0].finish_reason,
            tool_calls=tool_calls,
        )

    async def close(self) -> None:
        await self._client.close()


class AnthropicProvider:
    """Anthropic's messages API: structured output natively, or through a forced tool call for models
    configured with ``structured_output = false``."""

    def __init__(self, config: ProviderConfig) -> None:
        import anthropic

        self.name = config.name
        self.config = config
        key = config.api_key.get_secret_value() if config.api_key else _NO_KEY
        self._client = anthropic.AsyncAnthropic(
            api_key=key, base_url=config.base_url, max_retries=0, timeout=config.timeout
        )

    async def complete(self, model: ModelConfig, request: ModelRequest) -> Completion:
        import anthropic

        params = self._params(model, request)
        try:
            response = await self._client.messages.create(**params)
        except anthropic.APITimeoutError:
            raise ProviderTimeoutError(
                self.name, model.name, f"no answer within {self.config.timeout:g} s"
            ) from None
        except anthropic.APIStatusError as error:
            raise _status_error(
                self.name, model.name, error.status_code, error.body, error.response.headers
            ) from None
        except anthropic.APIConnectionError as error:
            raise ProviderError(self.name, model.name, f"cannot connect: {error.message}") from None
        except (anthropic.APIResponseValidationError, ValueError) as error:
            raise MalformedResponseError(self.name, model.name, f"unreadable answer: {error}") from None
        return self._completion(model, request, response)

    def _params(self, model: ModelConfig, request: ModelRequest) -> dict[str, Any]:
        # No temperature: this SDK no longer takes one (the models choose their own sampling).
        system = "\n\n".join(m.content for m in request.messages if m.role is Role.SYSTEM)
        params: dict[str, Any] = {
            "model": model.provider_model,
            "max_tokens": request.max_tokens,
            "messages": _anthropic_messages(request.messages),
        }
        if system:
            params["system"] = system
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in request.tools
            ]
            choice = {ToolChoice.AUTO: "auto", ToolChoice.REQUIRED: "any", ToolChoice.NONE: "none"}
            params["tool_choice"] = {"type": choice[request.tool_choice]}
            if request.response_schema is not None:  # tools and a schema: the schema goes in the prompt
                params["system"] = (system + "\n\n" if system else "") + _schema_instruction(request)
            return params
        if request.response_schema is None:
            return params
        schema = dict(request.response_schema)
        if model.structured_output:
            params["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        else:  # older models: a forced tool call carries the structure
            params["tools"] = [
                {"name": request.schema_name, "description": "Record the answer.", "input_schema": schema}
            ]
            params["tool_choice"] = {"type": "tool", "name": request.schema_name}
        return params

    def _completion(self, model: ModelConfig, request: ModelRequest, response: Any) -> Completion:
        blocks = getattr(response, "content", None)
        if not isinstance(blocks, list):
            raise MalformedResponseError(self.name, model.name, "the answer has no content blocks")
        structured: Any = None
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in blocks:
            kind = getattr(block, "type", None)
            if kind == "tool_use" and request.tools:
                arguments = json.dumps(getattr(block, "input", None), sort_keys=True)
                calls.append(ToolCall(id=str(block.id), name=str(block.name), arguments=arguments))
            elif kind == "tool_use":
                structured = getattr(block, "input", None)
            elif kind == "text":
                texts.append(str(getattr(block, "text", "")))
        if structured is not None:
            text = json.dumps(structured)
        elif texts or calls:
            text = "".join(texts)
        else:
            raise MalformedResponseError(self.name, model.name, "the answer has neither text nor a tool call")
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            usage=_usage(
                getattr(usage, "input_tokens", None),
                getattr(usage, "output_tokens", None),
                request,
                text + "".join(c.arguments for c in calls),
            ),
            finish_reason=getattr(response, "stop_reason", None),
            structured=structured,
            tool_calls=tuple(calls),
        )

    async def close(self) -> None:
        await self._client.close()
