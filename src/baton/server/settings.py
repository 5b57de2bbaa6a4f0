"""What `baton serve` can be told: every knob of the server in one pydantic model."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, Field

from baton.workflows.reach import allowed_hosts_from_env

# The workflows a fresh server offers, by the name the API and dashboard use.
SHIPPED_WORKFLOWS: dict[str, str] = {
    "demo": "baton.workflows.demo:workflow",
    "build": "baton.workflows.builder:workflow",
    "season": "baton.workflows.season:workflow",
}


class SigningKey(BaseModel):
    """One JWT signing secret. The first of :attr:`ServerSettings.signing_keys` signs; all of them verify,
    so a new key can be put in front while tokens signed by the old one are still honoured."""

    kid: str
    secret: str = Field(repr=False)


def _random_signing_key() -> list[SigningKey]:
    return [SigningKey(kid="k" + secrets.token_hex(4), secret=secrets.token_urlsafe(48))]


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    workflows: dict[str, str] = Field(default_factory=lambda: dict(SHIPPED_WORKFLOWS))
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = 1_000_000
    # Rate limit per API key and route: a bucket of `rate_limit_burst` refilled at `rate_limit_per_minute`.
    rate_limit_per_minute: int = 1200  # 0 turns rate limiting off
    rate_limit_burst: int = 200
    # Failed authentications per client address: `auth_failure_burst` at once, refilled per minute (0: off).
    auth_failures_per_minute: int = 30
    auth_failure_burst: int = 20
    heartbeat_seconds: float = 30.0
    client_queue_size: int = 10_000  # messages a stream client may fall behind before it is disconnected
    poll_seconds: float = 0.02  # how often the event hub looks for new events (an empty look costs ~0.1 ms)
    gap_seconds: float = 2.0  # how long a hole in event ids may be an uncommitted transaction (PostgreSQL)
    # permessage-deflate compresses every client's copy of every frame separately: with many clients on
    # one run it costs more CPU than everything else the streams do (measured: half the server's time).
    ws_compression: bool = False
    signing_keys: list[SigningKey] = Field(default_factory=_random_signing_key, repr=False)
    token_ttl_seconds: int = 900
    stream_recheck_seconds: float = 2.0  # how often an open stream's credentials are checked again
    key_cache_seconds: float = 5.0  # how long a verified API key is trusted before the store is asked again
    metrics_public: bool = True  # False: /metrics needs a viewer key
    trust_proxy_headers: bool = False  # a TLS-terminating proxy sets X-Forwarded-* (uvicorn's proxy_headers)
    tls: bool = False
    run_worker: bool = True  # an in-process worker executes the runs started here
    worker_concurrency: int = 64
    log_level: str = "info"
    # Runs started over the API read and write only under this folder (see baton.server.workspace).
    workspace: str = ".baton/workspace"
    # Hosts a run's outbound URLs may reach (BATON_ALLOWED_HOSTS); private addresses need an address entry.
    allowed_hosts: list[str] = Field(default_factory=lambda: list(allowed_hosts_from_env()))
    max_upload_bytes: int = 50_000_000  # the largest body of POST /runs (it may carry a run's data files)
