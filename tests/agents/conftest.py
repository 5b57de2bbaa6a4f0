"""Fixtures of the agent tests: the gateway tests' scripted model server, a store, a gateway and an
event sink that keeps what agents emit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from baton.agents import AgentContext, AgentRegistry
from baton.llm import CallContext, Gateway
from baton.store.store import Store
from llm.conftest import model_server, server, store  # noqa: F401  (the gateway tests' fixtures)
from llm.fakeserver import FakeModelServer, make_config


class Events:
    """An emit function that remembers what it was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event_type: str, data: dict[str, Any]) -> None:
        self.seen.append((event_type, data))

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [data for kind, data in self.seen if kind == event_type]


@pytest.fixture
async def gateway(server: FakeModelServer, store: Store) -> AsyncIterator[Gateway]:  # noqa: F811
    opened = Gateway(make_config(server), store)
    yield opened
    await opened.close()


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def registry() -> AgentRegistry:
    return AgentRegistry()


@pytest.fixture
def offline(events: Events) -> AgentContext:
    """A context with no model: agents must use their deterministic skills."""
    return AgentContext(call=CallContext(run_id="run-a", step="step-a"), emit=events)


@pytest.fixture
def online(gateway: Gateway, events: Events) -> AgentContext:
    return AgentContext(gateway=gateway, call=CallContext(run_id="run-a", step="step-a"), emit=events)
