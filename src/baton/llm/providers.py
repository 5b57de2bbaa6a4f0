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
from baton.llm.messages import Completion, ModelRequest, Role, Usage
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
    prompt = count_message_tokens([m.content for m in request.messages])
    return Usage(prompt, count_tokens(text), estimated=True)


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
        messages = [m.as_dict() for m in request.messages]
        params: dict[str, Any] = {
            "model": model.provider_model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            params["stop"] = list(request.stop)
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
        text = choices[0].message.content
        if not isinstance(text, str):
            raise MalformedResponseError(self.name, model.name, "the answer has no text content")
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            usage=_usage(
                getattr(usage, "prompt_tokens", None),
                getattr(usage, "completion_tokens", None),
                request,
                text,
            ),
            finish_reason=choices[0].finish_reason,
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
            "messages": [m.as_dict() for m in request.messages if m.role is not Role.SYSTEM],
        }
        if system:
            params["system"] = system
        if request.stop:
            params["stop_sequences"] = list(request.stop)
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
        for block in blocks:
            kind = getattr(block, "type", None)
            if kind == "tool_use":
                structured = getattr(block, "input", None)
            elif kind == "text":
                texts.append(str(getattr(block, "text", "")))
        if structured is not None:
            text = json.dumps(structured)
        elif texts:
            text = "".join(texts)
        else:
            raise MalformedResponseError(self.name, model.name, "the answer has neither text nor a tool call")
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            usage=_usage(
                getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None), request, text
            ),
            finish_reason=getattr(response, "stop_reason", None),
            structured=structured,
        )

    async def close(self) -> None:
        await self._client.close()
