"""The gateway's configuration: providers and models from ``baton.toml`` (``[llm]``) and the environment.

    [llm]
    budget_usd = 2.0                 # default per-run budget in dollars (none: no cap)
    cache_ttl = 604800               # seconds a cached response stays valid (0: forever)

    [llm.providers.local]
    kind = "openai"                  # openai (any compatible endpoint) | azure | anthropic
    base_url = "http://127.0.0.1:11434/v1"
    max_concurrency = 4

    [llm.providers.anthropic]
    kind = "anthropic"
    api_key_env = "ANTHROPIC_API_KEY"  # the key itself never goes in the file

    [[llm.models]]
    name = "llama3.1:8b"
    provider = "local"
    tier = "simple"                  # the most complex requests it serves

API keys are read only from environment variables, kept as ``SecretStr`` and registered for redaction.
Environment overrides: ``BATON_CONFIG`` (the file), ``BATON_LLM_BUDGET_USD``, ``BATON_LLM_CACHE_TTL``,
``BATON_LLM_DISABLED=1`` (no model at all: agents use their deterministic skills).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from baton.llm.errors import GatewayConfigError, register_secret
from baton.llm.messages import Complexity

DEFAULT_CONFIG_FILE = "baton.toml"


class ProviderKind(StrEnum):
    OPENAI = "openai"  # the OpenAI API or any compatible endpoint (vLLM, Ollama, llama.cpp, LM Studio)
    AZURE = "azure"  # Azure OpenAI: deployments behind an azure_endpoint and api_version
    ANTHROPIC = "anthropic"  # Anthropic's messages API


_DEFAULT_KEY_ENV = {
    ProviderKind.OPENAI: "OPENAI_API_KEY",
    ProviderKind.AZURE: "AZURE_OPENAI_API_KEY",
    ProviderKind.ANTHROPIC: "ANTHROPIC_API_KEY",
}
# genai-prices' provider ids for the price lookups of cloud models.
_PRICE_PROVIDER = {
    ProviderKind.OPENAI: "openai",
    ProviderKind.AZURE: "azure",
    ProviderKind.ANTHROPIC: "anthropic",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BreakerSettings(_Strict):
    failure_threshold: int = Field(5, ge=1)  # consecutive failures that open the circuit
    reset_after: float = Field(30.0, gt=0)  # seconds open before one trial call is let through
    half_open_max_calls: int = Field(1, ge=1)  # trial calls allowed at once while half-open


class ProviderConfig(_Strict):
    name: str
    kind: ProviderKind = ProviderKind.OPENAI
    base_url: str | None = None
    api_key_env: str | None = None
    api_key: SecretStr | None = Field(None, exclude=True)
    api_version: str | None = None  # Azure only
    local: bool | None = None  # None: decided from base_url (loopback or private host)
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)  # retries of a 429/5xx on this provider before falling back
    retry_on_timeout: bool = False
    max_retry_after: float = Field(30.0, ge=0)  # a longer Retry-After falls back instead of waiting
    backoff: float = Field(0.5, ge=0)  # first delay when no Retry-After is given; doubles each retry
    max_concurrency: int = Field(16, ge=1)
    requests_per_minute: float | None = Field(None, gt=0)
    breaker: BreakerSettings = BreakerSettings()
    price_provider: str | None = None  # genai-prices provider id (default from kind)

    @property
    def is_local(self) -> bool:
        if self.local is not None:
            return self.local
        return _is_local_url(self.base_url)

    @property
    def price_provider_id(self) -> str:
        return self.price_provider or _PRICE_PROVIDER[self.kind]


class ModelConfig(_Strict):
    name: str  # baton's name for it: what requests pin and reports show
    provider: str
    id: str | None = None  # the provider's model id (an Azure deployment); default: name
    tier: Complexity = Complexity.MODERATE
    price_ref: str | None = None  # model name for genai-prices (default: id)
    input_price_per_mtok: float | None = Field(None, ge=0)  # overrides the price library, e.g. fine-tunes
    output_price_per_mtok: float | None = Field(None, ge=0)
    structured_output: bool = True  # supports a JSON-schema response format
    fallbacks: tuple[str, ...] = ()  # tried, in order, before the router's own chain

    @field_validator("tier", mode="before")
    @classmethod
    def _tier(cls, value: Any) -> Complexity:
        try:
            return Complexity.parse(value)
        except ValueError as error:
            raise ValueError(str(error)) from None

    @property
    def provider_model(self) -> str:
        return self.id or self.name


class GatewayConfig(_Strict):
    providers: dict[str, ProviderConfig] = {}
    models: tuple[ModelConfig, ...] = ()
    budget_usd: float | None = Field(None, ge=0)
    cache: bool = True
    cache_ttl: float = Field(7 * 24 * 3600.0, ge=0)  # 0: never expires
    moderate_prompt_tokens: int = Field(1500, ge=1)  # a prompt this long is at least moderate
    complex_prompt_tokens: int = Field(6000, ge=1)  # ... and this long, complex
    moderate_schema_fields: int = Field(8, ge=1)  # a response schema with this many fields is moderate
    disabled: bool = False

    @model_validator(mode="after")
    def _references(self) -> GatewayConfig:
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"models declared twice: {', '.join(duplicates)}")
        for model in self.models:
            if model.provider not in self.providers:
                raise ValueError(
                    f"model {model.name!r} names provider {model.provider!r}, "
                    "which is not under [llm.providers]"
                )
            for fallback in model.fallbacks:
                if fallback not in names:
                    raise ValueError(f"model {model.name!r} falls back to {fallback!r}, which is not a model")
        return self

    @property
    def enabled(self) -> bool:
        return not self.disabled and bool(self.models)

    def model(self, name: str) -> ModelConfig | None:
        return next((m for m in self.models if m.name == name), None)

    def provider_of(self, model: ModelConfig) -> ProviderConfig:
        return self.providers[model.provider]


def _is_local_url(url: str | None) -> bool:
    if not url:
        return False
    host = urlparse(url).hostname or ""
    if host in {"localhost", "host.docker.internal"} or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
) -> GatewayConfig:
    """The gateway configuration from ``data`` (an ``[llm]`` table), else the file at ``path``,
    ``BATON_CONFIG`` or ``./baton.toml`` (absent: no models), then the environment's overrides."""
    environ = os.environ if env is None else env
    table = dict(data) if data is not None else _read_table(path, environ)
    table = _apply_env(table, environ)
    providers = {}
    for name, raw in (table.pop("providers", None) or {}).items():
        providers[name] = _provider(name, raw, environ)
    table["providers"] = providers
    try:
        return GatewayConfig.model_validate(table)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise GatewayConfigError(
            f"invalid [llm] configuration: {problems}", hint="fix baton.toml's [llm] table"
        ) from None


