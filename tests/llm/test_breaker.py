from __future__ import annotations

import pytest

from baton.core.errors import IllegalTransitionError
from baton.llm import BreakerSettings, BreakerState, CircuitBreaker, CircuitOpenError
from baton.llm.breaker import BREAKER_TRANSITIONS


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, threshold: int = 2) -> CircuitBreaker:
    return CircuitBreaker("p", BreakerSettings(failure_threshold=threshold, reset_after=10.0), clock=clock)


def test_consecutive_failures_open_the_circuit_and_a_success_resets_the_count() -> None:
    clock = Clock()
    b = breaker(clock, threshold=3)
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.record_failure()
    assert b.state is BreakerState.OPEN
    with pytest.raises(CircuitOpenError, match=r"open for another 10\.0 s"):
        b.acquire()


def test_after_reset_after_one_trial_call_decides() -> None:
    clock = Clock()
    b = breaker(clock)
    b.record_failure()
    b.record_failure()
    clock.now = 9.9
    assert b.state is BreakerState.OPEN
    clock.now = 10.0
    assert b.state is BreakerState.HALF_OPEN
    b.acquire()  # the trial
    with pytest.raises(CircuitOpenError):
        b.acquire()  # a second caller while the trial runs
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.now = 20.0
    b.acquire()
    b.record_success()
    assert b.state is BreakerState.CLOSED
    b.acquire()


def test_a_released_trial_lets_another_caller_try() -> None:
    clock = Clock()
    b = breaker(clock)
    b.record_failure()
    b.record_failure()
    clock.now = 11
    b.acquire()
    b.release()
    b.acquire()


def test_every_transition_follows_the_table() -> None:
    changes: list[tuple[BreakerState, BreakerState]] = []
    clock = Clock()
    b = CircuitBreaker(
        "p",
        BreakerSettings(failure_threshold=1, reset_after=1),
        clock=clock,
        on_change=lambda _, a, z: changes.append((a, z)),
    )
    b.record_failure()
    clock.now = 1
    b.acquire()
    b.record_success()
    assert changes == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]
    assert all(z in BREAKER_TRANSITIONS[a] for a, z in changes)
    with pytest.raises(IllegalTransitionError):
        b._move(BreakerState.HALF_OPEN)
