"""A circuit breaker per provider: stop calling a provider that keeps failing, then probe it.

closed ──(failure_threshold consecutive failures)──▶ open
open ──(reset_after seconds)──▶ half_open          (the next caller becomes the trial)
half_open ──(trial succeeds)──▶ closed
half_open ──(trial fails)──▶ open
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from baton.core.errors import IllegalTransitionError
from baton.llm.config import BreakerSettings
from baton.llm.errors import CircuitOpenError


class BreakerState(StrEnum):
    CLOSED = "closed"  # calls go through; consecutive failures are counted
    OPEN = "open"  # calls are refused at once until reset_after has passed
    HALF_OPEN = "half_open"  # a limited number of trial calls decide whether to close again


BREAKER_TRANSITIONS: dict[BreakerState, frozenset[BreakerState]] = {
    BreakerState.CLOSED: frozenset({BreakerState.OPEN}),
    BreakerState.OPEN: frozenset({BreakerState.HALF_OPEN}),
    BreakerState.HALF_OPEN: frozenset({BreakerState.CLOSED, BreakerState.OPEN}),
}


class CircuitBreaker:
    """One provider's breaker. Not shared across processes: each worker protects its own calls."""

    def __init__(
        self,
        provider: str,
        settings: BreakerSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, BreakerState, BreakerState], None] | None = None,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trials = 0

    @property
    def state(self) -> BreakerState:
        """The state now; an open breaker whose wait is over reads as half-open."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.settings.reset_after:
            self._move(BreakerState.HALF_OPEN)
        return self._state

    def acquire(self) -> None:
        """Ask to make a call: returns, or raises :class:`CircuitOpenError` without calling."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.OPEN:
            retry_in = self.settings.reset_after - (self._clock() - self._opened_at)
            raise CircuitOpenError(self.provider, max(retry_in, 0.0))
        if self._trials >= self.settings.half_open_max_calls:
            raise CircuitOpenError(self.provider, 0.0)
        self._trials += 1

    def record_success(self) -> None:
        if self._state is BreakerState.HALF_OPEN:
            self._move(BreakerState.CLOSED)
        self._failures = 0

    def record_failure(self) -> None:
        if self._state is BreakerState.HALF_OPEN:
            self._move(BreakerState.OPEN)
            return
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.settings.failure_threshold:
                self._move(BreakerState.OPEN)

    def release(self) -> None:
        """A call that ended without telling anything about the provider's health (e.g. cancelled)."""
        if self._state is BreakerState.HALF_OPEN and self._trials > 0:
            self._trials -= 1

    def _move(self, target: BreakerState) -> None:
        current = self._state
        if target not in BREAKER_TRANSITIONS[current]:
            raise IllegalTransitionError("circuit breaker", self.provider, current.value, target.value)
        self._state = target
        if target is BreakerState.OPEN:
            self._opened_at = self._clock()
        if target is not BreakerState.CLOSED:
            self._trials = 0
        else:
            self._failures = 0
        if self._on_change is not None:
            self._on_change(self.provider, current, target)
