"""What every route may reach: the store, the settings, the metrics, the event hub and the authenticator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from baton.core.workflow import Workflow
from baton.observability import Metrics
from baton.server.auth import Authenticator
from baton.server.settings import ServerSettings
from baton.server.streams import EventHub
from baton.store.store import Store


@dataclass
class ServerState:
    store: Store
    settings: ServerSettings
    metrics: Metrics
    hub: EventHub
    auth: Authenticator
    workflows: dict[str, Workflow] = field(default_factory=dict)  # loaded lazily, by name
    extras: dict[str, Any] = field(default_factory=dict)


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.baton
    return state
