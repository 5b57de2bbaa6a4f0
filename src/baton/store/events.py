"""The append-only event log: writing, querying and aggregating events."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, delete, func, or_, select, text

from baton.observability.logging import might_hold_secrets, redact_value
from baton.store.bulk import bulk_insert_txn
from baton.store.driver import Query, fetch_txn
from baton.store.schema import events


@dataclass(frozen=True)
class Event:
    id: int
    run_id: str | None
    task_id: int | None
    type: str
    ts: float
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "type": self.type,
            "ts": self.ts,
            "data": self.data,
        }


# One encoder for every event: json.dumps(..., default=str) would build a new one per call. Compact,
# because the text is stored once and streamed to every client as it is.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


def event_row(
    run_id: str | None, task_id: int | None, type_: str, ts: float, data: dict[str, Any]
) -> dict[str, Any]:
    """A row for :func:`append_events_txn`; ``data`` is serialised here, once, with any secret in it
    (by key name or by shape) replaced: what a step reports never puts a key into the event log."""
    encoded = _ENCODER.encode(data)
    if might_hold_secrets(encoded):
        encoded = _ENCODER.encode(redact_value(data))
    # str(): an EventType is stored as its text, whatever a driver does with enums.
    return {"run_id": run_id, "task_id": task_id, "type": str(type_), "ts": ts, "data": encoded}


_BATCH = "baton.event_batch"


def append_events_txn(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append events (rows from :func:`event_row`) inside the caller's transaction.

    Inside :func:`event_batch` they are held and written in one statement when the batch closes,
    still inside the transaction and in the order they were appended.
    """
    if not rows:
        return
    batch = conn.info.get(_BATCH)
    if batch is not None:
        batch.extend(rows)
    else:
        _write(conn, rows)


@contextmanager
def event_batch(conn: Connection) -> Iterator[None]:
    """Write every event appended inside this block with one INSERT at its end (the hot path's group commit)."""
    if conn.info.get(_BATCH) is not None:  # already batching: the outer batch writes them
        yield
        return
    held: list[dict[str, Any]] = []
    conn.info[_BATCH] = held
    try:
        yield
    finally:
        del conn.info[_BATCH]
    if held:
        _write(conn, held)


# Any constant will do: it names the lock that orders event ids on PostgreSQL.
_EVENT_ORDER_LOCK = 0x6261746F6E  # "baton"


def _write(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events so that their ids follow commit order.

    On PostgreSQL ids come from a sequence when the row is inserted, and transactions commit in any
    order: a client reading ``after=<id>`` could pass an id whose neighbour commits later and miss it
    for good. Holding a transaction-level lock from the insert to the commit makes ids and commits go
    in the same order. SQLite has a single writer, so its ids already do.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_ORDER_LOCK})
    bulk_insert_txn(conn, events, rows)


def _to_event(row: Any) -> Event:
    return Event(row.id, row.run_id, row.task_id, row.type, row.ts, json.loads(row.data))


def query_events(
    conn: Connection,
    *,
    run_id: str | None = None,
    task_id: int | None = None,
    types: Iterable[str] = (),
    after: int = 0,
    since: float | None = None,
    until: float | None = None,
    limit: int = 1000,
) -> list[Event]:
    """Events in id order, filtered. ``after`` is an event id: a client that reconnects with the last id
    it saw gets everything it missed, once. A type ending in ``.*`` matches a prefix."""
    query = select(events).where(events.c.id > after).order_by(events.c.id).limit(limit)
    if run_id is not None:
        query = query.where(events.c.run_id == run_id)
    if task_id is not None:
        query = query.where(events.c.task_id == task_id)
    wanted = list(types)
    exact = [t for t in wanted if not t.endswith(".*")]
    prefixes = [t[:-1] for t in wanted if t.endswith(".*")]
    if wanted:
        clauses: list[ColumnElement[bool]] = [events.c.type.in_(exact)] if exact else []
        clauses += [events.c.type.startswith(p) for p in prefixes]
        query = query.where(or_(*clauses))
    if since is not None:
        query = query.where(events.c.ts >= since)
    if until is not None:
        query = query.where(events.c.ts < until)
    return [_to_event(row) for row in conn.execute(query)]


class EventRow(NamedTuple):
    """A stored event as it is in the table: ``data`` is its JSON text."""

    id: int
    run_id: str | None
    task_id: int | None
    type: str
    ts: float
    data: str


def event_rows_after(conn: Connection, after: int, limit: int, run_id: str | None = None) -> list[EventRow]:
    """Events after ``after`` in id order, with ``data`` left as the stored JSON text: for readers that
    pass the text on (the live streams) rather than decode it. Run on the driver (one statement, plain
    tuples): the live streams read every event of every run through here."""
    if run_id is None:
        rows = fetch_txn(conn, _ROWS_AFTER, (after, limit))
    else:
        rows = fetch_txn(conn, _RUN_ROWS_AFTER, (after, run_id, limit))
    return [EventRow._make(row) for row in rows]


_COLUMNS = "SELECT id, run_id, task_id, type, ts, data FROM events"
_ROWS_AFTER = Query("events.after", f"{_COLUMNS} WHERE id > ? ORDER BY id LIMIT ?")
_RUN_ROWS_AFTER = Query("events.after_of_run", f"{_COLUMNS} WHERE id > ? AND run_id = ? ORDER BY id LIMIT ?")


def last_event_id(conn: Connection, run_id: str | None = None) -> int:
    query = select(func.max(events.c.id))
    if run_id is not None:
        query = query.where(events.c.run_id == run_id)
    return int(conn.execute(query).scalar() or 0)


def count_by_type(conn: Connection, run_id: str | None = None) -> dict[str, int]:
    query = select(events.c.type, func.count()).group_by(events.c.type)
    if run_id is not None:
        query = query.where(events.c.run_id == run_id)
    return {row[0]: int(row[1]) for row in conn.execute(query)}


@dataclass(frozen=True)
class DurationStats:
    step: str
    count: int
    min: float
    median: float
    p95: float
    max: float


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile by linear interpolation (values need not be sorted)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize_durations(durations: dict[str, list[float]]) -> list[DurationStats]:
    return [
        DurationStats(
            step=step,
            count=len(values),
            min=min(values),
            median=statistics.median(values),
            p95=percentile(values, 0.95),
            max=max(values),
        )
        for step, values in sorted(durations.items())
        if values
    ]


def delete_events_txn(conn: Connection, *, run_ids: Sequence[str] = (), before: float | None = None) -> int:
    """Delete the events of these runs, and run-less events (worker heartbeats) older than ``before``."""
    removed = 0
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        removed += conn.execute(delete(events).where(events.c.run_id.in_(chunk))).rowcount or 0
    if before is not None:
        result = conn.execute(delete(events).where(events.c.run_id.is_(None), events.c.ts < before))
        removed += result.rowcount or 0
    return removed
