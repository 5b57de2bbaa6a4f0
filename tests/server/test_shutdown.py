"""`baton serve` stopped by SIGTERM, as Docker and Kubernetes stop it: streams told to reconnect, exit 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from baton.store.keys import Role, create_key_txn
from baton.store.store import Store

from .conftest import free_port

pytestmark = pytest.mark.slow


async def test_sigterm_closes_streams_with_1012_and_resume_after_then_exits_0(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    store = Store.open(url)
    with store.begin() as conn:
        secret = create_key_txn(conn, name="test", role=Role.VIEWER, now=time.time()).secret
    store.close()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "baton.cli", "--db", url, "serve", "--no-worker", "--port", str(port)],
            env={**os.environ},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        headers = {"Authorization": f"Bearer {secret}"}
        token = httpx.post(f"{base}/auth/token", headers=headers).json()["access_token"]
        async with connect(f"ws://127.0.0.1:{port}/ws/runs?token={token}") as socket:
            await asyncio.sleep(0.3)  # subscribed
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            messages = []
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(10):
                    while True:
                        frame = json.loads(await socket.recv())  # a batch: a list of messages
                        messages += frame if isinstance(frame, list) else [frame]
            assert time.monotonic() - started < 5, "the stream held the shutdown"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        last = messages[-1]
        assert last["type"] == "error" and last["error"]["code"] == "server_restarting"
        assert isinstance(last["error"]["resume_after"], int)
        assert server.wait(timeout=30) == 0, log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
