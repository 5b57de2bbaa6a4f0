"""Encoded responses of the busiest reads, kept until what they were read from changes.

Every change to a run or its tasks appends an event in the same transaction, and event ids follow
commit order on both stores (see :mod:`baton.store.events`). So the last event id of a run is a
version of everything ``GET /runs/{run_id}`` shows (run ids are never reused). Retention deletes runs
with their events without appending any, and SQLite may then hand out the deleted ids again, so a
page of ``GET /runs`` is versioned by the last event id of the store, the number of runs and the
newest run's creation time: a deletion lowers the count, and getting back to it takes new runs.

A request reads the version (one small query), and only on a change the data, in the same read
transaction and after the version, so a cached body is never older than its version. The versions are
read by :func:`baton.store.runs.run_version` and :func:`baton.store.runs.runs_version`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class ResponseCache:
    """A bounded map from a request's key to the body last encoded for it and the version it had."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[Hashable, bytes]] = OrderedDict()
        self._lock = threading.Lock()  # routes run on the loop for SQLite, in the thread pool otherwise

    def get(self, key: Hashable, version: Hashable) -> bytes | None:
        """The body stored for ``key`` if it was read at ``version``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, version: Hashable, body: bytes) -> None:
        with self._lock:
            self._entries[key] = (version, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
