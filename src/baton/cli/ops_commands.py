"""`baton migrate`: the schema brought to this baton's version, explicitly (containers start with it off)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from baton.core.durations import parse_duration
from baton.core.errors import InvalidInputError, SchemaBehindError, StoreError
from baton.store.database import HEAD_REVISION, check_and_migrate, create_store_engine, database_url


def migrate(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Only say whether the schema is current (exit 5 when it is not); change nothing"
        ),
    ] = False,
    wait: Annotated[
        str,
        typer.Option(
            "--wait",
            help="Keep trying this long while the database is unreachable (or, with --check, behind), "
            "e.g. 60s: for a container that starts with its database",
        ),
    ] = "0s",
) -> None:
    """Bring the database's schema to this baton's version (idempotent; safe from many processes at once).

    On PostgreSQL every migrating process takes an advisory lock first, so a fleet started at once on an
    empty database migrates it once and none fails. Servers and workers migrate on start unless
    BATON_AUTO_MIGRATE=false (the container image's default): then they refuse an old schema and this
    command (the compose `migrate` service, the Kubernetes migrate Job) is what upgrades it.
    """
    from baton.cli.app import Options, console

    try:
        patience = parse_duration(wait)
    except ValueError as error:
        raise InvalidInputError(f"--wait: {error}", fields={"wait": "a duration like 60s"}) from None
    url = database_url(Options.db)
    where = url.split("@")[-1] if "@" in url else url
    deadline = time.monotonic() + patience
    while True:
        engine = create_store_engine(url)
        try:
            before = check_and_migrate(engine, url, migrate=not check)
            break
        except (SchemaBehindError, StoreError) as error:
            if time.monotonic() >= deadline or not _worth_waiting(error):
                raise
            console.print(f"[dim]waiting: {error.message}[/]", highlight=False)
            time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
        finally:
            engine.dispose()
    if before == HEAD_REVISION:
        console.print(f"schema of {where} is current ({HEAD_REVISION})", highlight=False)
    else:
        console.print(
            f"schema of {where} migrated from {before or 'empty'} to {HEAD_REVISION}", highlight=False
        )


def _worth_waiting(error: StoreError) -> bool:
    """A database that is starting or a migration still to come may resolve by itself; a wrong one won't."""
    return type(error) in {StoreError, SchemaBehindError}


def register(app: typer.Typer) -> None:
    app.command(name="migrate")(migrate)
