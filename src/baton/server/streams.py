"""Live streams: one hub reads the event log and fans events out to every WebSocket and SSE client.

The hub polls the store for events after the last id it handed out (one query for all runs, however
many clients), encodes each event once, and appends it once to the channel of its run, which every
client of that run reads through its own cursor. Clients are woken once per poll, not once per event,
and clients at the same place share one batch, whose frame is built once. A client that falls more
than ``client_queue_size`` messages behind stops receiving, is sent an ``error`` message with
``code: client_lagging`` and the id to resume after, and is closed: a slow client never slows the run
or the other clients.

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
import functools
import json
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

from baton.core.errors import RunNotFoundError
from baton.core.events import EventType
from baton.observability import Metrics, get_logger, might_hold_secrets, redact_value
from baton.store.events import EventRow, event_rows_after, last_event_id
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
_MAX_BATCH = _PAGE  # messages in one frame at most


def message_type(event_type: str, data: dict[str, Any]) -> str:
    """The stream message type of a stored event."""
    if event_type == EventType.RUN_STATE and data.get("to") in _FINISHED:
        return COMPLETE
    if event_type in (EventType.TASK_PROGRESS, EventType.TASK_LOG):
        return PROGRESS
    if event_type == EventType.TASK_ERROR:
        return ERROR
    if event_type == EventType.WORKER_HEARTBEAT:
        return HEARTBEAT
    return AGENT_STATUS


# Events the hub decodes: for the message type (a finished run is ``complete``) or for a metric. The
# others, most of a busy run's events, go out as the JSON text the store holds, without a round trip.
_DECODED = frozenset({EventType.RUN_STATE, EventType.TASK_STATE, EventType.MODEL_CALL})
_ENDED = frozenset({"succeeded", "failed", "cancelled"})
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def _json_string(value: str) -> str:
    return _ENCODER.encode(value)


def decoded_data(row: EventRow) -> dict[str, Any] | None:
    """The data of a stored event (a row of :func:`event_rows_after`) if the hub needs it, else None."""
    return json.loads(row.data) if row.type in _DECODED else None


def encode_row(row: EventRow, data: dict[str, Any] | None) -> StreamItem:
    """The message for a stored event, built around its stored JSON text (``data``: that text decoded,
    when the caller has it). Events are redacted when written; text from before that is redacted here."""
    text = row.data
    if might_hold_secrets(text):
        text = _ENCODER.encode(redact_value(json.loads(text)))
    kind = message_type(row.type, data if data is not None else {})
    run_id = "null" if row.run_id is None else _json_string(row.run_id)
    task_id = "null" if row.task_id is None else row.task_id
    message = (
        f'{{"type":"{kind}","event_id":{row.id},"event":{_json_string(row.type)},"run_id":{run_id},'
        f'"task_id":{task_id},"ts":{row.ts!r},"data":{text}}}'
    )
    return StreamItem(row.id, kind, message, row.ts)


class StreamItem(NamedTuple):  # a tuple: built for every event of every run, cheaply
    event_id: int
    type: str
    text: str  # the message, encoded as JSON
    ts: float | None = None  # the event's timestamp; None for the stream's own notices


def heartbeat_item(last_id: int) -> StreamItem:
    text = _ENCODER.encode({"type": HEARTBEAT, "event_id": last_id, "ts": time.time()})
    return StreamItem(last_id, HEARTBEAT, text)


def lagging_item(last_id: int, limit: int) -> StreamItem:
    text = _ENCODER.encode(
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


def restarting_item(last_id: int) -> StreamItem:
    """The last message of every stream when the server stops (SIGTERM): reconnect with ``?after=``."""
    text = _ENCODER.encode(
        {
            "type": ERROR,
            "event_id": last_id,
            "error": {
                "code": "server_restarting",
                "message": "the server is stopping; reconnect (to this or another server) to continue",
                "resume_after": last_id,
            },
        }
    )
    return StreamItem(last_id, ERROR, text)


CREDENTIALS_INVALID = "credentials_invalid"


def revoked_item(last_id: int) -> StreamItem:
    text = _ENCODER.encode(
        {
            "type": ERROR,
            "event_id": last_id,
            "error": {
                "code": CREDENTIALS_INVALID,
                "message": "the credentials of this stream were revoked or have expired; the stream is closed",
                "hint": "get a new token (or key) and reconnect with ?after=<the last event_id>",
                "resume_after": last_id,
            },
        }
    )
    return StreamItem(last_id, ERROR, text)


class Batch(list[StreamItem]):
    """Messages in event-id order for one client. Clients that read the same stretch of a channel get
    the same batch, so its WebSocket frame (plain or compressed) and SSE text are built once, not once
    per client."""

    _frame: str | None = None
    _deflated: bytes | None = None
    _sse: str | None = None

    def frame(self) -> str:
        """The messages as one JSON array (a WebSocket text frame)."""
        if self._frame is None:
            self._frame = "[" + ",".join(item.text for item in self) + "]"
        return self._frame

    def deflated(self) -> bytes:
        """:meth:`frame` compressed in the zlib format (a WebSocket binary frame, ``?compress=deflate``).
        Compressed once for every client at this place, unlike permessage-deflate, which compresses each
        client's copy: a run's messages shrink about twelve times at the fastest level."""
        if self._deflated is None:
            self._deflated = zlib.compress(self.frame().encode(), 1)
        return self._deflated

    @property
    def oldest(self) -> float | None:
        """The timestamp of the batch's first event (None for a notice of the stream's own)."""
        return self[0].ts

    def sse(self) -> str:
        """The messages as Server-Sent Events, each with its ``id:`` so a browser resumes by itself."""
        if self._sse is None:
            self._sse = "".join(
                f"id: {item.event_id}\nevent: {item.type}\ndata: {item.text}\n\n" for item in self
            )
        return self._sse


class _Channel:
    """The live messages of one run (or of every run), appended once and read by each of its clients
    through its own cursor; messages every client has read are let go."""

    def __init__(self) -> None:
        self.items: list[StreamItem] = []
        self.base = 0  # the position of items[0] in the channel since it was created
        self.subscriptions: set[Subscription] = set()
        self._batches: dict[int, Batch] = {}  # by start position, until the channel next changes

    @property
    def end(self) -> int:
        return self.base + len(self.items)

    def read(self, cursor: int) -> Batch:
        """Up to ``_MAX_BATCH`` messages from ``cursor`` on (shared with every client at ``cursor``)."""
        batch = self._batches.get(cursor)
        if batch is None:
            start = cursor - self.base
            batch = Batch(self.items[start : start + _MAX_BATCH])
            self._batches[cursor] = batch
        return batch

    def publish(self, limit: int) -> None:
        """After appending: flag the clients more than ``limit`` messages behind, wake every client once,
        and drop what all the others have read."""
        self._batches.clear()
        end = self.end
        oldest = end
        for subscription in self.subscriptions:
            if not subscription.lagging:
                if end - subscription.cursor > limit:
                    subscription.lagging = True
                else:
                    oldest = min(oldest, subscription.cursor)
            subscription.wake.set()
        # Trimming shifts the list, so it waits until the read part is worth it.
        if oldest - self.base >= max(_PAGE, len(self.items) // 2):
            del self.items[: oldest - self.base]
            self.base = oldest


class Subscription:
    """One client's place in a channel. It is ``lagging`` once it falls more than ``limit`` messages behind."""

    def __init__(self, run_id: str | None, channel: _Channel, limit: int, start: int) -> None:
        self.run_id = run_id
        self.channel = channel
        self.limit = limit
        self.start = start  # the hub's position when this client subscribed
        self.cursor = channel.end  # the channel's next message for this client
        self.lagging = False
        self.wake = asyncio.Event()

    @property
    def pending(self) -> int:
        return self.channel.end - self.cursor


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
        self._channels: dict[str | None, _Channel] = {}
        self._gap_since: float | None = None
        self._workflows: dict[str, str] = {}
        self._running_since: dict[int, float] = {}
        self._run_started: dict[str, float] = {}  # run id → when it started (read when its state changes)
        self._started = asyncio.Event()
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- clients ---------------------------------------------------------------------------------

    def subscribe(self, run_id: str | None) -> Subscription:
        channel = self._channels.get(run_id)
        if channel is None:
            channel = self._channels[run_id] = _Channel()
        subscription = Subscription(run_id, channel, self.client_queue_size, self.position)
        channel.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        channel = subscription.channel
        channel.subscriptions.discard(subscription)
        if not channel.subscriptions and self._channels.get(subscription.run_id) is channel:
            del self._channels[subscription.run_id]

    def close(self) -> None:
        """End every stream with a ``server_restarting`` message (safe to call from a signal handler)."""
        self._closing = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        for channel in self._channels.values():
            for subscription in channel.subscriptions:
                subscription.wake.set()

    @property
    def clients(self) -> int:
        return sum(len(channel.subscriptions) for channel in self._channels.values())

    async def follow(
        self, run_id: str | None, *, after: int | None, heartbeat_seconds: float
    ) -> AsyncIterator[Batch]:
        """Batches of messages for one client: the backlog after ``after``, then live events, heartbeats
        when idle, and a final ``client_lagging`` error if it fell too far behind (``server_restarting`` when
        the server stops)."""
        await self._started.wait()
        subscription = self.subscribe(run_id)
        channel = subscription.channel
        try:
            last = subscription.start if after is None else after
            while after is not None and last < subscription.start:
                page = await asyncio.to_thread(self._backlog, run_id, last, subscription.start)
                if not page:
                    break
                last = page[-1].event_id
                yield page
            while True:
                if self._closing:
                    yield Batch([restarting_item(last)])
                    return
                if subscription.lagging:
                    self.metrics.stream_dropped.inc()
                    yield Batch([lagging_item(last, subscription.limit)])
                    return
                if not subscription.pending:
                    subscription.wake.clear()
                    try:  # asyncio.timeout, not wait_for: no task per wait, and every client waits often
                        async with asyncio.timeout(heartbeat_seconds):
                            await subscription.wake.wait()
                    except TimeoutError:
                        yield Batch([heartbeat_item(last)])
                    continue
                batch = channel.read(subscription.cursor)
                subscription.cursor += len(batch)
                if batch[0].event_id <= last:  # only when `after` was ahead of the hub: skip what it had
                    batch = Batch(item for item in batch if item.event_id > last)
                if batch:
                    last = batch[-1].event_id
                    yield batch
        finally:
            self.unsubscribe(subscription)

    def _backlog(self, run_id: str | None, after: int, upto: int) -> Batch:
        with self.store.read() as conn:
            rows = event_rows_after(conn, after, _PAGE, run_id=run_id)
        return Batch(encode_row(row, decoded_data(row)) for row in rows if row.id <= upto)

    # -- the poll loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll and fan out until cancelled."""
        self._loop = asyncio.get_running_loop()
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

    def _fetch(self, after: int) -> list[EventRow]:
        with self.store.read() as conn:
            rows = event_rows_after(conn, after, _PAGE)
            for run_id in {r.run_id for r in rows if r.run_id and r.run_id not in self._workflows}:
                with contextlib.suppress(RunNotFoundError):
                    self._workflows[run_id] = get_run(conn, run_id).workflow_name
            # when each run that changed state started (rare events: one read each, in this thread)
            for run_id in {r.run_id for r in rows if r.run_id and r.type == EventType.RUN_STATE}:
                with contextlib.suppress(RunNotFoundError):
                    record = get_run(conn, run_id)
                    self._run_started[run_id] = record.started_at or record.created_at
        return rows

    def _dispatch(self, events: list[EventRow]) -> int:
        """Hand out events in id order, stopping at a hole that may still fill. Returns how many."""
        now = time.time()
        delivered = 0
        everything = self._channels.get(None)
        touched: set[_Channel] = set()
        for event in events:
            if event.id != self.position + 1 and self.gap_seconds > 0:
                if self._gap_since is None:
                    self._gap_since = now
                if now - self._gap_since < self.gap_seconds:
                    break
            self._gap_since = None
            self.position = event.id
            delivered += 1
            data = decoded_data(event)
            if data is not None:  # the events metrics count are the ones decoded
                self._observe(event, data)
            channel = self._channels.get(event.run_id) if event.run_id is not None else None
            if channel is None and everything is None:
                continue
            item = encode_row(event, data)
            for target in (channel, everything):
                if target is not None:
                    target.items.append(item)
                    touched.add(target)
        if delivered:  # once per poll, for its oldest event: per event, the histogram cost more than the rest
            self.metrics.stream_delay.observe(max(now - events[0].ts, 0.0))
        # Clients are woken once per poll, however many events it brought.
        for target in touched:
            target.publish(self.client_queue_size)
        return delivered

    def _observe(self, event: EventRow, data: dict[str, Any]) -> None:
        duration = None
        if event.type == EventType.TASK_STATE and event.task_id is not None:
            if data.get("to") == "running":
                self._running_since[event.task_id] = event.ts
            elif data.get("from") == "running":
                started = self._running_since.pop(event.task_id, None)
                duration = event.ts - started if started is not None else None
        elif event.type == EventType.RUN_STATE and data.get("to") in _ENDED and event.run_id is not None:
            started = self._run_started.pop(event.run_id, None)
            duration = max(event.ts - started, 0.0) if started is not None else None
        workflow = self._workflows.get(event.run_id or "", "")
        self.metrics.observe_event(event.type, data, workflow=workflow, duration=duration)
