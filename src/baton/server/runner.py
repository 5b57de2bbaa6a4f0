"""Running the server: the first admin key, the exposure warning, and uvicorn on the settings' address."""

from __future__ import annotations

import ipaddress
import time

import uvicorn

from baton.llm import load_config
from baton.observability import Metrics, configure_logging
from baton.server.app import create_app
from baton.server.settings import ServerSettings
from baton.store.keys import CreatedKey, Role, count_active_keys, create_key_txn
from baton.store.store import Store


def bootstrap_admin_key(store: Store) -> CreatedKey | None:
    """An admin key when the store has no active key at all (shown once by the caller), else None."""
    now = time.time()
    with store.begin() as conn:
        if count_active_keys(conn, now=now):
            return None
        return create_key_txn(conn, name="first admin (created by baton serve)", role=Role.ADMIN, now=now)


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(settings: ServerSettings) -> str | None:
    """A warning when the server listens beyond loopback with neither TLS nor a trusted proxy in front."""
    if is_loopback(settings.host) or settings.tls or settings.trust_proxy_headers:
        return None
    return (
        f"listening on {settings.host} without TLS: keys and tokens cross the network in clear text. "
        "Put a TLS-terminating proxy in front (and pass --proxy-headers) or give --tls-certfile/--tls-keyfile."
    )


def uvicorn_config(
    store: Store,
    settings: ServerSettings,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    forwarded_allow_ips: str = "127.0.0.1",
) -> uvicorn.Config:
    configure_logging(level=settings.log_level)
    if settings.run_worker:
        load_config()  # a bad [llm] configuration is a clear error now, not a traceback from the lifespan
    app = create_app(store, settings, metrics=Metrics())
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # our structlog handler on the root logger formats uvicorn's lines too
        access_log=False,  # the request middleware writes one JSON line per request, without query strings
        proxy_headers=settings.trust_proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        ws_ping_interval=20.0,
        ws_per_message_deflate=settings.ws_compression,
        timeout_graceful_shutdown=5,
    )


def serve(store: Store, settings: ServerSettings, **tls: str | None) -> None:
    """Serve until interrupted."""
    uvicorn.Server(uvicorn_config(store, settings, **tls)).run()  # type: ignore[arg-type]
