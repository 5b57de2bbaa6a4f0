"""Live streams: one hub reads the event log and fans events out to every WebSocket and SSE client.

The hub polls the store for events after the last id it handed out (one query for all runs, however
many clients), encodes each event once, and appends it to the bounded buffer of every client that
watches its run. A client that falls more than ``client_queue_size`` messages behind stops receiving,
is sent an ``error`` message with ``code: client_lagging`` and the id to resume after, and is closed:
a slow client never slows the run or the other clients.

A client that connects with ``after=<id>`` first receives the stored events after that id (read from
the store, page by page) up to where the hub stood when it subscribed, then the live ones, skipping any
it has already had: everything it missed, in order, once.

On PostgreSQL, ids are handed out when rows are inserted but become visible when their transaction
commits, so a lower id can appear after a higher one. The hub stops at a hole in the ids and waits up
to ``gap_seconds`` for it to fill before giving up on it (a rolled-back transaction leaves a hole for
good). SQLite has a single writer, so its ids become visible in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from baton.core.errors import RunNotFoundError
from baton.observability import Metrics, get_logger, redact_value
from baton.store.events import Event, last_event_id, query_events
from baton.store.runs import get_run
from baton.store.store import Store

_log = get_logger("baton.server.streams")

# The stream's message types (the `type` of every message) and the event types behind them.
AGENT_STATUS = "agent_status"  # a run or task changed state, an agent or model was called, a map expanded
PROGRESS = "progress"  # a task reported progress or wrote a log line
COMPLETE = "complete"  # a run ended: succeeded, failed or cancelled
ERROR = "error"  # a task raised an error; or the stream itself failed (client_lagging)
HEARTBEAT = "heartbeat"  # the connection is alive (sent every heartbeat_seconds), or a worker is
MESSAGE_TYPES = (AGENT_STATUS, PROGRESS, COMPLETE, ERROR, HEARTBEAT)

_FINISHED = frozenset({"succeeded", "failed", "cancelled"})
_PAGE = 2000
_MAX_BATCH = 500


def message_type(event_type: str, data: dict[str, Any]) -> str:
    """The stream message type of a stored event."""
    if event_type == "run.state" and data.get("to") in _FINISHED:
        return COMPLETE
    if event_type in ("task.progress", "task.log"):
        return PROGRESS
    if event_type == "task.error":
        return ERROR
    if event_type == "worker.heartbeat":
        return HEARTBEAT
    return AGENT_STATUS


def encode_event(event: Event) -> str:
    return json.dumps(
        {
            "type": message_type(event.type, event.data),
            "event_id": event.id,
            "event": event.type,
            "run_id": event.run_id,
            "task_id": event.task_id,
            "ts": event.ts,
            "data": redact_value(event.data),
        },
        default=str,
    )


@dataclass(frozen=True)
class StreamItem:
    event_id: int
    type: str
    text: str  # the message, encoded as JSON


def heartbeat_item(last_id: int) -> StreamItem:
    text = json.dumps({"type": HEARTBEAT, "event_id": last_id, "ts": time.time()})
    return StreamItem(last_id, HEARTBEAT, text)


def lagging_item(last_id: int, limit: int) -> StreamItem:
    text = json.dumps(
        {
            "type": ERROR,
            "event_id": last_id,
            "error": {
                "code": "client_lagging",
                "message": f"this client fell more than {limit} messages behind and is disconnected",
                "resume_after": last_id,
            },
        }
    )
    return StreamItem(last_id, ERROR, text)


class Subscription:
    """One client's bounded buffer of live messages."""

    def __init__(self, run_id: str | None, limit: int, start: int) -> None:
        self.run_id = run_id
        self.limit = limit
        self.start = start  # the hub's position when this client subscribed
        self.buffer: deque[StreamItem] = deque()
        self.lagging = False
        self.wake = asyncio.Event()

    def offer(self, item: StreamItem) -> None:
        if self.lagging:
            return
        if len(self.buffer) >= self.limit:
            self.lagging = True
        else:
            self.buffer.append(item)
        self.wake.set()


