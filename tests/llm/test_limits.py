from __future__ import annotations

import asyncio

from baton.llm.limits import ProviderLimits, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_rate_limiter_spaces_calls_past_the_burst() -> None:
    clock = Clock()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    limiter = RateLimiter(60, burst=2, clock=clock, sleep=sleep)  # one a second
    for _ in range(4):
        await limiter.acquire()
    assert waits == [1.0, 2.0]  # reserved in arrival order
    clock.now = 10.0
    await limiter.acquire()
    assert waits == [1.0, 2.0]  # refilled meanwhile


async def test_no_more_calls_than_the_concurrency_cap_are_in_flight() -> None:
    limits = ProviderLimits(2)
    release = asyncio.Event()
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with limits.slot():
            peak = max(peak, limits.in_flight)
            await release.wait()

    tasks = [asyncio.create_task(call()) for _ in range(5)]
    while limits.in_flight < 2:
        await asyncio.sleep(0)
    for _ in range(10):
        await asyncio.sleep(0)
    assert limits.in_flight == 2
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 2 and limits.in_flight == 0
