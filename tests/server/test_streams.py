"""Live streams over real sockets: WebSocket and SSE, resume by event id, heartbeats, slow clients."""

from __future__ import annotations

import asyncio
import json
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from baton.engine import Worker, WorkerSettings, start_run
from baton.observability import Metrics
from baton.server import MESSAGE_TYPES, EventHub
from baton.store.keys import Role
from baton.store.store import Store

from .conftest import RunningServer


def _token(server: RunningServer, role: Role = Role.VIEWER) -> str:
    token: str = server.client(role).post("/auth/token").json()["access_token"]
    return token


async def _receive_until(socket: Any, done: Any, limit: int = 100_000) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(30):
        while len(messages) < limit:
            frame = json.loads(await socket.recv())
            assert isinstance(frame, list) and frame
            messages += frame
            if done(messages):
                break
    return messages


def _complete(messages: list[dict[str, Any]]) -> bool:
    return any(m["type"] == "complete" for m in messages)


def _stored_ids(server: RunningServer, run_id: str) -> list[int]:
    page = server.client(Role.VIEWER).get(f"/runs/{run_id}/events", params={"limit": 5000}).json()
    return [e["id"] for e in page["items"]]


async def test_a_run_stream_delivers_every_event_in_order_then_complete(server: RunningServer) -> None:
    token = _token(server)
    run_id = (
        server.client(Role.OPERATOR)
        .post("/runs", json={"workflow": "fanout", "inputs": {"n": 12}})
        .json()["id"]
    )
    async with connect(f"{server.ws_url}/ws/runs/{run_id}?token={token}") as socket:
        messages = await _receive_until(socket, _complete)
    assert {m["type"] for m in messages} <= set(MESSAGE_TYPES)
    assert {"agent_status", "complete"} <= {m["type"] for m in messages}
    ids = [m["event_id"] for m in messages]
    assert ids == sorted(set(ids))
    assert ids == _stored_ids(server, run_id)[: len(ids)]
    assert messages[-1]["data"]["to"] == "succeeded"
    states = [m for m in messages if m["event"] == "task.state" and m["data"]["task"] == "total"]
    # Released with free slots, `total` is dispatched eagerly: pending → running, never ready.
    assert [(m["data"]["from"], m["data"]["to"]) for m in states] == [
        ("pending", "running"),
        ("running", "succeeded"),
    ]


async def test_reconnecting_with_after_misses_nothing_and_repeats_nothing(server: RunningServer) -> None:
    token = _token(server)
    operator = server.client(Role.OPERATOR)
    run_id = operator.post("/runs", json={"workflow": "fanout", "inputs": {"n": 30}}).json()["id"]
    async with connect(f"{server.ws_url}/ws/runs/{run_id}?token={token}") as socket:
        first = (await _receive_until(socket, lambda m: len(m) >= 10))[
            :10
        ]  # the client handled ten, then dropped
    last = first[-1]["event_id"]
    async with connect(f"{server.ws_url}/ws/runs/{run_id}?token={token}&after={last}") as socket:
        rest = await _receive_until(socket, _complete)
    ids = [m["event_id"] for m in first + rest if m["type"] != "heartbeat"]
    assert ids == sorted(set(ids))
    assert ids == _stored_ids(server, run_id)


async def test_the_all_runs_stream_sees_every_run(sqlite_server: RunningServer) -> None:
    token = _token(sqlite_server)
    operator = sqlite_server.client(Role.OPERATOR)
    async with connect(
        f"{sqlite_server.ws_url}/ws/runs", additional_headers={"Authorization": f"Bearer {token}"}
    ) as socket:
        runs = {
            operator.post("/runs", json={"workflow": "fanout", "inputs": {"n": 2}}).json()["id"]
            for _ in range(2)
        }
        messages = await _receive_until(
            socket, lambda ms: {m["run_id"] for m in ms if m["type"] == "complete"} >= runs
        )
    assert {m["run_id"] for m in messages if m["event"] == "run.created"} == runs


async def test_heartbeats_carry_the_last_event_id(server_with: Any, tmp_path: Path) -> None:
    running: RunningServer = server_with(tmp_path, heartbeat_seconds=0.2)
    token = _token(running)
    started = running.client(Role.OPERATOR).post("/runs", json={"workflow": "fanout", "inputs": {"n": 1}})
    assert started.status_code == 201
    # the stream of all runs stays open when a run ends (a run's own stream closes: see below)
    async with connect(f"{running.ws_url}/ws/runs?after=0&token={token}") as socket:
        messages = await _receive_until(socket, lambda ms: _complete(ms) and ms[-1]["type"] == "heartbeat")
    heartbeat = messages[-1]
    assert heartbeat["event_id"] == max(m["event_id"] for m in messages[:-1])


