"""The persistent response cache (table ``model_cache``): identical requests to the same model get the
stored answer until its TTL runs out.

The key is a SHA-256 over the model's name and the canonical request (messages and every parameter),
so any change of prompt, schema, temperature or limit is a different key.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from baton.store.schema import model_cache


def request_key(canonical_json: str) -> str:
    """The model-independent key of a request: what replay matches on."""
    return hashlib.sha256(canonical_json.encode()).hexdigest()


def cache_key(model: str, canonical_json: str) -> str:
    return hashlib.sha256(f"{model}\n{canonical_json}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    key: str
    model: str
    response: dict[str, Any]


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


def lookup(conn: Connection, keys: Sequence[str], now: float) -> dict[str, CachedAnswer]:
    """The unexpired entries among ``keys``, by key."""
    if not keys:
        return {}
    query = select(model_cache.c.key, model_cache.c.model, model_cache.c.response).where(
        model_cache.c.key.in_(list(keys)),
        or_(model_cache.c.expires_at.is_(None), model_cache.c.expires_at > now),
    )
    return {
        row.key: CachedAnswer(row.key, row.model, json.loads(row.response)) for row in conn.execute(query)
    }


def count_hit_txn(conn: Connection, key: str) -> None:
    conn.execute(update(model_cache).where(model_cache.c.key == key).values(hits=model_cache.c.hits + 1))


def store_txn(
    conn: Connection, key: str, model: str, response: dict[str, Any], now: float, ttl: float
) -> None:
    """Insert or refresh an entry (a refreshed entry keeps its hit count)."""
    values = {
        "key": key,
        "model": model,
        "response": json.dumps(response),
        "created_at": now,
        "expires_at": now + ttl if ttl > 0 else None,
        "hits": 0,
    }
    changed = {"response": values["response"], "created_at": now, "expires_at": values["expires_at"]}
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(model_cache).values(**values)
        conn.execute(pg.on_conflict_do_update(index_elements=["key"], set_=changed))
    else:
        lite = sqlite.insert(model_cache).values(**values)
        conn.execute(lite.on_conflict_do_update(index_elements=["key"], set_=changed))


def purge_expired_txn(conn: Connection, now: float) -> int:
    """Delete expired entries; the number removed."""
    result = conn.execute(
        delete(model_cache).where(model_cache.c.expires_at.is_not(None), model_cache.c.expires_at <= now)
    )
    return result.rowcount or 0
