"""A real `baton serve` (uvicorn on a loopback port, in a thread of the test process) over a real store."""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from baton.server import ServerSettings, create_app
from baton.store.keys import Role, create_key_txn
from baton.store.store import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The engine's test workflows (gated has an approval step, fanout a map) are offered by the test servers.
sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))

TEST_WORKFLOWS = {
    "demo": "baton.workflows.demo:workflow",
    "season": "baton.workflows.season:workflow",
    "gated": "baton_test_flows:gated",
    "fanout": "baton_test_flows:fanout",
    "graded": "baton_test_flows:graded",  # names a report, made from a step behind an approval
}
# An idea whose build honours some requirements and leaves one not implemented (fetching from outside).
BUILD_IDEA = (
    "A book club API where members rate books from 1 to 5; "
    "every night it collects bestseller lists from the New York Times"
)


@dataclass
class RunningServer:
    url: str
    store: Store
    settings: ServerSettings
    keys: dict[Role, str]
    app: Any

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :]

    def client(self, role: Role | None = Role.ADMIN, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


def make_keys(store: Store) -> dict[Role, str]:
    with store.begin() as conn:
        return {
            role: create_key_txn(conn, name=f"test {role.value}", role=role, now=time.time()).secret
            for role in Role
        }


@contextmanager
def running_server(store: Store, **overrides: Any) -> Iterator[RunningServer]:
    values: dict[str, Any] = {
        "port": free_port(),
        "workflows": dict(TEST_WORKFLOWS),
        "poll_seconds": 0.02,
        "heartbeat_seconds": 30.0,
        "rate_limit_per_minute": 0,
        "auth_failures_per_minute": 0,  # the tests that need it turn it on
    }
    values.update(overrides)
    values.setdefault("workspace", tempfile.mkdtemp(prefix="baton-ws-"))
    settings = ServerSettings(**values)
    app = create_app(store, settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=settings.port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="baton-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield RunningServer(f"http://127.0.0.1:{settings.port}", store, settings, make_keys(store), app)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def server(store: Store) -> Iterator[RunningServer]:
    """A server on each backend (SQLite file and PostgreSQL)."""
    with running_server(store) as running:
        yield running


@pytest.fixture
def sqlite_server(sqlite_store: Store) -> Iterator[RunningServer]:
    with running_server(sqlite_store) as running:
        yield running


@pytest.fixture
def server_with() -> Iterator[Callable[..., Any]]:
    """Start a server on a SQLite store in a folder, with settings overridden (`server_with(tmp_path, poll_seconds=1)`).

    Two servers started on one folder share its store."""
    stack: list[Any] = []

    def start(tmp_path: Path, **overrides: Any) -> RunningServer:
        store = Store.open(f"sqlite:///{tmp_path / 'serve.db'}")
        context = running_server(store, **overrides)
        running = context.__enter__()
        stack.append((context, store))
        return running

    yield start
    for context, store in reversed(stack):
        context.__exit__(None, None, None)
        store.close()


def wait_for_state(
    client: httpx.Client, run_id: str, states: set[str], timeout: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/runs/{run_id}").json()
        if run["state"] in states:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not reach {states} in {timeout} s")


@dataclass
class BuildRun:
    server: RunningServer
    run_id: str


@pytest.fixture(scope="session")
def build_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuildRun]:
    """One build started over the API of a real server (its worker runs it), shared by the report tests of
    the API, the CLI and the dashboard. Not waited for: a test that needs it finished waits."""
    from baton.workflows.builder import stop_service

    folder = tmp_path_factory.mktemp("build-run")
    store = Store.open(f"sqlite:///{folder / 'serve.db'}")
    workflows = {**TEST_WORKFLOWS, "build": "baton.workflows.builder:workflow"}
    try:
        with running_server(store, workflows=workflows, workspace=str(folder / "ws")) as running:
            with running.client(Role.OPERATOR) as client:
                response = client.post(
                    "/runs", json={"workflow": "build", "inputs": {"idea": BUILD_IDEA, "stack": "fastapi"}}
                )
                assert response.status_code == 201, response.text
                started = response.json()
            try:
                yield BuildRun(running, started["id"])
            finally:
                with running.client(Role.OPERATOR) as client:
                    if client.get(f"/runs/{started['id']}").json()["state"] not in ("succeeded", "failed"):
                        client.post(f"/runs/{started['id']}/cancel")
                stop_service(Path(started["inputs"]["out"]))
    finally:
        store.close()