async def test_websockets_refuse_bad_credentials_and_unknown_runs(sqlite_server: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{sqlite_server.ws_url}/ws/runs"):
            pass
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["error"]["code"] == "unauthenticated"
    with pytest.raises(InvalidStatus) as forged:
        async with connect(f"{sqlite_server.ws_url}/ws/runs?token=baton_0000000000000000_nope"):
            pass
    assert forged.value.response.status_code == 401
    token = _token(sqlite_server)
    with pytest.raises(InvalidStatus) as unknown:
        async with connect(f"{sqlite_server.ws_url}/ws/runs/nosuchrun?token={token}"):
            pass
    assert unknown.value.response.status_code == 404
    with pytest.raises(InvalidStatus) as bad_after:
        async with connect(f"{sqlite_server.ws_url}/ws/runs?token={token}&after=-3"):
            pass
    assert bad_after.value.response.status_code == 422
    with pytest.raises(InvalidStatus) as bad_compress:
        async with connect(f"{sqlite_server.ws_url}/ws/runs?token={token}&compress=brotli"):
            pass
    assert bad_compress.value.response.status_code == 422
    assert "compress=deflate" in json.loads(bad_compress.value.response.body)["error"]["details"]["hint"]


async def test_compressed_frames_carry_the_same_messages_as_plain_ones(sqlite_server: RunningServer) -> None:
    token = _token(sqlite_server)
    operator = sqlite_server.client(Role.OPERATOR)
    run_id = operator.post("/runs", json={"workflow": "fanout", "inputs": {"n": 40}}).json()["id"]
    async with connect(f"{sqlite_server.ws_url}/ws/runs/{run_id}?token={token}") as socket:
        plain = await _receive_until(socket, _complete)
    deflated: list[dict[str, Any]] = []
    sizes = []
    async with connect(f"{sqlite_server.ws_url}/ws/runs/{run_id}?token={token}&compress=deflate") as socket:
        async with asyncio.timeout(30):
            while not _complete(deflated):
                frame = await socket.recv()
                assert isinstance(frame, bytes)  # binary frames, each a whole zlib stream
                text = zlib.decompress(frame)
                sizes.append((len(frame), len(text)))
                deflated += json.loads(text)
    assert deflated == plain
    assert sum(compressed for compressed, _ in sizes) * 4 < sum(original for _, original in sizes)


def _parse_sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append(fields)
    return events


def test_server_sent_events_stream_and_resume(server: RunningServer) -> None:
    token = _token(server)
    run_id = (
        server.client(Role.OPERATOR)
        .post("/runs", json={"workflow": "fanout", "inputs": {"n": 5}})
        .json()["id"]
    )
    assert httpx.get(f"{server.url}/runs/{run_id}/events/stream").status_code == 401

    def read(headers: dict[str, str], params: dict[str, Any]) -> list[dict[str, str]]:
        buffer = ""
        with httpx.stream(
            "GET",
            f"{server.url}/runs/{run_id}/events/stream",
            params={"token": token, **params},
            headers=headers,
            timeout=30,
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for chunk in response.iter_text():
                buffer += chunk
                if "event: complete" in buffer:
                    break
        return _parse_sse(buffer)

    events = read({}, {})
    ids = [int(e["id"]) for e in events]
    assert ids == _stored_ids(server, run_id)
    assert events[-1]["event"] == "complete" and json.loads(events[-1]["data"])["event_id"] == ids[-1]
    resumed = read({"Last-Event-ID": str(ids[3])}, {})
    assert [int(e["id"]) for e in resumed] == ids[4:]


async def test_a_client_that_falls_behind_is_told_and_dropped_without_slowing_others(
    sqlite_store: Store,
) -> None:
    metrics = Metrics()
    hub = EventHub(sqlite_store, metrics, poll_seconds=0.01, gap_seconds=0, client_queue_size=1000)
    poller = asyncio.create_task(hub.run())
    run_id = start_run(sqlite_store, "baton_test_flows:fanout", {"n": 600})
    slow = hub.follow(run_id, after=None, heartbeat_seconds=30)
    fast = hub.follow(run_id, after=None, heartbeat_seconds=30)
    slow_first = asyncio.create_task(anext(slow))  # subscribes, then waits: it reads nothing more for now
    fast_messages: list[dict[str, Any]] = []

    async def read_fast() -> None:
        async for batch in fast:
            fast_messages.extend(json.loads(item.text) for item in batch)
            if _complete(fast_messages):
                return

    reader = asyncio.create_task(read_fast())
    await asyncio.sleep(0.05)
    await Worker(sqlite_store, run_id=run_id, settings=WorkerSettings()).run()
    async with asyncio.timeout(10):
        await reader
        await fast.aclose()
        received = [json.loads(item.text) for item in await slow_first]
        async for batch in slow:
            received += [json.loads(item.text) for item in batch]
    poller.cancel()
    assert _complete(fast_messages) and hub.clients == 0
    ids = [m["event_id"] for m in received[:-1]]
    assert ids == sorted(set(ids)) and len(ids) < len([m for m in fast_messages if m["type"] != "heartbeat"])
    notice = received[-1]
    assert notice["type"] == "error" and notice["error"]["code"] == "client_lagging"
    assert notice["error"]["resume_after"] == received[-2]["event_id"]
    assert metrics.stream_dropped._value.get() == 1
