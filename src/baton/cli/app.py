"""The `baton` command: parse, call the engine, render. No logic of its own."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.text import Text

from baton.cli import render
from baton.cli.probe import health_endpoint
from baton.cli.progress import watch_run
from baton.core.durations import format_duration, parse_duration
from baton.core.errors import BatonError, InvalidInputError, NotFoundError
from baton.core.states import RunState, TaskState
from baton.engine import (
    WorkerSettings,
    approve_task,
    cancel_run,
    load_workflow,
    prepare_resume,
    prune,
    reject_task,
    retry_task,
    run_to_end,
    start_run,
)
from baton.engine.reports import read_report
from baton.engine.scheduler import LOST_ATTEMPTS_LIMIT
from baton.engine.worker import Worker
from baton.llm import Gateway, load_config
from baton.store.attempts import median_step_durations, step_durations
from baton.store.database import database_url
from baton.store.events import count_by_type, query_events, summarize_durations
from baton.store.rows import RunRecord, TaskRecord
from baton.store.runs import find_run_id, get_run, list_runs, store_state_counts
from baton.store.store import Store
from baton.store.tasks import list_tasks, task_state_counts
from baton.store.transitions import find_task_txn


def _hide_flag_types() -> None:
    """Typer 0.29 prints ``<bool>`` beside every on/off flag (``--detach <bool>``), as if it took a value:
    print nothing there, as Click does. Left alone if Typer's help no longer works this way."""
    option = getattr(typer.core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if option is None or shown is None:
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    option.display_type_rich = display_type_rich


_hide_flag_types()

app = typer.Typer(
    name="baton",
    help="A durable orchestrator for crews of AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()


class Options:
    db: str | None = None
    debug: bool = False


@app.callback()
def _global(
    db: Annotated[
        str | None, typer.Option("--db", help="Store URL (default: BATON_DATABASE_URL or .baton/baton.db)")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks")] = False,
) -> None:
    Options.db = db
    Options.debug = debug


def open_store(*, create: bool = True) -> Store:
    """The store of --db / BATON_DATABASE_URL. Commands that only read or act on existing runs pass
    ``create=False``: a mistyped SQLite path is then an error, not a new empty store (and folders) that
    shows "no runs"."""
    if not create:
        _require_existing_sqlite(database_url(Options.db))
    store = Store.open(Options.db)
    days = os.environ.get("BATON_RETENTION_DAYS")
    if days:
        try:
            age = float(days) * 86400
        except ValueError:
            raise InvalidInputError(
                f"BATON_RETENTION_DAYS={days!r} is not a number of days",
                hint="set it like BATON_RETENTION_DAYS=30",
            ) from None
        prune(store, older_than_seconds=age)
    return store


def _require_existing_sqlite(url: str) -> None:
    if not url.startswith("sqlite:///"):
        return  # PostgreSQL: the server says whether the database is there
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    if str(path) in ("", ":memory:") or path.exists():
        return
    raise NotFoundError(
        f"no baton store at {path}",
        hint="check --db / BATON_DATABASE_URL and the folder you run baton in "
        "(`baton run`, `baton build` or `baton migrate` create the store)",
    )


# -- inputs ------------------------------------------------------------------------------------------


def parse_inputs(pairs: list[str], input_file: Path | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if input_file is not None:
        try:
            loaded = yaml.safe_load(input_file.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise InvalidInputError(
                f"cannot read inputs from {input_file}: {error}",
                hint="give a JSON or YAML file of NAME: VALUE",
            ) from None
        if not isinstance(loaded, dict):
            raise InvalidInputError(
                f"{input_file} holds {type(loaded).__name__}, not a mapping of inputs",
                hint="write it as NAME: VALUE lines or a JSON object",
            )
        values.update(loaded)
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise InvalidInputError(f"--input {pair!r} is not NAME=VALUE", hint="e.g. --input count=10")
        try:
            values[name] = json.loads(raw)
        except json.JSONDecodeError:
            values[name] = raw
    return values


def parse_age(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not match:
        raise InvalidInputError(f"{text!r} is not an age", hint="write it like 30d, 12h, 45m, 90s or 2w")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    return float(match.group(1)) * unit


# -- driving runs ------------------------------------------------------------------------------------


def drive(store: Store, run_id: str, *, quiet: bool, concurrency: int) -> RunState:
    """Run to the end in this process with the live view, then print the verdict and exit accordingly."""
    started = time.time()

    async def main() -> RunState:
        done = asyncio.Event()
        viewer = None if quiet else asyncio.create_task(watch_run(store, run_id, done, console))
        try:
            async with Gateway.from_config(store) as gateway:
                settings = WorkerSettings(concurrency=concurrency)
                return await run_to_end(store, run_id, settings, services={"gateway": gateway})
        finally:
            done.set()
            if viewer is not None:
                await viewer

    try:
        state = asyncio.run(main())
    except KeyboardInterrupt:  # Typer would turn it into a silent exit 130: say how to carry on
        console.print(f"interrupted — `baton resume {run_id}` continues where it stopped")
        raise typer.Exit(130) from None
    with store.read() as conn:
        run = get_run(conn, run_id)
        waiting = (
            [t.name for t in list_tasks(conn, run_id) if t.state is TaskState.WAITING]
            if state is RunState.WAITING
            else []
        )
    console.print(
        render.verdict_line(run_id, state, run.error, waiting) + f" [dim]in {time.time() - started:.2f} s[/]"
    )
    if state in (RunState.FAILED, RunState.CANCELLED):
        raise typer.Exit(1)
    return state


Summary = Callable[[Store, RunRecord], int]
SUMMARIES: dict[str, Summary] = {}
"""A shipped workflow's own end-of-run summary, by workflow reference (MODULE:NAME); it returns how many
of the run's results are left over (for `baton build --strict`). Other workflows show their report."""


def show_outcome(store: Store, run_id: str) -> int:
    """What a succeeded run produced, the same after `run`, `resume`, `rerun` and `retry`: the workflow's
    own summary when it has one, else its report (nothing when it names none). Returns the left-over count."""
    with store.read() as conn:
        record = get_run(conn, run_id)
        if record.state is not RunState.SUCCEEDED:
            return 0
        summary = SUMMARIES.get(record.workflow)
        if summary is None:
            try:
                declared = load_workflow(record.workflow).report_declaration is not None
            except BatonError:
                declared = False
            if declared:
                console.print(_report_of(conn, record, list_tasks(conn, run_id)))
            return 0
    return summary(store, record)


@app.command()
def run(
    workflow: Annotated[str, typer.Argument(help="MODULE:WORKFLOW, e.g. baton.workflows.demo:workflow")],
    input: Annotated[
        list[str], typer.Option("--input", "-i", help="NAME=VALUE (JSON or text); repeatable")
    ] = [],  # noqa: B006
    input_file: Annotated[
        Path | None, typer.Option("--input-file", help="JSON or YAML file of inputs")
    ] = None,
    detach: Annotated[
        bool, typer.Option("--detach", help="Store the run and return; a `baton worker` runs it")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress")] = False,
    concurrency: Annotated[int, typer.Option(help="Tasks run at once")] = 64,
) -> None:
    """Start a run of a workflow and follow it to the end."""
    WorkerSettings(concurrency=concurrency)  # refuse a bad value before anything is stored
    inputs = parse_inputs(input, input_file)
    flow = load_workflow(workflow)
    flow.validate()
    load_config()  # a bad BATON_CONFIG is refused now, not after the run is stored
    # The workflow's own check of its inputs against the world (@workflow.check), as POST /runs runs it.
    flow.check_inputs(flow.parse_inputs(inputs))
    store = open_store()
    run_id = start_run(store, workflow, inputs)
    console.print(f"run [bold]{run_id}[/] of {workflow} started")
    if not detach:
        drive(store, run_id, quiet=quiet, concurrency=concurrency)
        show_outcome(store, run_id)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix)")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress")] = False,
    concurrency: Annotated[int, typer.Option(help="Tasks run at once")] = 64,
) -> None:
    """Continue an interrupted or waiting run; nothing that succeeded runs again."""
    load_config()
    store = open_store(create=False)
    run_id = prepare_resume(store, run_id)
    console.print(f"resuming run [bold]{run_id}[/]")
    drive(store, run_id, quiet=quiet, concurrency=concurrency)
    show_outcome(store, run_id)


def _duration_option(name: str, default: str, help_: str) -> Any:
    return typer.Option(f"--{name}", envvar=f"BATON_WORKER_{name.upper().replace('-', '_')}", help=help_)


def _seconds(option: str, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise InvalidInputError(f"--{option}: {error}", fields={option: "a duration like 30s"}) from None


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(envvar="BATON_WORKER_CONCURRENCY", help="Tasks run at once")
    ] = 64,
    poll: Annotated[
        str, _duration_option("poll", "500ms", "How often to look for work other processes made ready")
    ] = "500ms",
    lease: Annotated[
        str,
        _duration_option(
            "lease", "30s", "A task whose worker stops renewing its lease this long is retried elsewhere"
        ),
    ] = "30s",
    heartbeat: Annotated[
        str, _duration_option("heartbeat", "10s", "How often leases are renewed (less than --lease)")
    ] = "10s",
    max_lost: Annotated[
        int,
        typer.Option(
            "--max-lost",
            envvar="BATON_WORKER_MAX_LOST",
            help="A task that loses its worker this many times (crash, kill, lease) fails for good",
        ),
    ] = LOST_ATTEMPTS_LIMIT,
    drain: Annotated[
        str,
        _duration_option(
            "drain",
            "20s",
            "On SIGTERM/SIGINT: how long running tasks may finish before they are given back "
            "(keep it under the supervisor's grace period: Kubernetes waits 30s)",
        ),
    ] = "20s",
    max_outage: Annotated[
        str,
        _duration_option(
            "max-outage", "60s", "Exit (code 5) after the database is unreachable this long, for a restart"
        ),
    ] = "60s",
    global_limit: Annotated[
        int | None,
        typer.Option(
            envvar="BATON_WORKER_GLOBAL_LIMIT", help="Most tasks running at once across every worker and run"
        ),
    ] = None,
    health_port: Annotated[
        int | None,
        typer.Option(
            envvar="BATON_WORKER_HEALTH_PORT",
            min=1,
            max=65535,
            help="Answer GET /health on this port (for container health checks and Kubernetes probes)",
        ),
    ] = None,
) -> None:
    """Serve every run of the store until stopped (scale out: one per core or machine).

    SIGTERM or Ctrl-C drains: no new claims, running tasks get --drain to finish, what still runs is
    given back for another worker at once, and the worker exits 0. A second signal stops at once (exit 130).
    """
    settings = WorkerSettings(
        concurrency=concurrency,
        poll_interval=_seconds("poll", poll),
        lease_seconds=_seconds("lease", lease),
        heartbeat_every=_seconds("heartbeat", heartbeat),
        lost_attempts_limit=max_lost,
        drain_seconds=_seconds("drain", drain),
        max_outage=_seconds("max-outage", max_outage),
        global_limit=global_limit,
    )
    store = open_store()
    console.print(f"worker serving {store.url.split('@')[-1]} — Ctrl-C or SIGTERM to drain and stop")
    code = asyncio.run(_serve(store, settings, health_port))
    if code is not None:
        # Signalled: what ran was finished or given back and the worker unregistered. Leave now, without
        # waiting for threads of blocking steps that were interrupted (they cannot be killed).
        console.print("worker stopped" if code == 0 else "worker stopped at once")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


async def _serve(store: Store, settings: WorkerSettings, health_port: int | None = None) -> int | None:
    """Run a worker until it is stopped; returns the exit code when a signal stopped it."""
    async with Gateway.from_config(store) as gateway:
        serving = Worker(store, settings=settings, services={"gateway": gateway})
        loop = asyncio.get_running_loop()
        received: list[int] = []

        def on_signal(signum: int) -> None:
            received.append(signum)
            name = signal.Signals(signum).name
            if len(received) == 1:
                console.print(
                    f"{name}: draining — no new tasks; running ones have {format_duration(settings.drain_seconds)}"
                    " to finish (signal again to stop at once)"
                )
                serving.drain()
            else:
                console.print(f"{name}: stopping at once — running tasks are given back")
                serving.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        async with health_endpoint(health_port, lambda: bool(received)):
            await serving.run()
        if not received:
            return None
        return 0 if len(received) == 1 else 130


# -- looking -----------------------------------------------------------------------------------------


@app.command()
def status(
    run_id: Annotated[str | None, typer.Argument(help="Run id; the latest run when omitted")] = None,
) -> None:
    """A run's tasks as a table, its graph as a tree (critical path marked ★) and its report."""
    store = open_store(create=False)
    with store.read() as conn:
        if run_id is None:
            latest = list_runs(conn, limit=1)
            if not latest:
                console.print("no runs yet — start one with `baton run MODULE:WORKFLOW`")
                return
            run_id = latest[0].id
        record = get_run(conn, find_run_id(conn, run_id))
        tasks = list_tasks(conn, record.id)
        report_text = _report_of(conn, record, tasks)
    console.print(render.tasks_table(record, tasks))
    console.print(render.run_tree(record, tasks))
    if record.error:
        console.print(f"[red]error:[/] {escape(record.error)}", highlight=False)
    console.print(report_text)


def _report_of(conn: Any, record: RunRecord, tasks: list[TaskRecord]) -> RenderableType:
    """The run's report as the workflow makes it, or one line on why there is none."""
    try:
        workflow = load_workflow(record.workflow)
        report = read_report(conn, workflow, tasks)
    except BatonError as error:
        return Text(f"report: none — {error}", style="yellow")
    declared = workflow.report_declaration
    if report is not None:
        return render.report_view(report)
    if declared is None:
        return Text("report: none — this workflow names no report", style="dim")
    return Text(f"report: not yet — it is made once {', '.join(declared.steps)} succeeded", style="dim")


@app.command()
def runs(
    state: Annotated[RunState | None, typer.Option(help="Only runs in this state")] = None,
    workflow: Annotated[str | None, typer.Option(help="Only runs of this workflow name")] = None,
    limit: Annotated[int, typer.Option(help="How many")] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many")] = 0,
) -> None:
    """List runs, newest first."""
    with open_store(create=False).read() as conn:
        console.print(
            render.runs_table(list_runs(conn, state=state, workflow=workflow, limit=limit, offset=offset))
        )


@app.command()
def events(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix)")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events until the run ends")
    ] = False,
    type: Annotated[list[str], typer.Option("--type", "-t", help="Event type, or prefix like task.*")] = [],  # noqa: B006
    after: Annotated[int, typer.Option(help="Only events after this id")] = 0,
    since: Annotated[str | None, typer.Option(help="Only events of the last AGE, like 10m or 2h")] = None,
    task: Annotated[str | None, typer.Option(help="Only the events of this task")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """The events of a run, in order."""
    store = open_store(create=False)
    start = time.time() - parse_age(since) if since else None
    with store.read() as conn:
        run_id = find_run_id(conn, run_id)
        task_id = find_task_txn(conn, run_id, task)[0] if task else None
    page = 1000
    while True:
        with store.read() as conn:
            state = get_run(conn, run_id).state  # read first: a run that ended has all its events by now
            batch = query_events(
                conn, run_id=run_id, task_id=task_id, types=type, after=after, since=start, limit=page
            )
        for event in batch:
            if as_json:  # one object per line, never wrapped at the terminal's width
                sys.stdout.write(json.dumps(event.as_dict()) + "\n")
            else:
                console.print(render.event_line(event), highlight=False)
        if as_json:
            sys.stdout.flush()
        after = batch[-1].id if batch else after
        if len(batch) == page:
            continue  # a full page: there may be more right now
        if not follow or state in (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED):
            return
        time.sleep(0.3)


@app.command()
def stats(run_id: Annotated[str | None, typer.Argument(help="Run id; all runs when omitted")] = None) -> None:
    """Counts by state and event type, durations by step (min / median / p95 / max)."""
    with open_store(create=False).read() as conn:
        full = find_run_id(conn, run_id) if run_id else None
        if full:
            counts = task_state_counts(conn, full)
        else:  # every run's tasks
            counts = {TaskState(state): n for state, n in store_state_counts(conn)[1].items()}
        tables = render.stats_tables(
            counts, count_by_type(conn, full), summarize_durations(step_durations(conn, run_id=full))
        )
    for table in tables:
        console.print(table)


@app.command()
def graph(workflow: Annotated[str, typer.Argument(help="MODULE:WORKFLOW")]) -> None:
    """Check a workflow and show its graph with the critical path (by observed, else declared, durations)."""
    flow = load_workflow(workflow)
    flow.validate()
    observed: dict[str, float] = {}
    try:
        with Store.open(Options.db).read() as conn:
            observed = median_step_durations(conn, flow.name)
    except BatonError:
        pass  # no store yet: declared durations only
    path, total = flow.critical_path(observed)
    notes = {
        name: ("map over " + s.map_over if s.map_over else "") + (" · needs approval" if s.approval else "")
        for name, s in flow.steps.items()
    }
    console.print(
        render.dag_tree(
            f"[bold]{flow.name}[/] — {len(flow.steps)} steps",
            flow.dependencies(),
            {},
            path,
            {k: v for k, v in notes.items() if v},
        )
    )
    console.print(f"critical path: {' → '.join(path)} ({total:.2f} units)")


# -- acting ------------------------------------------------------------------------------------------


@app.command()
def cancel(run_id: Annotated[str, typer.Argument(help="Run id")]) -> None:
    """Cancel a run; its running tasks are stopped by their worker."""
    cancel_run(open_store(create=False), run_id)
    console.print(f"run {run_id} cancelled")


@app.command()
def retry(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    task: Annotated[str, typer.Argument(help="Task name")],
    now: Annotated[bool, typer.Option("--resume/--no-resume", help="Resume the run right away")] = True,
) -> None:
    """Give a failed task a new attempt and reopen its run."""
    store = open_store(create=False)
    retry_task(store, run_id, task)
    console.print(f"task {task} of run {run_id} will be retried")
    if now:
        full = prepare_resume(store, run_id)
        drive(store, full, quiet=False, concurrency=64)
        show_outcome(store, full)


@app.command()
def approve(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    task: Annotated[str, typer.Argument(help="Task name")],
    comment: Annotated[str, typer.Option(help="Why")] = "",
) -> None:
    """Approve a waiting task."""
    approve_task(open_store(create=False), run_id, task, by=os.environ.get("USER", ""), comment=comment)
    console.print(
        f"task {task} approved — `baton resume {run_id}` continues the run (a worker does it by itself)"
    )


@app.command()
def reject(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    task: Annotated[str, typer.Argument(help="Task name")],
    reason: Annotated[str, typer.Option(help="Why")] = "",
) -> None:
    """Reject a waiting task: it fails, its dependents are skipped, the run fails and rolls back."""
    reject_task(open_store(create=False), run_id, task, by=os.environ.get("USER", ""), reason=reason)
    console.print(f"task {task} rejected — `baton resume {run_id}` settles the run")


@app.command(name="prune")
def prune_command(
    older_than: Annotated[str, typer.Option("--older-than", help="Age like 30d, 12h")] = "30d",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count")] = False,
) -> None:
    """Remove finished runs older than an age, with their tasks, checkpoints and events."""
    counts = prune(open_store(create=False), older_than_seconds=parse_age(older_than), dry_run=dry_run)
    console.print(
        ("would remove " if dry_run else "removed ") + ", ".join(f"{v} {k}" for k, v in counts.items())
    )