class EventHub:
    """Polls the event log and fans it out. Start it with :meth:`run` as a task of the server's loop."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        *,
        poll_seconds: float,
        gap_seconds: float,
        client_queue_size: int,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.gap_seconds = gap_seconds if store.dialect != "sqlite" else 0.0
        self.client_queue_size = client_queue_size
        self.position = 0
        self._subscribers: dict[str | None, set[Subscription]] = {}
        self._gap_since: float | None = None
        self._workflows: dict[str, str] = {}
        self._running_since: dict[int, float] = {}
        self._started = asyncio.Event()

    # -- clients ---------------------------------------------------------------------------------

    def subscribe(self, run_id: str | None) -> Subscription:
        subscription = Subscription(run_id, self.client_queue_size, self.position)
        self._subscribers.setdefault(run_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        group = self._subscribers.get(subscription.run_id)
        if group is not None:
            group.discard(subscription)
            if not group:
                del self._subscribers[subscription.run_id]

    @property
    def clients(self) -> int:
        return sum(len(group) for group in self._subscribers.values())

    async def follow(
        self, run_id: str | None, *, after: int | None, heartbeat_seconds: float
    ) -> AsyncIterator[list[StreamItem]]:
        """Batches of messages for one client: the backlog after ``after``, then live events, heartbeats
        when idle, and a final ``client_lagging`` error if it fell too far behind."""
        await self._started.wait()
        subscription = self.subscribe(run_id)
        try:
            last = subscription.start if after is None else after
            while after is not None and last < subscription.start:
                page = await asyncio.to_thread(self._backlog, run_id, last, subscription.start)
                if not page:
                    break
                last = page[-1].event_id
                yield page
            while True:
                if not subscription.buffer:
                    if subscription.lagging:
                        self.metrics.stream_dropped.inc()
                        yield [lagging_item(last, subscription.limit)]
                        return
                    subscription.wake.clear()
                    try:
                        await asyncio.wait_for(subscription.wake.wait(), heartbeat_seconds)
                    except TimeoutError:
                        yield [heartbeat_item(last)]
                    continue
                batch: list[StreamItem] = []
                while subscription.buffer and len(batch) < _MAX_BATCH:
                    item = subscription.buffer.popleft()
                    if item.event_id > last:
                        batch.append(item)
                        last = item.event_id
                if batch:
                    yield batch
        finally:
            self.unsubscribe(subscription)

    def _backlog(self, run_id: str | None, after: int, upto: int) -> list[StreamItem]:
        with self.store.read() as conn:
            events = query_events(conn, run_id=run_id, after=after, limit=_PAGE)
        return [
            StreamItem(e.id, message_type(e.type, e.data), encode_event(e)) for e in events if e.id <= upto
        ]

    # -- the poll loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll and fan out until cancelled."""
        with self.store.read() as conn:
            self.position = last_event_id(conn)
        self._started.set()
        while True:
            try:
                events = await asyncio.to_thread(self._fetch, self.position)
            except Exception:  # the store may be briefly unavailable; clients keep their place
                _log.exception("event_poll_failed")
                events = []
            delivered = self._dispatch(events)
            if delivered < _PAGE:
                await asyncio.sleep(self.poll_seconds)

    def _fetch(self, after: int) -> list[Event]:
        with self.store.read() as conn:
            events = query_events(conn, after=after, limit=_PAGE)
            for run_id in {e.run_id for e in events if e.run_id and e.run_id not in self._workflows}:
                with contextlib.suppress(RunNotFoundError):
                    self._workflows[run_id] = get_run(conn, run_id).workflow_name
        return events

    def _dispatch(self, events: list[Event]) -> int:
        """Hand out events in id order, stopping at a hole that may still fill. Returns how many."""
        now = time.time()
        delivered = 0
        for event in events:
            if event.id != self.position + 1 and self.gap_seconds > 0:
                if self._gap_since is None:
                    self._gap_since = now
                if now - self._gap_since < self.gap_seconds:
                    break
            self._gap_since = None
            self.position = event.id
            delivered += 1
            self._observe(event, now)
            groups = [self._subscribers.get(event.run_id, ()), self._subscribers.get(None, ())]
            if not groups[0] and not groups[1]:
                continue
            item = StreamItem(event.id, message_type(event.type, event.data), encode_event(event))
            for group in groups:
                for subscription in group:
                    subscription.offer(item)
        return delivered

    def _observe(self, event: Event, now: float) -> None:
        duration = None
        if event.type == "task.state" and event.task_id is not None:
            if event.data.get("to") == "running":
                self._running_since[event.task_id] = event.ts
            elif event.data.get("from") == "running":
                started = self._running_since.pop(event.task_id, None)
                duration = event.ts - started if started is not None else None
        workflow = self._workflows.get(event.run_id or "", "")
        self.metrics.observe_event(event.type, event.data, workflow=workflow, duration=duration)
        self.metrics.stream_delay.observe(max(now - event.ts, 0.0))
