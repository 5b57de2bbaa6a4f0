"""The statements on ``model_cache``, the persistent response cache: look entries up, count a hit,
insert or refresh an entry, purge the expired. How keys are made stays in :mod:`baton.llm.cache`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from baton.store.schema import model_cache


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    key: str
    model: str
    response: dict[str, Any]


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
