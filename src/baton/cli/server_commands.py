"""`baton serve` and `baton keys create/list/revoke`. The lead's `app.py` calls :func:`register`."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from baton.core.errors import InvalidInputError
from baton.store.keys import Role, create_key_txn, list_keys, revoke_key_txn

keys_app = typer.Typer(
    name="keys", help="API keys of `baton serve`: create, list, revoke.", no_args_is_help=True
)


def _when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _signing_keys_from_env() -> list[object] | None:
    """``BATON_JWT_KEYS="kid1:secret1,kid0:secret0"``: the first signs, all verify (rotate by prepending)."""
    from baton.server import SigningKey

    raw = os.environ.get("BATON_JWT_KEYS", "").strip()
    if not raw:
        return None
    keys: list[object] = []
    for part in raw.split(","):
        kid, sep, secret = part.strip().partition(":")
        if not sep or not kid or len(secret) < 32:
            raise InvalidInputError(
                "BATON_JWT_KEYS must be KID:SECRET[,KID:SECRET…] with secrets of at least 32 characters",
                fields={"BATON_JWT_KEYS": "malformed"},
            )
        keys.append(SigningKey(kid=kid, secret=secret))
    return keys


def _parse_workflows(pairs: list[str]) -> dict[str, str]:
    from baton.server import SHIPPED_WORKFLOWS

    offered = dict(SHIPPED_WORKFLOWS)
    for pair in pairs:
        name, sep, ref = pair.partition("=")
        if not sep or not name or ":" not in ref:
            raise InvalidInputError(
                f"--workflow {pair!r} is not NAME=MODULE:ATTRIBUTE",
                hint="e.g. --workflow nightly=myflows:nightly",
            )
        offered[name] = ref
    return offered


_LOG_LEVELS = ("debug", "info", "warning", "error")


def _check_tls(certfile: str, keyfile: str) -> None:
    """A certificate and key that cannot be loaded are refused before the server starts."""
    import ssl

    for option, path in (("--tls-certfile", certfile), ("--tls-keyfile", keyfile)):
        if not Path(path).is_file():
            raise InvalidInputError(
                f"{option} {path}: no such file", fields={option[2:]: "not a file"}, hint="give a PEM file"
            )
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as error:
        raise InvalidInputError(
            f"cannot load the TLS certificate {certfile} with the key {keyfile}: {error}",
            fields={"tls_certfile": "not loadable"},
            hint="give a PEM certificate (chain) and its matching private key",
        ) from None


def _check_listen(host: str, port: int) -> None:
    """Bind (and release) the address as the server will, so that a port in use or an address this
    machine does not have is refused with one line and exit 2."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise InvalidInputError(
            f"--host {host!r} is not an address this machine can listen on: {error.strerror}",
            fields={"host": "unknown address"},
            hint="e.g. --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)",
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as error:
            raise InvalidInputError(
                f"cannot listen on {host}:{port}: {error.strerror or error}",
                fields={"port": "not available"},
                hint="choose another --port, or stop what listens there",
            ) from None


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port", min=1, max=65535)] = 8000,
    worker: Annotated[
        bool,
        typer.Option("--worker/--no-worker", help="Execute runs in this process (off: `baton worker`s do)"),
    ] = True,
    workflow: Annotated[
        list[str], typer.Option("--workflow", help="Offer another workflow: NAME=MODULE:ATTR; repeatable")
    ] = [],  # noqa: B006
    cors_origin: Annotated[
        list[str], typer.Option("--cors-origin", help="Allowed browser origin; repeatable")
    ] = [],  # noqa: B006
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body")] = 1_000_000,
    rate_limit: Annotated[int, typer.Option(help="Requests per minute per key and route (0: off)")] = 1200,
    heartbeat: Annotated[float, typer.Option(help="Seconds between stream heartbeats")] = 30.0,
    ws_compression: Annotated[
        bool, typer.Option("--ws-compression", help="Compress WebSocket frames (costs CPU per client)")
    ] = False,
    metrics_key: Annotated[
        bool, typer.Option("--metrics-key", help="Put /metrics behind a viewer key")
    ] = False,
    proxy_headers: Annotated[
        bool, typer.Option("--proxy-headers", help="Trust X-Forwarded-* from a TLS-terminating proxy")
    ] = False,
    forwarded_allow_ips: Annotated[
        str, typer.Option(help="Proxies whose X-Forwarded-* are trusted")
    ] = "127.0.0.1",
    tls_certfile: Annotated[str | None, typer.Option(help="TLS certificate (PEM)")] = None,
    tls_keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM)")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    workspace: Annotated[
        str,
        typer.Option(
            help="The only folder runs started over the API may read and write (made 0700)",
            envvar="BATON_WORKSPACE",
        ),
    ] = ".baton/workspace",
    max_upload_bytes: Annotated[
        int, typer.Option(help="Largest body of POST /runs, which may carry a run's data files")
    ] = 50_000_000,
) -> None:
    """Serve the REST API, live streams, /metrics and the dashboard (http://HOST:PORT/)."""
    from baton.cli.app import console, open_store
    from baton.server import ServerSettings, bootstrap_admin_key, exposure_warning
    from baton.server import serve as run_server
    from baton.server.workspace import make_workspace

    if (tls_certfile is None) != (tls_keyfile is None):
        raise InvalidInputError("give both --tls-certfile and --tls-keyfile, or neither")
    if log_level.lower() not in _LOG_LEVELS:
        raise InvalidInputError(
            f"--log-level {log_level!r} is not one of {', '.join(_LOG_LEVELS)}",
            fields={"log_level": "unknown level"},
            hint="e.g. --log-level info",
        )
    if tls_certfile is not None and tls_keyfile is not None:
        _check_tls(tls_certfile, tls_keyfile)
    _check_listen(host, port)  # a port in use or an unknown address: one line now, not a server log
    settings = ServerSettings(
        host=host,
        port=port,
        run_worker=worker,
        workflows=_parse_workflows(workflow),
        cors_origins=cors_origin,
        max_body_bytes=max_body_bytes,
        rate_limit_per_minute=rate_limit,
        heartbeat_seconds=heartbeat,
        ws_compression=ws_compression,
        metrics_public=not metrics_key,
        trust_proxy_headers=proxy_headers,
        tls=tls_certfile is not None,
        log_level=log_level.lower(),
        workspace=workspace,
        max_upload_bytes=max_upload_bytes,
    )
    signing = _signing_keys_from_env()
    if signing:
        settings.signing_keys = signing  # type: ignore[assignment]
    make_workspace(Path(workspace))  # a folder that cannot be made is refused before anything starts
    store = open_store()
    created = bootstrap_admin_key(store)
    if created is not None:
        console.print("[bold]no API keys yet — created an admin key (shown once, store it now):[/]")
        console.print(f"  [bold green]{created.secret}[/]", highlight=False, soft_wrap=True)
    warning = exposure_warning(settings)
    if warning:
        console.print(f"[bold yellow]warning:[/] {warning}")
    scheme = "https" if settings.tls else "http"
    console.print(f"baton serving on {scheme}://{host}:{port}/ — API docs at /docs — Ctrl-C to stop")
    console.print(f"runs started over the API work in {Path(workspace).resolve()}", highlight=False)
    run_server(
        store, settings, certfile=tls_certfile, keyfile=tls_keyfile, forwarded_allow_ips=forwarded_allow_ips
    )


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Who or what uses it, e.g. ci or grafana")],
    role: Annotated[
        Role, typer.Option(help="viewer (read), operator (act on runs) or admin (keys)")
    ] = Role.VIEWER,
    expires_days: Annotated[float | None, typer.Option(help="Expire after this many days")] = None,
) -> None:
    """Create an API key and print it once."""
    from baton.cli.app import console, open_store

    now = time.time()
    expires_at = now + expires_days * 86400 if expires_days else None
    with open_store().begin() as conn:
        created = create_key_txn(conn, name=name, role=role, now=now, expires_at=expires_at)
    console.print(f"key {created.key.id} ({role.value}) created — shown once, store it now:")
    console.print(created.secret, highlight=False, soft_wrap=True)


