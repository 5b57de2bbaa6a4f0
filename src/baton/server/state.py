"""What every route may reach: the store, the settings, the metrics, the event hub and the authenticator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from baton.core.workflow import Workflow
from baton.observability import Metrics
from baton.server.auth import Authenticator
from baton.server.response_cache import ResponseCache
from baton.server.settings import ServerSettings
from baton.server.streams import EventHub
from baton.store.store import Store
from baton.workflows.reach import Reach

T = TypeVar("T")


@dataclass
class ServerState:
    store: Store
    settings: ServerSettings
    metrics: Metrics
    hub: EventHub
    auth: Authenticator
    reach: Reach  # where runs started here may read, write and call
    workflows: dict[str, Workflow] = field(default_factory=dict)  # loaded lazily, by name
    responses: ResponseCache = field(default_factory=ResponseCache)  # encoded reads, by version
    extras: dict[str, Any] = field(default_factory=dict)


async def in_store(state: ServerState, fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking store call for an async route: inline on SQLite, whose reads are short and CPU-bound
    (a thread hop only adds latency and GIL contention: measured, it cut GET /runs/{id} from ~400 to ~240
    req/s under concurrency), in the thread pool for a database server, whose network waits release the GIL."""
    if state.store.dialect == "sqlite":
        return fn(*args)
    return await run_in_threadpool(fn, *args)


async def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.baton
    return state
