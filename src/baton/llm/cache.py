"""The persistent response cache (table ``model_cache``): identical requests to the same model get the
stored answer until its TTL runs out.

The key is a SHA-256 over the model's name and the canonical request (messages and every parameter),
so any change of prompt, schema, temperature or limit is a different key.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# The statements on the table live in the store; the gateway reaches them through this module.
from baton.store.model_cache import CachedAnswer, count_hit_txn, lookup, purge_expired_txn, store_txn

__all__ = [
    "CacheStats",
    "CachedAnswer",
    "MemoryCache",
    "cache_key",
    "count_hit_txn",
    "lookup",
    "purge_expired_txn",
    "request_key",
    "store_txn",
]


def request_key(canonical_json: str) -> str:
    """The model-independent key of a request: what replay matches on."""
    return hashlib.sha256(canonical_json.encode()).hexdigest()


def cache_key(model: str, canonical_json: str) -> str:
    return hashlib.sha256(f"{model}\n{canonical_json}".encode()).hexdigest()


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class MemoryCache:
    """A bounded in-process copy of recent entries in front of the table, to spare a query per hit.

    Only an accelerator: the table stays the truth (entries are written there first), and a restart
    simply starts with an empty copy.
    """

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[dict[str, Any], float | None]] = OrderedDict()

    def put(self, key: str, response: dict[str, Any], expires_at: float | None) -> None:
        self._entries[key] = (response, expires_at)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def get_many(self, keys: Iterable[str], now: float) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for key in keys:
            entry = self._entries.get(key)
            if entry is None:
                continue
            response, expires_at = entry
            if expires_at is not None and expires_at <= now:
                del self._entries[key]
                continue
            found[key] = response
        return found