@keys_app.command("list")
def list_keys_command(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys")] = False,
) -> None:
    """List API keys (ids, names, roles, dates; never secrets)."""
    from baton.cli.app import console, open_store

    with open_store(create=False).read() as conn:
        keys = list_keys(conn, include_revoked=all_keys, limit=10_000)
    table = Table()
    table.add_column("id", no_wrap=True)
    for column in ("name", "role", "created", "expires", "last used", "revoked"):
        table.add_column(column)
    now = time.time()
    for key in keys:
        table.add_row(
            key.id,
            key.name,
            key.role.value,
            _when(key.created_at),
            _when(key.expires_at) + (" (expired)" if key.expires_at and key.expires_at <= now else ""),
            _when(key.last_used_at),
            _when(key.revoked_at),
        )
    console.print(table)


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The key's id (see `baton keys list`)")]) -> None:
    """Revoke an API key (servers stop accepting it within seconds)."""
    from baton.cli.app import console, open_store

    with open_store(create=False).begin() as conn:
        revoke_key_txn(conn, key_id, now=time.time())
    console.print(f"key {key_id} revoked")


def register(app: typer.Typer) -> None:
    """Add `serve` and `keys` to the `baton` command."""
    app.command(name="serve")(serve)
    app.add_typer(keys_app, name="keys")
