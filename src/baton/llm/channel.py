"""A channel to one provider: its circuit breaker, its limits and its retries around each attempt."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from baton.llm.breaker import BreakerState, CircuitBreaker
from baton.llm.config import ModelConfig, ProviderConfig
from baton.llm.errors import (
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
)
from baton.llm.limits import ProviderLimits, RateLimiter
from baton.llm.messages import Completion, ModelRequest
from baton.llm.providers import Provider

_log = logging.getLogger("baton.llm")


@dataclass(frozen=True, slots=True)
class Delivery:
    completion: Completion
    attempts: int
    latency_ms: float  # of the attempt that answered


class ProviderChannel:
    """Every call to one provider goes through here, whatever the model."""

    def __init__(
        self,
        config: ProviderConfig,
        provider: Provider,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.provider = provider
        self.breaker = CircuitBreaker(config.name, config.breaker, clock=clock, on_change=_log_breaker)
        limiter = (
            RateLimiter(config.requests_per_minute, clock=clock, sleep=sleep)
            if config.requests_per_minute
            else None
        )
        self.limits = ProviderLimits(config.max_concurrency, limiter)
        self._sleep = sleep

    async def deliver(self, model: ModelConfig, request: ModelRequest) -> Delivery:
        """One answer, retrying 429s and 5xx as configured; raises the last error otherwise.

        Raises :class:`CircuitOpenError` at once when the breaker refuses the call.
        """
        attempts = 0
        while True:
            self.breaker.acquire()
            attempts += 1
            started = time.perf_counter()
            try:
                async with self.limits.slot():
                    completion = await self.provider.complete(model, request)
            except ProviderError as error:
                self.breaker.record_failure()
                delay = self._retry_delay(error, attempts)
                if delay is None:
                    raise
                _log.info("retrying %s after %s in %.3f s", self.config.name, error.code, delay)
                await self._sleep(delay)
                continue
            except BaseException:
                # Rejections (4xx) prove the provider is up; cancellations prove nothing.
                self.breaker.release()
                raise
            self.breaker.record_success()
            return Delivery(completion, attempts, (time.perf_counter() - started) * 1000.0)

    def _retry_delay(self, error: ProviderError, attempts: int) -> float | None:
        if attempts > self.config.max_retries or isinstance(error, MalformedResponseError):
            return None
        if isinstance(error, ProviderTimeoutError) and not self.config.retry_on_timeout:
            return None
        if self.breaker.state is BreakerState.OPEN:
            return None
        delay = (
            error.retry_after if error.retry_after is not None else self.config.backoff * 2 ** (attempts - 1)
        )
        # Waiting longer than this is worse than falling back to another model.
        return delay if delay <= self.config.max_retry_after else None

    async def close(self) -> None:
        await self.provider.close()


def _log_breaker(provider: str, before: BreakerState, after: BreakerState) -> None:
    _log.warning("circuit of provider %s: %s -> %s", provider, before.value, after.value)
