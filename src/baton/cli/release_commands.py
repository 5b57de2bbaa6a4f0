"""`baton release status|stop|start DIR`: the local release a build left running."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from baton.cli.app import app, console

release_app = typer.Typer(
    help="The local release a build left running: status, stop, start.", no_args_is_help=True
)
app.add_typer(release_app, name="release")

DirArgument = Annotated[
    Path, typer.Argument(help="The built repository (the --out of `baton build`); default: this folder")
]


def _describe(directory: Path) -> bool:
    from baton.workflows.builder.releases import release_state

    state = release_state(directory)
    if state.running:
        console.print(
            f"release {state.release} of {escape(str(state.repo))} is [green]running[/] at {state.url} "
            f"(pid {state.pid}) — stop it with `baton release stop {escape(str(directory))}`"
        )
    else:
        where = f"release {state.release}" if state.release else "no release"
        console.print(
            f"{where} of {escape(str(state.repo))} is [yellow]not running[/]: {escape(state.detail)}"
        )
    for name, pid in state.others:
        console.print(
            f"  [yellow]release {name} is running too[/] (pid {pid}, not current): `baton release stop` stops it"
        )
    return state.running


@release_app.command("status")
def release_status(directory: DirArgument = Path(".")) -> None:
    """Whether the build's current release runs, at which address and pid (exit 3 when not, as LSB status does)."""
    if not _describe(directory):
        raise typer.Exit(3)


@release_app.command("stop")
def release_stop(directory: DirArgument = Path(".")) -> None:
    """Stop the build's release (and any other release of it still running); its data is kept."""
    from baton.workflows.builder.releases import stop_releases

    stopped = stop_releases(directory)
    for name, pid in stopped:
        console.print(f"stopped release {name} (pid {pid})")
    if not stopped:
        console.print("nothing to stop: no release of it is running")
        _describe(directory)


@release_app.command("start")
def release_start(
    directory: DirArgument = Path("."),
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on (default: its last one when free, else any)"),
    ] = None,
) -> None:
    """Start the build's current release again, and smoke-test it (a running one is left as it is)."""
    from baton.workflows.builder.releases import release_state, start_release

    was_running = release_state(directory).running
    state = start_release(directory, port=port)
    verb = "is already running" if was_running else "started"
    console.print(
        f"release {state.release} {verb} at {state.url} (pid {state.pid}) — "
        f"stop it with `baton release stop {escape(str(directory))}`"
    )
