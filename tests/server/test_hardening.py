"""What a stranger or a careless client meets: auth first, throttled failures, clear conflicts, redacted
errors, browser headers, offline docs and a private store (all through a real server)."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from baton.engine import start_run
from baton.observability import configure_logging, redact_text
from baton.store.keys import Role
from baton.store.store import Store

from .conftest import RunningServer


def _body_operations(server: RunningServer) -> list[tuple[str, str, str]]:
    schema = httpx.get(server.url + "/openapi.json").json()
    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if "requestBody" in operation and "x-baton-role" in operation:
                concrete = path.replace("{run_id}", "abc").replace("{task}", "t").replace("{key_id}", "k")
                found.append((method.upper(), concrete, operation["x-baton-role"]))
    return found


def test_credentials_are_checked_before_the_body_is_read(sqlite_server: RunningServer) -> None:
    operations = _body_operations(sqlite_server)
    assert len(operations) >= 5
    broken = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}
    for method, path, role in operations:
        anonymous = httpx.request(method, sqlite_server.url + path, **broken)  # type: ignore[arg-type]
        assert anonymous.status_code == 401, f"{method} {path}: {anonymous.status_code}"
        if role != "viewer":
            with sqlite_server.client(Role.VIEWER) as viewer:
                assert viewer.request(method, path, **broken).status_code == 403, f"{method} {path}"  # type: ignore[arg-type]
    with sqlite_server.client(Role.ADMIN) as admin:  # with credentials the body is judged as before
        assert admin.post("/keys", **broken).status_code == 422  # type: ignore[arg-type]


async def test_failed_authentications_are_throttled_by_address(server_with: Any, tmp_path: Path) -> None:
    running: RunningServer = server_with(tmp_path, auth_failures_per_minute=6, auth_failure_burst=3)
    bad = {"Authorization": "Bearer baton_0000000000000000_guess"}
    statuses = [httpx.get(running.url + "/runs", headers=bad).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    throttled = httpx.get(running.url + "/runs", headers=bad)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    # the address is throttled whatever it presents next, streams included, until its bucket refills
    with running.client(Role.VIEWER) as client:
        assert client.get("/runs").status_code == 429
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{running.ws_url}/ws/runs?token={running.keys[Role.VIEWER]}"):
            pass
    assert refused.value.response.status_code == 429
    assert httpx.get(running.url + "/health").status_code == 200  # public routes stay open


def test_an_ambiguous_run_id_prefix_is_a_409_listing_the_candidates(sqlite_server: RunningServer) -> None:
    for run_id in ("abcd00000001", "abcd00000002", "abce00000003"):
        start_run(sqlite_server.store, "baton_test_flows:fanout", {"n": 1}, run_id=run_id)
    with sqlite_server.client(Role.VIEWER) as client:
        ambiguous = client.get("/runs/abcd")
        assert ambiguous.status_code == 409
        error = ambiguous.json()["error"]
        assert error["code"] == "ambiguous_run_id"
        assert error["details"]["candidates"] == ["abcd00000001", "abcd00000002"]
        assert client.get("/runs/abcd/tasks").status_code == 409
        assert client.get("/runs/abce").json()["id"] == "abce00000003"
        assert client.get("/runs/abcf").status_code == 404


SECRETS = [
    "sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz",
    "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz",
    "sk-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh",
    "ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lzxy",
    "AKIAZX9QW8ER7TY6UI5O",
    "xoxb-123456789012-Zx9Qw8Er7Ty6",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4eXoifQ.Zx9Qw8Er7Ty6Ui5Op4As3D",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_provider_key_shapes_are_redacted(secret: str) -> None:
    assert secret not in redact_text(f"calling with {secret} failed")
    assert redact_text("risk-free task-1 sk-8 tokens") == "risk-free task-1 sk-8 tokens"


@pytest.mark.parametrize("secret", SECRETS[:3])
def test_error_messages_and_details_never_echo_a_key(sqlite_server: RunningServer, secret: str) -> None:
    with sqlite_server.client(Role.OPERATOR) as client:
        unknown = client.post("/runs", json={"workflow": "demo", "inputs": {secret: 1}})
        bad_value = client.post("/runs", json={"workflow": "demo", "inputs": {"documents": secret}})
        bad_body = client.post("/runs", json={"workflow": "demo", secret: 1})
    for response in (unknown, bad_value, bad_body):
        assert response.status_code == 422
        assert secret not in response.text and secret[:12] not in response.text


async def test_a_refused_websocket_logs_one_warning_with_its_request_id(sqlite_server: RunningServer) -> None:
    stream = io.StringIO()
    configure_logging(level="info", stream=stream)
    try:
        with pytest.raises(InvalidStatus):
            async with connect(
                f"{sqlite_server.ws_url}/ws/runs?token=nope",
                additional_headers={"X-Request-ID": "ws-refused-1"},
            ):
                pass
    finally:
        configure_logging(level="info")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == "ws-refused-1"]
    warnings = [line for line in mine if line["level"] != "info"]  # uvicorn adds its own access lines
    assert [(line["event"], line["level"]) for line in warnings] == [("websocket_refused", "warning")]
    assert warnings[0]["code"] == "unauthenticated"
    assert not [line for line in lines if line.get("level") in ("error", "critical")]


def test_pages_and_api_answers_carry_security_headers(sqlite_server: RunningServer) -> None:
    page = httpx.get(sqlite_server.url + "/")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
    for path in ("/static/app.js", "/health", "/runs", "/no/such/route"):
        response = httpx.get(sqlite_server.url + path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path


def test_the_api_docs_work_offline(sqlite_server: RunningServer) -> None:
    for page in ("/docs", "/redoc"):
        html = httpx.get(sqlite_server.url + page)
        assert html.status_code == 200
        sources = [part.split('"', 1)[0] for part in html.text.split('src="')[1:]]
        sources += [part.split('"', 1)[0] for part in html.text.split('href="')[1:]]
        assert sources and all(s.startswith("/") for s in sources), sources
        for source in sources:
            asset = httpx.get(sqlite_server.url + source)
            assert asset.status_code == 200 and len(asset.content) > 1000, source


def test_a_new_store_is_private_to_its_owner(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / '.baton' / 'baton.db'}")
    try:
        start_run(store, "baton.workflows.demo:workflow", {"documents": 1})
    finally:
        store.close()
    assert stat.S_IMODE(os.stat(tmp_path / ".baton").st_mode) == 0o700
    for name in os.listdir(tmp_path / ".baton"):
        assert stat.S_IMODE(os.stat(tmp_path / ".baton" / name).st_mode) == 0o600, name
