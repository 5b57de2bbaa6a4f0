"""What checking a cached API key costs per request, with and without the revocation read.

    .venv/bin/python benchmarks/auth_check.py [--calls 20000] [--repeat 5]

A server trusts a verified key from its cache; since revocations must take effect at once on every
server sharing the store, each cache hit also reads the key's ``revoked_at`` by primary key. This times
``Authenticator.authenticate`` on a cache hit over a real SQLite file (in process, no HTTP), with that
read and with it skipped (the behaviour before), and a cache miss (hash and touch) for scale. The best
of ``--repeat`` rounds is shown; the machine is shared, so single rounds are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from baton.server.auth import Authenticator
from baton.server.settings import ServerSettings
from baton.store.keys import Role, create_key_txn
from baton.store.store import Store


class _Unchecked(Authenticator):
    async def _not_revoked(self, key_id: str) -> bool:  # the cache as it was: trusted for 5 s
        return True


async def _per_call(auth: Authenticator, key: str, calls: int) -> float:
    await auth.authenticate(key)  # fill the cache
    started = time.perf_counter()
    for _ in range(calls):
        await auth.authenticate(key)
    return (time.perf_counter() - started) / calls * 1e6


async def _miss(auth: Authenticator, key: str, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        auth._by_secret.clear()
        await auth.authenticate(key)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'auth.db'}")
        with store.begin() as conn:
            key = create_key_txn(conn, name="bench", role=Role.VIEWER, now=time.time()).secret
        settings = ServerSettings(key_cache_seconds=3600)
        checked, unchecked = Authenticator(store, settings), _Unchecked(store, settings)
        rounds = range(args.repeat)
        with_read = min(asyncio.run(_per_call(checked, key, args.calls)) for _ in rounds)
        without = min(asyncio.run(_per_call(unchecked, key, args.calls)) for _ in rounds)
        miss = min(asyncio.run(_miss(checked, key, args.calls // 10)) for _ in rounds)
        store.close()
    print(f"cache hit, revocation read:   {with_read:8.1f} µs per request")
    print(f"cache hit, no read (before):  {without:8.1f} µs per request  ({with_read / without:.1f}x less)")
    print(f"cache miss (hash and touch):  {miss:8.1f} µs per request")


if __name__ == "__main__":
    main()
