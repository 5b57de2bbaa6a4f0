"""Sessions end when their credentials do: open streams, other servers, keys minted by tokens, lock-outs."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from baton.store.keys import Role
from baton.store.store import Store

from .conftest import RunningServer, running_server, wait_for_state


def _new_key(server: RunningServer, role: Role = Role.VIEWER) -> tuple[str, str]:
    with server.client(Role.ADMIN) as client:
        created = client.post("/keys", json={"name": f"session {role.value}", "role": role.value}).json()
    return created["id"], created["key"]


async def _until_closed(socket: Any) -> tuple[list[dict[str, Any]], int | None, float]:
    """Every message until the server closes the socket, the close code and when it closed."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(30):
        try:
            while True:
                messages += json.loads(await socket.recv())
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            return messages, code, time.monotonic()


async def test_a_revoked_key_closes_its_open_websocket_with_1008(server: RunningServer) -> None:
    key_id, key = _new_key(server)
    async with connect(f"{server.ws_url}/ws/runs", additional_headers={"X-API-Key": key}) as socket:
        await asyncio.sleep(0.3)  # the stream is open and idle
        revoked_at = time.monotonic()
        with server.client(Role.ADMIN) as client:
            assert client.delete(f"/keys/{key_id}").status_code == 200
        messages, code, closed_at = await _until_closed(socket)
    elapsed = closed_at - revoked_at
    print(f"revoke → close: {elapsed:.2f} s (re-check every {server.settings.stream_recheck_seconds} s)")
    assert code == 1008
    assert messages[-1]["type"] == "error" and messages[-1]["error"]["code"] == "credentials_invalid"
    assert elapsed < server.settings.stream_recheck_seconds + 5  # generous: the machine is shared


async def test_an_expired_token_closes_its_open_websocket(server_with: Any, tmp_path: Path) -> None:
    running: RunningServer = server_with(tmp_path, token_ttl_seconds=2, stream_recheck_seconds=0.5)
    with running.client(Role.VIEWER) as client:
        token = client.post("/auth/token").json()["access_token"]
    async with connect(f"{running.ws_url}/ws/runs?token={token}") as socket:
        messages, code, _ = await _until_closed(socket)
    assert code == 1008 and messages[-1]["error"]["code"] == "credentials_invalid"


def test_a_revoked_key_ends_its_sse_stream_with_a_final_error(server: RunningServer) -> None:
    key_id, key = _new_key(server)
    with server.client(Role.OPERATOR) as client:
        run_id = client.post("/runs", json={"workflow": "gated", "inputs": {}}).json()["id"]
    wait_for_state(server.client(Role.VIEWER), run_id, {"waiting"})
    url = f"{server.url}/runs/{run_id}/events/stream"
    with httpx.stream("GET", url, headers={"X-API-Key": key}, timeout=30) as stream:
        revoker = threading.Timer(0.5, lambda: server.client(Role.ADMIN).delete(f"/keys/{key_id}"))
        revoker.start()
        lines = list(stream.iter_lines())  # ends when the server ends the stream
        revoker.join()
    errors = [json.loads(line[6:]) for line in lines if line.startswith("data: ") and '"error"' in line]
    assert errors and errors[-1]["error"]["code"] == "credentials_invalid"


async def test_a_finished_runs_streams_end_after_complete(server: RunningServer) -> None:
    with server.client(Role.OPERATOR) as client:
        run_id = client.post("/runs", json={"workflow": "fanout", "inputs": {"n": 2}}).json()["id"]
        wait_for_state(client, run_id, {"succeeded"})
        token = client.post("/auth/token").json()["access_token"]
    async with connect(f"{server.ws_url}/ws/runs/{run_id}?token={token}") as socket:
        messages, code, _ = await _until_closed(socket)
    assert code == 1000 and messages[-1]["type"] == "complete"
    with (
        httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client,
        client.stream("GET", f"/runs/{run_id}/events/stream") as stream,
    ):
        events = [line for line in stream.iter_lines() if line.startswith("event: ")]
    assert events[-1] == "event: complete"
    hub = server.app.state.baton.hub
    for _ in range(100):  # both streams ended, so did their subscriptions to the hub
        if hub.clients == 0:
            break
        await asyncio.sleep(0.02)
    assert hub.clients == 0


