"""Choosing models: how complex a request is, and which configured models to try, in what order.

A request's complexity is the highest of its declared one (the task's), what its prompt size implies
and what its response schema implies. Every model whose tier reaches that complexity fits; they are
tried local first, then cheapest first (for this request's estimated tokens), with models that keep
failing moved behind healthy ones. A pinned model goes first with its configured fallbacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from baton.llm.config import GatewayConfig, ModelConfig
from baton.llm.errors import NoModelConfiguredError, UnknownModelError
from baton.llm.messages import Complexity, ModelRequest
from baton.llm.prices import PriceBook

_HEALTH_SAMPLES = 4  # calls seen before a model's success rate moves it in the order
_HEALTHY = 0.5


def classify(
    request: ModelRequest, prompt_tokens: int, config: GatewayConfig, declared: Complexity | None = None
) -> Complexity:
    """The complexity this request needs."""
    level = max(declared or Complexity.SIMPLE, request.complexity or Complexity.SIMPLE)
    if prompt_tokens >= config.complex_prompt_tokens:
        level = max(level, Complexity.COMPLEX)
    elif prompt_tokens >= config.moderate_prompt_tokens:
        level = max(level, Complexity.MODERATE)
    if request.response_schema is not None:
        fields, nested = _schema_shape(request.response_schema)
        if fields >= config.moderate_schema_fields or nested:
            level = max(level, Complexity.MODERATE)
    return level


def _schema_shape(schema: Mapping[str, Any]) -> tuple[int, bool]:
    """Number of leaf fields of a JSON schema, and whether it nests objects or arrays of objects."""
    properties = schema.get("properties") or {}
    nested = bool(schema.get("$defs") or schema.get("definitions"))
    count = 0
    for value in properties.values():
        if not isinstance(value, Mapping):
            count += 1
            continue
        if value.get("type") == "object" or "$ref" in value or "properties" in value:
            nested = True
        items = value.get("items")
        if isinstance(items, Mapping) and (items.get("type") == "object" or "$ref" in items):
            nested = True
        count += 1
    return count, nested


@dataclass(slots=True)
class _Health:
    successes: int = 0
    failures: int = 0

    @property
    def healthy(self) -> bool:
        total = self.successes + self.failures
        return total < _HEALTH_SAMPLES or self.successes / total >= _HEALTHY


@dataclass(frozen=True, slots=True)
class Route:
    complexity: Complexity
    chain: tuple[ModelConfig, ...]


class Router:
    def __init__(self, config: GatewayConfig, prices: PriceBook) -> None:
        self._config = config
        self._prices = prices
        self._health: dict[str, _Health] = {m.name: _Health() for m in config.models}

    def route(
        self,
        request: ModelRequest,
        prompt_tokens: int,
        *,
        declared: Complexity | None = None,
        unavailable: Mapping[str, str] | None = None,
    ) -> Route:
        """The complexity of ``request`` and the chain of models to try. ``unavailable`` maps providers
        that cannot be used (no API key, ...) to the reason."""
        complexity = classify(request, prompt_tokens, self._config, declared)
        blocked = unavailable or {}
        if request.model is not None:
            chain = self._pinned(request.model)
        else:
            fitting = [m for m in self._config.models if m.tier >= complexity]
            chain = sorted(fitting, key=lambda m: self._order(m, prompt_tokens, request.max_tokens))
        usable = tuple(m for m in chain if m.provider not in blocked)
        if not usable:
            raise NoModelConfiguredError(self._none_reason(complexity, chain, blocked))
        return Route(complexity, usable)

    def record(self, model: str, *, success: bool) -> None:
        health = self._health.setdefault(model, _Health())
        if success:
            health.successes += 1
        else:
            health.failures += 1
        # A window, not a lifetime: old outcomes fade so that a recovered model comes back.
        if health.successes + health.failures > 50:
            health.successes //= 2
            health.failures //= 2

    def _pinned(self, name: str) -> list[ModelConfig]:
        model = self._config.model(name)
        if model is None:
            raise UnknownModelError(name, (m.name for m in self._config.models))
        chain = [model]
        for fallback in model.fallbacks:
            found = self._config.model(fallback)
            if found is not None and found not in chain:
                chain.append(found)
        return chain

    def _order(self, model: ModelConfig, tokens_in: int, tokens_out: int) -> tuple[bool, bool, float, int]:
        local = self._config.provider_of(model).is_local
        cost = self._prices.rates(model).estimate(tokens_in, tokens_out)
        return (not local, not self._health[model.name].healthy, cost, int(model.tier))

    def _none_reason(
        self, complexity: Complexity, chain: list[ModelConfig], blocked: Mapping[str, str]
    ) -> str:
        if not self._config.models:
            return "no model is configured"
        if not chain:
            tiers = ", ".join(f"{m.name} ({m.tier.label})" for m in self._config.models)
            return f"no configured model serves {complexity.label} requests (configured: {tiers})"
        reasons = "; ".join(f"{p}: {r}" for p, r in sorted(blocked.items()))
        return f"every model that fits this {complexity.label} request is unavailable ({reasons})"