def _read_table(path: str | Path | None, environ: Mapping[str, str]) -> dict[str, Any]:
    explicit = path or environ.get("BATON_CONFIG")
    file = Path(explicit or DEFAULT_CONFIG_FILE)
    if not file.exists():
        if explicit:
            raise GatewayConfigError(f"configuration file {file} does not exist", hint="check BATON_CONFIG")
        return {}
    hint = "check BATON_CONFIG" if explicit else f"fix or remove ./{DEFAULT_CONFIG_FILE}"
    if file.is_dir():
        raise GatewayConfigError(f"configuration file {file} is a directory, not a TOML file", hint=hint)
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise GatewayConfigError(f"{file} is not valid TOML: {error}", hint="fix its syntax") from None
    except UnicodeDecodeError:
        raise GatewayConfigError(f"{file} is not a UTF-8 text file (TOML is UTF-8)", hint=hint) from None
    except OSError as error:
        raise GatewayConfigError(
            f"cannot read configuration file {file}: {error.strerror or error}", hint=hint
        ) from None
    llm = document.get("llm", {})
    if not isinstance(llm, dict):
        raise GatewayConfigError(f"{file}: [llm] must be a table")
    # The gateway reads only [llm]: settings written at the top level would be ignored without a word.
    stray = sorted(set(document) & (set(GatewayConfig.model_fields) | {"provider"}))
    if stray:
        raise GatewayConfigError(
            f"{file}: {', '.join(stray)} must be inside the [llm] table; at the top level it is ignored",
            hint="write [llm.providers.NAME] and [[llm.models]] (see README's Configuration)",
        )
    return dict(llm)


def _apply_env(table: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    overrides = {"BATON_LLM_BUDGET_USD": "budget_usd", "BATON_LLM_CACHE_TTL": "cache_ttl"}
    for variable, key in overrides.items():
        if environ.get(variable):
            try:
                table[key] = float(environ[variable])
            except ValueError:
                raise GatewayConfigError(f"{variable} must be a number, not {environ[variable]!r}") from None
    if environ.get("BATON_LLM_DISABLED", "").lower() in {"1", "true", "yes"}:
        table["disabled"] = True
    return table


def _provider(name: str, raw: Any, environ: Mapping[str, str]) -> ProviderConfig:
    if not isinstance(raw, dict):
        raise GatewayConfigError(f"[llm.providers.{name}] must be a table")
    if "api_key" in raw:
        raise GatewayConfigError(
            f"[llm.providers.{name}] holds an api_key: keys do not belong in files",
            hint="put the key in an environment variable and name it with api_key_env",
        )
    fields = dict(raw, name=name)
    try:
        kind = ProviderKind(fields.get("kind", "openai"))
    except ValueError:
        raise GatewayConfigError(
            f"[llm.providers.{name}] kind must be openai, azure or anthropic, not {fields.get('kind')!r}"
        ) from None
    variable = fields.get("api_key_env") or _DEFAULT_KEY_ENV[kind]
    key = environ.get(variable)
    if key:
        register_secret(key)
        fields["api_key"] = SecretStr(key)
    try:
        return ProviderConfig.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise GatewayConfigError(f"invalid [llm.providers.{name}]: {problems}") from None
