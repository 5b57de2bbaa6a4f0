"""Transactions that survive the normal weather of a shared database: conflicts and outages.

Many workers on one PostgreSQL meet each other. A transaction that loses a race is told so by the
database — a deadlock (40P01), a serialization failure (40001), a lock it waited for longer than
``lock_timeout`` (55P03), a statement cut off by ``statement_timeout`` (57014) — or, on SQLite, "database
is locked". None of these is an error of the work: the transaction rolled back, and doing it again is
the right answer. A database that restarts or a connection that drops (57P01-57P03, class 08, a socket
closed under the driver) is the same, only longer: retry, with backoff, until it answers again.

:func:`call_with_retry` runs a function that opens its own transaction(s), again and again on such
errors (the function must be safe to call again: every write it makes is in a transaction that rolled
back). Conflicts are retried for as long as the caller allows; an outage for ``outage`` seconds, after which
:class:`~baton.core.errors.StoreUnavailableError` says what happened, for a supervisor to restart the
process.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from baton.core.errors import DatabaseLockedError, StoreError, StoreUnavailableError

T = TypeVar("T")
log = logging.getLogger("baton.store")

_CONFLICT_STATES = frozenset({"40001", "40P01", "55P03", "57014"})
# Shut down, crashed, starting up; too many connections; our own session killed for idling in a transaction
# (this process was frozen); a read-only standby after a failover.
_OUTAGE_STATES = frozenset({"57P01", "57P02", "57P03", "53300", "25P03", "25006"})


class Trouble(Enum):
    CONFLICT = "conflict"  # another transaction won: do it again
    OUTAGE = "outage"  # the database is not reachable: wait for it


def classify(error: BaseException) -> Trouble | None:
    """Whether ``error`` (raised by a store call, translated or not) is worth doing again, and why."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseLockedError):
            return Trouble.CONFLICT
        if isinstance(current, DBAPIError):
            return _classify_driver_error(current)
        if isinstance(current, StoreError) and "cannot connect" in current.message:
            return Trouble.OUTAGE
        current = current.__cause__ or current.__context__
    return None


def _classify_driver_error(error: DBAPIError) -> Trouble | None:
    state = getattr(error.orig, "sqlstate", None)
    if state in _CONFLICT_STATES:
        return Trouble.CONFLICT
    if state in _OUTAGE_STATES or (state or "").startswith("08") or error.connection_invalidated:
        return Trouble.OUTAGE
    text = str(error.orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return Trouble.CONFLICT
    if state is None and error.orig is not None and type(error.orig).__name__ in ("OperationalError",):
        # psycopg raises OperationalError without a state for a refused or closed socket.
        return Trouble.OUTAGE if "sqlite" not in type(error.orig).__module__ else None
    return None


@dataclass(frozen=True)
class Patience:
    """How long to keep trying: ``outage`` seconds of unreachable database; ``conflicts`` seconds of lost
    races (None: for ever — a worker's loop, where giving up would only stop the work)."""

    outage: float = 60.0
    conflicts: float | None = 30.0
    first_delay: float = 0.05
    max_delay: float = 2.0


def call_with_retry(
    fn: Callable[..., T], *args: Any, patience: Patience = Patience(), where: str = "the database"
) -> T:
    """``fn(*args)``, called again with jittered exponential backoff while it fails with a conflict or an
    outage, within ``patience``."""
    tries = 0
    outage_since: float | None = None
    conflicts_since: float | None = None
    while True:
        try:
            return fn(*args)
        except Exception as error:
            trouble = classify(error)
            if trouble is None:
                raise
            now = time.monotonic()
            if trouble is Trouble.OUTAGE:
                outage_since = outage_since if outage_since is not None else now
                conflicts_since = None
                if now - outage_since >= patience.outage:
                    raise StoreUnavailableError(
                        f"cannot reach {where} for {now - outage_since:.0f} s ({_first_line(error)})",
                        hint="check that the database is up and reachable; this process stops so that its "
                        "supervisor (systemd, Kubernetes) restarts it — wait longer with --max-outage",
                    ) from error
            else:
                conflicts_since = conflicts_since if conflicts_since is not None else now
                outage_since = None
                if patience.conflicts is not None and now - conflicts_since >= patience.conflicts:
                    raise
            tries += 1
            delay = min(patience.first_delay * 2 ** min(tries - 1, 10), patience.max_delay)
            delay *= random.uniform(0.5, 1.0)
            log.warning("store %s (%s); trying again in %.2f s", trouble.value, _first_line(error), delay)
            time.sleep(delay)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__
