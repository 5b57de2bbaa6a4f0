"""The command line: Typer commands that parse, call and render. One handler maps errors to messages."""

from __future__ import annotations

import sys

from rich.markup import escape

from baton.cli import (
    ops_commands,
    release_commands,  # noqa: F401  (registers release status|stop|start)
    shipped,  # noqa: F401  (registers build, season, costs, rerun)
)
from baton.cli.app import Options, app, console
from baton.cli.server_commands import register
from baton.core.errors import BatonError
from baton.store.database import UnexpectedDatabaseError

__all__ = ["app", "main"]

register(app)  # serve, keys
ops_commands.register(app)  # migrate


def main(argv: list[str] | None = None) -> int:
    """Entry point of `baton`: one line per error with what to do, and the right exit code.

    Typer handles usage errors itself (exit 2) and ends with SystemExit; baton's own errors come out
    of it and are rendered here.
    """
    try:
        app(args=argv)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 0
        if code == 130 and isinstance(done.__context__, KeyboardInterrupt):  # Typer's silent Ctrl-C
            console.print("interrupted")
        return code
    except BatonError as error:
        if Options.debug:
            raise
        # Messages quote paths, TOML tables and values verbatim: `[llm.providers.x]` is no markup.
        console.print(f"[bold red]error:[/] {escape(error.message)}", highlight=False)
        if error.hint:
            console.print(f"  [dim]→ {escape(error.hint)}[/]", highlight=False)
        return error.exit_code
    except UnexpectedDatabaseError as error:
        if Options.debug:
            raise
        first = escape(str(error).splitlines()[0])
        console.print(f"[bold red]error:[/] unexpected database error: {first}", highlight=False)
        console.print("  [dim]→ run again with --debug for the details[/]")
        return 5
    except KeyboardInterrupt:
        console.print("interrupted — `baton resume RUN_ID` continues where it stopped")
        return 130
    except Exception as error:  # a defect of baton's, or an OS error no command foresaw: one line too
        if Options.debug:
            raise
        lines = str(error).splitlines() or [""]
        console.print(
            f"[bold red]error:[/] unexpected {type(error).__name__}: {escape(lines[0])}", highlight=False
        )
        console.print("  [dim]→ run again with --debug for the traceback, and report it if it is baton's[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