def test_a_key_revoked_on_one_server_fails_at_once_on_another(store: Store) -> None:
    with running_server(store) as first, running_server(store) as second:
        key_id, key = _new_key(first)
        headers = {"X-API-Key": key}
        assert httpx.get(f"{second.url}/runs", headers=headers).status_code == 200  # now cached there
        with first.client(Role.ADMIN) as client:
            assert client.delete(f"/keys/{key_id}").status_code == 200
        refused = httpx.get(f"{second.url}/runs", headers=headers)
        assert refused.status_code == 401


def test_revoking_your_own_key_or_the_last_admin_key_is_refused(server: RunningServer) -> None:
    with server.client(Role.ADMIN) as client:
        own = client.get("/keys").json()["items"]
        admin_id = next(k["id"] for k in own if k["role"] == "admin")
        refused = client.delete(f"/keys/{admin_id}")
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["code"] == "lockout" and "create another admin key" in error["details"]["hint"]
        token = client.post("/auth/token").json()["access_token"]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as by_token:
        assert by_token.delete(f"/keys/{admin_id}").status_code == 409
    # rotation as the message says: a second admin key, then the first one is revoked by it
    second_id, second = _new_key(server, Role.ADMIN)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": second}) as rotated:
        assert rotated.delete(f"/keys/{admin_id}").status_code == 200
        assert rotated.delete(f"/keys/{second_id}").status_code == 409
        assert rotated.get("/keys").status_code == 200


@pytest.mark.parametrize("trial", range(3))
def test_two_admins_revoking_each_other_at_once_leave_one_admin(server: RunningServer, trial: int) -> None:
    (a_id, a), (b_id, b) = _new_key(server, Role.ADMIN), _new_key(server, Role.ADMIN)
    with server.client(Role.ADMIN) as client:  # the fixture's admin steps aside: two admins are left
        mine = next(k["id"] for k in client.get("/keys").json()["items"] if k["name"] == "test admin")
        assert httpx.delete(f"{server.url}/keys/{mine}", headers={"X-API-Key": a}).status_code == 200
    barrier = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def revoke(own: str, other_id: str) -> None:
        barrier.wait()
        statuses[own] = httpx.delete(f"{server.url}/keys/{other_id}", headers={"X-API-Key": own}).status_code

    threads = [
        threading.Thread(target=revoke, args=(a, b_id)),
        threading.Thread(target=revoke, args=(b, a_id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses.values()) in ([200, 401], [200, 409]), statuses
    alive = [
        k for k in (a, b) if httpx.get(f"{server.url}/keys", headers={"X-API-Key": k}).status_code == 200
    ]
    assert len(alive) == 1


def test_a_key_minted_with_a_token_expires_with_the_token(server: RunningServer) -> None:
    with server.client(Role.ADMIN) as client:
        issued = client.post("/auth/token", json={"ttl_seconds": 60}).json()
        by_key = client.post("/keys", json={"name": "lasting", "role": "viewer"}).json()
    assert by_key["expires_at"] is None
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {issued['access_token']}"}
    ) as client:
        started = time.time()
        minted = client.post("/keys", json={"name": "from a token", "role": "admin"}).json()
        capped = client.post("/keys", json={"name": "asked for a year", "expires_in_days": 365}).json()
    for key in (minted, capped):
        assert key["expires_at"] is not None and key["expires_at"] <= started + 61


def test_a_key_minted_by_an_expiring_key_expires_with_it(server: RunningServer) -> None:
    with server.client(Role.ADMIN) as client:
        parent = client.post(
            "/keys", json={"name": "temp admin", "role": "admin", "expires_in_days": 1}
        ).json()
    with httpx.Client(base_url=server.url, headers={"X-API-Key": parent["key"]}) as client:
        child = client.post("/keys", json={"name": "child", "role": "viewer", "expires_in_days": 30}).json()
    assert child["expires_at"] <= parent["expires_at"]
