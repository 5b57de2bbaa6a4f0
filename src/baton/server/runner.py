"""Running the server: the first admin key, the exposure warning, and uvicorn on the settings' address."""

from __future__ import annotations

import ipaddress
import signal
import time
from types import FrameType

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


# On SIGTERM/SIGINT: streams end at once (``server_restarting``), requests in flight get this long to finish.
# Below Kubernetes' 30 s grace period, with room for the preStop pause.
GRACEFUL_SHUTDOWN_SECONDS = 15


class _Server(uvicorn.Server):
    """uvicorn's server, ending the live streams as soon as a stop signal arrives (else they would hold
    the shutdown for its whole grace period and then be cut without a word)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        state = getattr(getattr(self.config.app, "state", None), "baton", None)
        if state is not None:
            state.hub.close()
        super().handle_exit(sig, frame)


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
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def serve(store: Store, settings: ServerSettings, **tls: str | None) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully and return (the process exits 0)."""
    received: list[int] = []

    def remember(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    # uvicorn raises the stop signal again once it has shut down, with the handlers it found installed:
    # these make that a normal return instead of a death by the signal (exit -15, or a KeyboardInterrupt).
    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _Server(uvicorn_config(store, settings, **tls)).run()  # type: ignore[arg-type]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
