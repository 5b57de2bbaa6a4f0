"""Per-provider limits: how many calls may be in flight at once and how many may start per minute."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager


class RateLimiter:
    """A token bucket: ``per_minute`` calls a minute, in bursts of at most ``burst``.

    Callers reserve their token at once (the bucket may go below zero) and then wait their turn, so
    waiting callers are served in arrival order without a lock.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = burst if burst is not None else max(1.0, min(per_minute / 6.0, 10.0))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()

    def reserve(self) -> float:
        """Take a token; the seconds to wait before using it."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)


class ProviderLimits:
    """The concurrency cap and the optional rate limit of one provider."""

    def __init__(self, max_concurrency: int, limiter: RateLimiter | None = None) -> None:
        self.max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._limiter = limiter
        self.in_flight = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._semaphore:
            if self._limiter is not None:
                await self._limiter.acquire()
            self.in_flight += 1
            try:
                yield
            finally:
                self.in_flight -= 1
