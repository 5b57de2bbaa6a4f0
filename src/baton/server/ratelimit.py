"""Rate limits per API key and route, and of failed authentications per client address: a token bucket
each, in memory (one server process's view)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``burst`` requests at once, refilled at ``per_minute``. ``per_minute == 0`` turns limiting off.

    :meth:`take` returns 0 when the request may pass, else the seconds until it would.
    """

    def __init__(self, *, per_minute: int, burst: int, max_buckets: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self.max_buckets = max_buckets
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        """The bucket's tokens at ``now``: what it held, plus what ``rate`` added since, up to ``burst``."""
        return min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)

    def waiting(self, key: str, route: str, *, now: float | None = None) -> float:
        """The seconds until :meth:`take` would pass, without taking anything (0: it would pass now)."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get((key, route))
            if bucket is None:
                return 0.0
            tokens = self._refilled(bucket, now)
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def take(self, key: str, route: str, *, now: float | None = None) -> float:
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get((key, route))
            if bucket is None:
                if len(self._buckets) >= self.max_buckets:
                    self._buckets.clear()  # a bound on memory; forgetting buckets only forgives
                bucket = self._buckets[(key, route)] = _Bucket(self.burst, now)
            bucket.tokens = self._refilled(bucket, now)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate
