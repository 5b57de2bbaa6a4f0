"""Fixtures of the gateway tests: a real scripted model server, a store, and a gateway wired to both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.llm import Gateway, GatewayConfig
from baton.store.store import Store

from .fakeserver import ENV, SECRET, FakeModelServer, gateway_table, make_config

__all__ = ["ENV", "SECRET", "Sleeps", "gateway_table", "make_config"]


@pytest.fixture(scope="session")
def model_server() -> Iterator[FakeModelServer]:
    server = FakeModelServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(model_server: FakeModelServer) -> Iterator[FakeModelServer]:
    model_server.reset()
    yield model_server
    model_server.reset()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'baton.db'}")
    yield opened
    opened.close()


class Sleeps:
    """Records the delays the gateway asks for instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
async def make_gateway(
    server: FakeModelServer, store: Store, sleeps: Sleeps
) -> AsyncIterator[GatewayFactory]:
    made: list[Gateway] = []

    def factory(config: GatewayConfig | None = None, **kwargs: Any) -> Gateway:
        kwargs.setdefault("sleep", sleeps)
        gateway = Gateway(config or make_config(server), store, **kwargs)
        made.append(gateway)
        return gateway

    yield factory
    for gateway in made:
        await gateway.close()


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> Gateway:
    return make_gateway()
