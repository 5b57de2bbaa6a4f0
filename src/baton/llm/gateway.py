"""The model gateway: the one way baton talks to a language model.

    response = await gateway.complete(ModelRequest.of("Summarise: ..."), CallContext(run_id=..., step=...))

For each request: replay (when the run replays another) → route (complexity, chain of models) →
cache (any model of the chain) → budget (refuse what the run cannot afford) → providers along the
chain (breaker, limits, retries) → one transaction that records the call, its event and the cache entry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from baton.core.errors import BatonError
from baton.llm import cache as response_cache
from baton.llm.channel import Delivery, ProviderChannel
from baton.llm.config import GatewayConfig, ModelConfig, load_config
from baton.llm.errors import (
    AllModelsFailedError,
    BudgetExceededError,
    CircuitOpenError,
    GatewayConfigError,
    NoModelConfiguredError,
    ProviderError,
    ProviderRejectedError,
    error_summary,
)
from baton.llm.messages import CallContext, Completion, ModelRequest, ModelResponse, ToolCall
from baton.llm.prices import PriceBook
from baton.llm.providers import Provider, create_provider
from baton.llm.records import CallRecord, CallStatus, asked_a_model, record_calls_txn, spent_usd
from baton.llm.replay import ReplayBook
from baton.llm.router import Route, Router
from baton.llm.tokens import count_message_tokens
from baton.store.store import Store

_log = logging.getLogger("baton.llm")
_CHANNEL_FAILURES = (ProviderError, ProviderRejectedError, CircuitOpenError)


@dataclass(slots=True)
class GatewayStats:
    """Counters since the gateway started (the store has the lasting figures)."""

    calls: int = 0
    provider_calls: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    fallbacks: int = 0
    failures: int = 0
    refused: int = 0
    replayed: int = 0


@dataclass(slots=True)
class _Call:
    """What one request carries through the gateway."""

    request: ModelRequest
    context: CallContext
    canonical: str
    request_key: str
    prompt_tokens: int
    started: float


class Gateway:
    """Routing, fallback, cache, budgets, circuit breakers, records and cost for every model call.

    One per process (it owns the providers' connections, breakers and limits); safe to share between
    the tasks of any number of runs. ``providers`` replaces the SDK-backed ones (tests of the router).
    """

    def __init__(
        self,
        config: GatewayConfig,
        store: Store,
        *,
        providers: Mapping[str, Provider] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.store = store
        self.prices = PriceBook(config)
        self.router = Router(config, self.prices)
        self.stats = GatewayStats()
        self.cache_stats = response_cache.CacheStats()
        self._clock = clock
        self._channels: dict[str, ProviderChannel] = {}
        self._unavailable: dict[str, str] = {}
        self._reserved: dict[str, float] = {}
        self._spent: dict[str, float] = {}
        self._memo = response_cache.MemoryCache()
        self._replays = ReplayBook()
        given = dict(providers or {})
        for name, provider_config in config.providers.items():
            try:
                provider = given.get(name) or create_provider(provider_config)
            except GatewayConfigError as error:
                self._unavailable[name] = error.message
                continue
            self._channels[name] = ProviderChannel(provider_config, provider, clock=monotonic, sleep=sleep)
        top = self.prices.most_expensive()
        self._baseline = top

    @classmethod
    def from_config(cls, store: Store, path: str | Path | None = None) -> Gateway:
        """A gateway configured from ``baton.toml`` and the environment (see :func:`load_config`)."""
        return cls(load_config(path), store)

    @property
    def enabled(self) -> bool:
        """Whether any model is configured; without one, agents use their deterministic skills."""
        return self.config.enabled

    def can_answer(self, context: CallContext) -> bool:
        """Whether a model answers the calls of ``context``: when it replays a run, whether that run asked
        a model anything at the same step (so a step the source did offline is replayed offline, with its
        deterministic skill); otherwise whether a model is configured."""
        if context.replay_of is None:
            return self.enabled
        with self.store.read() as conn:
            return asked_a_model(conn, context.replay_of, context.step)

    def channel(self, provider: str) -> ProviderChannel:
        return self._channels[provider]

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()

    # -- the call --------------------------------------------------------------------------------

    async def complete(self, request: ModelRequest, context: CallContext | None = None) -> ModelResponse:
        """Answer ``request`` for ``context`` (whose run, task, step and agent; its budget; replay).

        Raises :class:`BudgetExceededError`, :class:`ReplayMissingError`, :class:`NoModelConfiguredError`,
        :class:`UnknownModelError` or :class:`AllModelsFailedError` (listing each model's failure).
        """
        context = context or CallContext()
        canonical = json.dumps(request.canonical(), sort_keys=True, separators=(",", ":"))
        call = _Call(
            request=request,
            context=context,
            canonical=canonical,
            request_key=response_cache.request_key(
                canonical
                if not request.tools
                else json.dumps(request.canonical(tool_results=False), sort_keys=True, separators=(",", ":"))
            ),
            prompt_tokens=count_message_tokens(request.token_texts()),
            started=time.perf_counter(),
        )
        self.stats.calls += 1
        if context.replay_of is not None:
            return self._replay(call, context.replay_of)
        if self.config.disabled or not self.config.models:
            raise NoModelConfiguredError(
                "no model is configured" + (" (disabled)" if self.config.disabled else "")
            )
        route = self.router.route(
            request, call.prompt_tokens, declared=context.complexity, unavailable=self._unavailable
        )
        cached = self._from_cache(call, route)
        if cached is not None:
            return cached
        chain = self._affordable(call, route)
        return await self._along_chain(call, route, chain)

    def _from_cache(self, call: _Call, route: Route) -> ModelResponse | None:
        if not (self.config.cache and call.request.cache):
            return None
        keys = {response_cache.cache_key(m.name, call.canonical): m for m in route.chain}
        now = self._clock()
        found = self._memo.get_many(keys, now)
        if not found:
            with self.store.read() as conn:
                found = {k: e.response for k, e in response_cache.lookup(conn, list(keys), now).items()}
        for key, model in keys.items():
            response = found.get(key)
            if response is None:
                continue
            self.cache_stats.hits += 1
            self.stats.cache_hits += 1
            record = self._record(call, model, route, CallStatus.CACHED, response=response, cache_hit=True)
            self._write([record], hit=key)
            return self._response(model, response, record, cache_hit=True)
        self.cache_stats.misses += 1
        self.stats.cache_misses += 1
        return None

    def _affordable(self, call: _Call, route: Route) -> tuple[ModelConfig, ...]:
        budget = call.context.budget_usd if call.context.budget_usd is not None else self.config.budget_usd
        run_id = call.context.run_id
        if budget is None or budget <= 0 or run_id is None:
            return route.chain
        spent = self._spent_by(run_id) + self._reserved.get(run_id, 0.0)
        affordable = tuple(m for m in route.chain if spent + self._estimate(m, call) <= budget)
        if affordable:
            return affordable
        cheapest = min(route.chain, key=lambda m: self._estimate(m, call))
        estimate = self._estimate(cheapest, call)
        error = BudgetExceededError(run_id, budget, spent, estimate, cheapest.name)
        self.stats.refused += 1
        self._write([self._record(call, cheapest, route, CallStatus.REFUSED, error=error)])
        raise error

    def _spent_by(self, run_id: str) -> float:
        # Read from the store once per run, then kept up to date by this gateway's own records.
        # Another process's calls for the same run are seen when this gateway next starts the run.
        spent = self._spent.get(run_id)
        if spent is None:
            with self.store.read() as conn:
                spent = self._spent[run_id] = spent_usd(conn, run_id)
        return spent

    def _write(
        self,
        records: list[CallRecord],
        cache_entry: tuple[str, str, dict[str, Any]] | None = None,
        hit: str | None = None,
    ) -> None:
        """One transaction: the records with their events, the cache entry or hit count."""
        with self.store.begin() as conn:
            record_calls_txn(conn, records)
            if cache_entry is not None:
                key, model, response = cache_entry
                response_cache.store_txn(
                    conn, key, model, response, records[-1].created_at, self.config.cache_ttl
                )
            if hit is not None:
                response_cache.count_hit_txn(conn, hit)
        for record in records:
            if record.run_id is not None and record.cost_usd and record.run_id in self._spent:
                self._spent[record.run_id] += record.cost_usd
        if cache_entry is not None and self.config.cache_ttl >= 0:
            key, model, response = cache_entry
            ttl = self.config.cache_ttl
            self._memo.put(key, response, records[-1].created_at + ttl if ttl > 0 else None)

    def _estimate(self, model: ModelConfig, call: _Call) -> float:
        # The worst case: every token of max_tokens spent. Only then can a budget be a promise.
        return self.prices.rates(model).estimate(call.prompt_tokens, call.request.max_tokens)

    async def _along_chain(self, call: _Call, route: Route, chain: tuple[ModelConfig, ...]) -> ModelResponse:
        failures: list[tuple[str, BatonError]] = []
        failed: list[CallRecord] = []
        run_id = call.context.run_id
        for index, model in enumerate(chain):
            estimate = self._estimate(model, call)
            if run_id is not None:
                self._reserved[run_id] = self._reserved.get(run_id, 0.0) + estimate
            try:
                delivery = await self._channels[model.provider].deliver(model, call.request)
            except _CHANNEL_FAILURES as error:
                self.router.record(model.name, success=False)
                failures.append((model.name, error))
                failed.append(
                    self._record(call, model, route, CallStatus.FAILED, error=error, fallback=index > 0)
                )
                continue
            finally:
                if run_id is not None:
                    self._settle(run_id, estimate)
            self.router.record(model.name, success=True)
            self.stats.provider_calls += 1
            if index > 0:
                self.stats.fallbacks += 1
            return self._store_answer(call, route, model, delivery, failed, fallback=index > 0)
        self.stats.failures += 1
        self._write(failed)
        raise AllModelsFailedError(failures)

    def _settle(self, run_id: str, estimate: float) -> None:
        left = self._reserved.get(run_id, 0.0) - estimate
        if left <= 1e-12:
            self._reserved.pop(run_id, None)
        else:
            self._reserved[run_id] = left

    def _store_answer(
        self,
        call: _Call,
        route: Route,
        model: ModelConfig,
        delivery: Delivery,
        failed: list[CallRecord],
        *,
        fallback: bool,
    ) -> ModelResponse:
        completion = delivery.completion
        response = _response_payload(completion)
        cost = self.prices.cost(model, completion.usage.tokens_in, completion.usage.tokens_out)
        record = self._record(
            call,
            model,
            route,
            CallStatus.OK,
            response=response,
            cost=cost,
            fallback=fallback,
            attempts=delivery.attempts,
        )
        entry = None
        if self.config.cache and call.request.cache:
            entry = (response_cache.cache_key(model.name, call.canonical), model.name, response)
        self._write([*failed, record], cache_entry=entry)
        return self._response(model, response, record, fallback=fallback)

    def _replay(self, call: _Call, source_run: str) -> ModelResponse:
        context = call.context
        with self.store.read() as conn:
            answer = self._replays.answer(
                conn,
                run_id=context.run_id,
                source_run=source_run,
                step=context.step,
                request_key=call.request_key,
            )
        self.stats.replayed += 1
        record = CallRecord(
            provider=answer.provider,
            model=answer.model,
            request_key=call.request_key,
            request=call.canonical,
            status=CallStatus.REPLAYED,
            created_at=self._clock(),
            run_id=context.run_id,
            task_id=context.task_id,
            step=context.step,
            agent=context.agent,
            response=answer.response,
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            latency_ms=(time.perf_counter() - call.started) * 1000.0,
            route={"replay_of": source_run, "source_call": answer.id},
        )
        self._write([record])
        return ModelResponse(
            text=str(answer.response.get("text", "")),
            model=answer.model,
            provider=answer.provider,
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            cost_usd=0.0,
            latency_ms=record.latency_ms,
            replayed=True,
            finish_reason=answer.response.get("finish_reason"),
            structured=answer.response.get("structured"),
            tool_calls=_tool_calls(answer.response),
        )

    # -- bookkeeping -----------------------------------------------------------------------------

    def _record(
        self,
        call: _Call,
        model: ModelConfig,
        route: Route,
        status: CallStatus,
        *,
        response: dict[str, Any] | None = None,
        error: BaseException | None = None,
        cost: float = 0.0,
        cache_hit: bool = False,
        fallback: bool = False,
        attempts: int = 0,
    ) -> CallRecord:
        context = call.context
        tokens_in = int(response["tokens_in"]) if response else 0
        tokens_out = int(response["tokens_out"]) if response else 0
        # What the call would have cost on the model that answered, and on the most expensive one.
        list_cost = self.prices.rates(model).estimate(tokens_in, tokens_out) if cache_hit else cost
        baseline = self._baseline
        baseline_cost = self.prices.rates(baseline).estimate(tokens_in, tokens_out) if baseline else list_cost
        return CallRecord(
            provider=model.provider,
            model=model.name,
            request_key=call.request_key,
            request=call.canonical,
            status=status,
            created_at=self._clock(),
            run_id=context.run_id,
            task_id=context.task_id,
            step=context.step,
            agent=context.agent,
            response=response,
            error=error_summary(error) if error is not None else None,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=cost,
            latency_ms=(time.perf_counter() - call.started) * 1000.0,
            cache_hit=cache_hit,
            fallback=fallback,
            route={
                "complexity": route.complexity.label,
                "chain": [m.name for m in route.chain],
                "local": self.config.provider_of(model).is_local,
                "attempts": attempts,
                "tokens_estimated": bool(response and response.get("tokens_estimated")),
                "list_cost_usd": list_cost,
                "baseline_model": baseline.name if baseline else model.name,
                "baseline_cost_usd": baseline_cost,
            },
        )

    def _response(
        self,
        model: ModelConfig,
        response: dict[str, Any],
        record: CallRecord,
        *,
        cache_hit: bool = False,
        fallback: bool = False,
    ) -> ModelResponse:
        return ModelResponse(
            text=str(response["text"]),
            model=model.name,
            provider=model.provider,
            tokens_in=record.tokens_in,
            tokens_out=record.tokens_out,
            cost_usd=record.cost_usd,
            latency_ms=record.latency_ms,
            cache_hit=cache_hit,
            fallback=fallback,
            tokens_estimated=bool(response.get("tokens_estimated")),
            finish_reason=response.get("finish_reason"),
            structured=response.get("structured"),
            tool_calls=_tool_calls(response),
        )


def _response_payload(completion: Completion) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "text": completion.text,
        "structured": completion.structured,
        "finish_reason": completion.finish_reason,
        "tokens_in": completion.usage.tokens_in,
        "tokens_out": completion.usage.tokens_out,
        "tokens_estimated": completion.usage.estimated,
    }
    if completion.tool_calls:  # absent otherwise: records of plain answers keep their shape
        payload["tool_calls"] = [c.as_dict() for c in completion.tool_calls]
    return payload


def _tool_calls(response: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    """The tool calls of a stored answer (record, cache entry or replayed call)."""
    return tuple(ToolCall.from_dict(c) for c in response.get("tool_calls") or ())
