"""Pruning removes what has expired: old finished runs, and model answers cached past their TTL."""

from __future__ import annotations

import time

from sqlalchemy import select

from baton.engine.runs import prune
from baton.store.model_cache import store_txn
from baton.store.schema import model_cache
from baton.store.store import Store


def _keys(store: Store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(model_cache.c.key)).scalars())


def test_prune_removes_expired_cached_answers_and_keeps_the_others(store: Store) -> None:
    now = time.time()
    with store.begin() as conn:
        store_txn(conn, "expired", "m", {"text": "old"}, now=now - 120, ttl=60)
        store_txn(conn, "fresh", "m", {"text": "new"}, now=now, ttl=3600)
        store_txn(conn, "forever", "m", {"text": "kept"}, now=now - 10**6, ttl=0)  # no TTL: never expires
    counts = prune(store, older_than_seconds=30 * 86400, dry_run=True)
    assert _keys(store) == {"expired", "fresh", "forever"}  # a dry run removes nothing
    counts = prune(store, older_than_seconds=30 * 86400)
    assert counts["expired cached answers"] == 1
    assert _keys(store) == {"fresh", "forever"}
