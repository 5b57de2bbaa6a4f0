"""The command line: Typer commands that parse, call and render. One handler maps errors to messages."""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from baton.cli import shipped  # noqa: F401  (registers build, season, costs, rerun)
from baton.cli.app import Options, app, console
from baton.core.errors import BatonError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of `baton`: one line per error with what to do, and the right exit code."""
    try:
        result = app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort:
        console.print("interrupted")
        return 130
    except click.ClickException as error:
        error.show()
        return int(error.exit_code)
    except BatonError as error:
        if Options.debug:
            raise
        console.print(f"[bold red]error:[/] {error.message}", highlight=False)
        if error.hint:
            console.print(f"  [dim]→ {error.hint}[/]", highlight=False)
        return error.exit_code
    except SQLAlchemyError as error:
        if Options.debug:
            raise
        console.print(f"[bold red]error:[/] unexpected database error: {str(error).splitlines()[0]}")
        console.print("  [dim]→ run again with --debug for the details[/]")
        return 5
    except KeyboardInterrupt:
        console.print("interrupted — `baton resume RUN_ID` continues where it stopped")
        return 130
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
