"""Security: every route refuses the unauthenticated and the under-privileged; keys, tokens, rotation, limits."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from baton.server import PUBLIC_PATHS, ROLE_EXTENSION, SigningKey
from baton.store.keys import Role, create_key_txn

from .conftest import RunningServer

ROLES = list(Role)


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _call(client: httpx.Client, path: str, method: str, operation: dict[str, Any]) -> httpx.Response:
    url = re.sub(r"\{[^}]+\}", "x", path)
    kwargs: dict[str, Any] = {}
    if "requestBody" in operation:
        kwargs["json"] = {}
    return client.request(method.upper(), url, **kwargs)


def test_every_route_in_the_schema_refuses_unauthenticated_and_under_privileged_requests(
    sqlite_server: RunningServer,
) -> None:
    schema = httpx.get(sqlite_server.url + "/openapi.json").json()
    operations = _operations(schema)
    assert len(operations) >= 25
    anonymous = httpx.Client(base_url=sqlite_server.url)
    forged = httpx.Client(
        base_url=sqlite_server.url, headers={"Authorization": "Bearer baton_0000000000000000_x"}
    )
    checked_403 = 0
    for path, method, operation in operations:
        if path in PUBLIC_PATHS:
            assert ROLE_EXTENSION not in operation
            assert _call(anonymous, path, method, operation).status_code in (200, 503)
            continue
        needed = Role(operation[ROLE_EXTENSION])
        assert operation.get("security"), f"{method} {path} documents no security"
        for client in (anonymous, forged):
            response = _call(client, path, method, operation)
            assert response.status_code == 401, f"{method} {path}: {response.status_code}"
            assert response.json()["error"]["code"] == "unauthenticated"
        for role in ROLES:
            if role.allows(needed):
                continue
            response = _call(sqlite_server.client(role), path, method, operation)
            assert response.status_code == 403, f"{method} {path} as {role}: {response.status_code}"
            assert response.json()["error"]["details"] == {"needed": needed.value, "role": role.value}
            checked_403 += 1
    assert checked_403 >= 10  # operator and admin routes exist and were walked


def test_routes_outside_the_schema_are_guarded_too(sqlite_server: RunningServer) -> None:
    """Every route the app serves is in the schema, except the dashboard page, its static files and the
    WebSockets (tested in test_streams)."""
    paths: set[str] = set()
    for route in sqlite_server.app.routes:
        included = getattr(route, "original_router", None)  # FastAPI includes routers lazily
        paths |= {r.path for r in included.routes} if included is not None else {route.path}
    schema_paths = set(httpx.get(sqlite_server.url + "/openapi.json").json()["paths"])
    assert paths - schema_paths == {
        "/",
        "/static",
        "/ws/runs",
        "/ws/runs/{run_id}",
        "/openapi.json",
        "/docs",
        "/redoc",
        "/static-docs",  # Swagger UI's and ReDoc's own assets: /docs needs no CDN
    }
    page = httpx.get(sqlite_server.url + "/")
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_keys_are_created_once_listed_without_secrets_and_revoked(sqlite_server: RunningServer) -> None:
    admin = sqlite_server.client(Role.ADMIN)
    created = admin.post("/keys", json={"name": "ci", "role": "operator", "expires_in_days": 1})
    assert created.status_code == 201, created.text
    secret = created.json()["key"]
    key_id = created.json()["id"]
    listed = admin.get("/keys").text
    # baton_<id>_<secret>, where the url-safe secret may itself hold "_": split off the prefix only
    assert key_id in listed and secret not in listed and secret.split("_", 2)[2] not in listed

    ci = httpx.Client(base_url=sqlite_server.url, headers={"X-API-Key": secret})
    assert ci.post("/runs", json={"workflow": "fanout", "inputs": {"n": 1}}).status_code == 201
    assert ci.get("/keys").status_code == 403
    assert admin.delete(f"/keys/{key_id}").json()["revoked_at"] is not None
    assert ci.get("/runs").status_code == 401
    assert key_id not in admin.get("/keys").text
    assert key_id in admin.get("/keys", params={"include_revoked": True}).text
    assert admin.delete("/keys/unknown").status_code == 404


def test_expired_keys_are_refused(sqlite_server: RunningServer) -> None:
    with sqlite_server.store.begin() as conn:
        created = create_key_txn(
            conn, name="soon", role=Role.VIEWER, now=time.time() - 10, expires_at=time.time() + 0.5
        )
    client = httpx.Client(base_url=sqlite_server.url, headers={"Authorization": f"Bearer {created.secret}"})
    assert client.get("/runs").status_code == 200
    deadline = time.monotonic() + 10
    while client.get("/runs").status_code == 200:  # refused once it expires, even while cached
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.get("/runs").json()["error"]["code"] == "unauthenticated"


def test_tokens_carry_the_key_role_and_survive_a_signing_key_rotation(
    server_with: Any, tmp_path: Path
) -> None:
    old = SigningKey(kid="old", secret="o" * 40)
    new = SigningKey(kid="new", secret="n" * 40)
    first: RunningServer = server_with(tmp_path, signing_keys=[old])
    viewer_token = first.client(Role.VIEWER).post("/auth/token").json()
    assert viewer_token["role"] == "viewer" and viewer_token["expires_in"] == 900
    bearer = {"Authorization": f"Bearer {viewer_token['access_token']}"}
    assert httpx.get(first.url + "/runs", headers=bearer).status_code == 200
    assert httpx.post(first.url + "/runs", headers=bearer, json={"workflow": "demo"}).status_code == 403
    assert httpx.post(first.url + "/auth/token", headers=bearer).status_code == 403  # no token from a token

    rotated: RunningServer = server_with(
        tmp_path, signing_keys=[new, old]
    )  # same store, new signing key first
    assert httpx.get(rotated.url + "/runs", headers=bearer).status_code == 200
    fresh = httpx.post(rotated.url + "/auth/token", headers={"X-API-Key": first.keys[Role.VIEWER]}).json()
    header = fresh["access_token"].split(".")[0]
    assert "new" in __import__("base64").urlsafe_b64decode(header + "==").decode()

    retired: RunningServer = server_with(tmp_path, signing_keys=[new])
    assert httpx.get(retired.url + "/runs", headers=bearer).status_code == 401
    assert (
        httpx.get(
            retired.url + "/runs", headers={"Authorization": f"Bearer {fresh['access_token']}"}
        ).status_code
        == 200
    )
    tampered = fresh["access_token"][:-4] + ("AAAA" if not fresh["access_token"].endswith("AAAA") else "BBBB")
    assert (
        httpx.get(retired.url + "/runs", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    )


def test_rate_limit_per_key_and_route(server_with: Any, tmp_path: Path) -> None:
    running: RunningServer = server_with(tmp_path, rate_limit_per_minute=60, rate_limit_burst=3)
    viewer = running.client(Role.VIEWER)
    statuses = [viewer.get("/runs").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = viewer.get("/runs")
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    assert viewer.get("/workflows").status_code == 200  # another route has its own bucket
    assert running.client(Role.OPERATOR).get("/runs").status_code == 200  # another key too


def test_metrics_can_be_put_behind_a_key_and_cors_follows_configuration(
    server_with: Any, tmp_path: Path
) -> None:
    running: RunningServer = server_with(tmp_path, metrics_public=False, cors_origins=["https://ops.example"])
    assert httpx.get(running.url + "/metrics").status_code == 401
    assert running.client(Role.VIEWER).get("/metrics").status_code == 200
    preflight = httpx.options(
        running.url + "/runs",
        headers={"Origin": "https://ops.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["access-control-allow-origin"] == "https://ops.example"
    other = httpx.get(running.url + "/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    ("host", "tls", "proxy", "warns"),
    [
        ("127.0.0.1", False, False, False),
        ("0.0.0.0", False, False, True),
        ("0.0.0.0", True, False, False),
        ("10.0.0.5", False, True, False),
        ("localhost", False, False, False),
    ],
)
def test_exposure_warning(host: str, tls: bool, proxy: bool, warns: bool) -> None:
    from baton.server import ServerSettings, exposure_warning

    settings = ServerSettings(host=host, tls=tls, trust_proxy_headers=proxy)
    assert (exposure_warning(settings) is not None) is warns


def test_first_admin_key_is_made_only_when_there_is_none(sqlite_store: Any) -> None:
    from baton.server import bootstrap_admin_key

    created = bootstrap_admin_key(sqlite_store)
    assert created is not None and created.key.role is Role.ADMIN
    assert bootstrap_admin_key(sqlite_store) is None
