"""The commands of the shipped workflows (`baton build`, `baton season`) and of the model gateway
(`baton costs`, `baton rerun`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.markup import escape
from rich.table import Table

from baton.cli.app import SUMMARIES, app, console, drive, open_store, show_outcome
from baton.core.errors import BatonError, InvalidInputError
from baton.core.states import RunState
from baton.engine import start_run
from baton.llm import cost_report, load_config
from baton.store.attempts import step_durations
from baton.store.rows import RunRecord
from baton.store.runs import find_run_id, get_run, run_outputs
from baton.store.store import Store

BUILD = "baton.workflows.builder:workflow"
SEASON = "baton.workflows.season:workflow"
STAGE_STEPS = ("architecture", "repository", "code", "gate", "infrastructure", "deploy", "docs")


def _check_build_choices(**given: str | None) -> None:
    """--stack, --env and --target name one of their choices (checked before anything is stored)."""
    from baton.workflows.builder.results import DeployTarget
    from baton.workflows.builder.spec import Environment, Stack

    allowed_by_option: dict[str, type[StrEnum]] = {"stack": Stack, "env": Environment, "target": DeployTarget}
    for option, value in given.items():
        choices = [str(choice) for choice in allowed_by_option[option]]
        if value is not None and value not in choices:
            raise InvalidInputError(
                f"--{option} {value!r} is not one of {', '.join(choices)}",
                fields={option: "unknown choice"},
                hint=f"e.g. --{option} {choices[0]}",
            )


@app.command()
def build(
    idea: Annotated[str, typer.Argument(help="The service in plain words")] = "",
    out: Annotated[
        Path | None,
        typer.Option(help="Directory of the generated repository (default: ./<the spec's name>)"),
    ] = None,
    stack: Annotated[str | None, typer.Option(help="fastapi | flask | functions")] = None,
    env: Annotated[
        str | None, typer.Option(help="dev | staging | prod (prod waits for `baton approve`)")
    ] = None,
    spec: Annotated[Path | None, typer.Option(help="A spec.yaml to build instead of an idea")] = None,
    force: Annotated[bool, typer.Option(help="Rebuild into an existing directory")] = False,
    notify: Annotated[
        str | None, typer.Option(help="Webhook URL (Slack/Teams-compatible) told of the result")
    ] = None,
    github: Annotated[str | None, typer.Option(help="Create the GitHub repository under this owner")] = None,
    target: Annotated[str, typer.Option(help="local | azure")] = "local",
    strict: Annotated[
        bool, typer.Option(help="Exit 1 unless every requirement of the idea or spec is honoured")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress")] = False,
    budget: Annotated[
        float | None,
        typer.Option(help="Most US dollars the build's model calls may spend (default: baton.toml's)"),
    ] = None,
    max_turns: Annotated[int, typer.Option(help="Most model turns of the coder (with a model)")] = 40,
    max_tokens: Annotated[
        int, typer.Option(help="Most tokens, in and out, of the coder's model calls (with a model)")
    ] = 400_000,
    rounds: Annotated[int, typer.Option(help="Debugger rounds when the crew's checks fail")] = 3,
) -> None:
    """Turn an idea into a tested, locally deployed service with its infrastructure, CI and docs.

    Every requirement of the idea ends honoured (its checks passed against the running service),
    not implemented (with the reason) or failed; the summary lists them, and --strict makes any
    requirement left over a failure. With a model configured (BATON_CONFIG), the crew designs the
    spec and writes, tests and fixes what the templates cannot, within --budget, --max-turns,
    --max-tokens and --rounds.
    """
    from pydantic import ValidationError

    from baton.workflows.builder import check_output_dir, load_spec
    from baton.workflows.builder.architecture import RulesRefusedError, idea_slug, rules_spec
    from baton.workflows.builder.crew.models import CrewSettings

    _check_build_choices(stack=stack, env=env, target=target)

    if not idea.strip() and spec is None:
        raise InvalidInputError(
            "give an idea in plain words or a spec file", hint='baton build "A REST API for …"'
        )
    # Fail on a meaningless idea or a bad spec before anything is stored.
    try:
        crew = CrewSettings(max_turns=max_turns, max_tokens=max_tokens, rounds=rounds)
    except ValidationError as error:  # --max-turns, --max-tokens or --rounds out of range
        problems = "; ".join(f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in error.errors())
        raise InvalidInputError(
            problems, hint="--max-turns 1..500, --max-tokens ≥ 1000, --rounds 1..10"
        ) from None
    options: dict[str, Any] = {"crew": crew.model_dump()}
    if budget is not None:
        if budget <= 0:
            raise InvalidInputError(f"--budget must be positive, not {budget}", hint="e.g. --budget 0.50")
        options["budget_usd"] = budget
    with_model = load_config().enabled  # a bad BATON_CONFIG is refused now, not after the run is stored
    try:
        parsed = load_spec(spec) if spec is not None else rules_spec(idea)
    except RulesRefusedError as refusal:
        if not with_model:
            raise
        # With a model, the rules' refusal is not the last word: the run's architect is asked.
        console.print(
            f"[dim]the rules could not read the idea ({refusal.message}); the model's architect is asked[/]"
        )
        parsed = None
    name = parsed.name if parsed is not None else idea_slug(idea)
    directory = (out or Path(name.replace("_", "-"))).expanduser().resolve()
    check_output_dir(directory, force=force)
    inputs: dict[str, Any] = {
        "idea": idea,
        "spec_path": str(spec.resolve()) if spec else None,
        "out": str(directory),
        "stack": stack,
        "env": env,
        "force": force,
        "notify": notify,
        "github_owner": github,
        "target": target,
    }
    store = open_store()
    run_id = start_run(store, BUILD, {k: v for k, v in inputs.items() if v is not None}, options=options)
    console.print(f"build [bold]{run_id}[/] of {name!r} → {directory}")
    try:
        state = drive(store, run_id, quiet=quiet, concurrency=8)
    except typer.Exit:
        if (directory / "BUILD.md").is_file():  # a build that failed before its repository existed wrote none
            console.print(f"  the build report is in {directory / 'BUILD.md'}")
        else:
            console.print(f"  nothing was written to {directory}")
        raise
    if state is RunState.SUCCEEDED:
        left_over = show_outcome(store, run_id)
        if strict and left_over:
            console.print(f"[red]--strict: {left_over} requirement(s) not honoured[/]")
            raise typer.Exit(1)


def _requirement_rows(docs: dict[str, Any]) -> tuple[str, list[str], int]:
    """The summary line (`6/8 honoured`), one line per requirement left over, and how many those are."""
    requirements = docs.get("requirements", [])
    honoured = [r for r in requirements if r["status"] == "honoured"]
    others = [r for r in requirements if r["status"] != "honoured"]
    words = {"not_implemented": "not implemented", "failed": "FAILED", "pending": "not checked"}
    line = f"{len(honoured)}/{len(requirements)} honoured"
    counts = {w: sum(1 for r in others if r["status"] == k) for k, w in words.items()}
    extra = ", ".join(f"{n} {w}" for w, n in counts.items() if n)
    lines = [
        f"{r['id']} {words.get(r['status'], r['status'])}: {r['text']} — {r.get('reason') or ''}"
        for r in others
    ]
    return (f"{line}, {extra}" if extra else line), lines, len(others)


def _crew_line(code: dict[str, Any]) -> str:
    """How the code stage's time divides between the templates and the crew (when the crew ran)."""
    crew = code.get("crew_s")
    if not isinstance(crew, int | float) or not crew:
        return ""
    return (
        f"code: templates {code.get('template_s') or 0:.1f} s, crew (coder, debugger, reviewer) {crew:.1f} s"
    )


def _release_line(repo: str) -> str:
    """Whether the build's release runs now (pid checked), and how to stop and start it."""
    from baton.workflows.builder.releases import release_state

    folder = escape(repo)
    try:
        state = release_state(Path(repo))
    except BatonError as error:
        return f"[yellow]release: {escape(error.message)}[/]"
    if not state.running:
        return f"[yellow]not running: {escape(state.detail)}[/] — start it: baton release start {folder}"
    return f"running (pid {state.pid}) — stop it: baton release stop {folder} · again: baton release start {folder}"


def build_summary(store: Store, record: RunRecord) -> int:
    """The build's summary (after `baton build`, and `resume`, `rerun` or `retry` of one): returns how many
    requirements are left over."""
    with store.read() as conn:
        outputs = run_outputs(conn, record.id)
        # each stage's own wall time: its succeeded attempt, the crew's and the architect's model work included
        times = {step: max(values) for step, values in step_durations(conn, run_id=record.id).items()}
    return _build_summary(outputs, times, record.duration)


def _build_summary(outputs: dict[str, Any], times: dict[str, float], elapsed: float | None) -> int:
    table = Table(title="build", show_header=False, title_justify="left")
    architecture, gate, infra = outputs["architecture"], outputs["gate"], outputs["infrastructure"]
    deploy, docs = outputs["deploy"], outputs["docs"]
    table.add_row("repository", str(outputs["repository"]["path"]))
    entities = len(architecture["spec"].get("entities", []))
    kept = f"{entities} entities" if entities else "no entities (its endpoints are its requirements')"
    table.add_row("stack", f"{architecture['spec'].get('stack')} · {kept}")
    line, left_over, count = _requirement_rows(docs)
    table.add_row("requirements", line)
    for row in left_over:
        table.add_row("", row)
    table.add_row("tests", f"{gate['tests_passed']} passed, coverage {gate['coverage']:.1f}%")
    table.add_row("service", escape(str(deploy.get("url") or deploy.get("plan_file") or deploy.get("note"))))
    if deploy.get("url"):
        table.add_row("", _release_line(str(outputs["repository"]["path"])))
    if deploy.get("url") and deploy.get("note"):
        table.add_row("", escape(str(deploy["note"])))
    scanned = ", ".join(f"{n} {k}" for k, n in infra.get("resources", {}).items())
    table.add_row(
        "infrastructure",
        f"checkov: {len(infra.get('files', []))} files parsed ({scanned} resources), "
        f"{infra.get('parse_error_count', 0)} parse errors; "
        f"{infra['passed_checks']} checks passed, {infra['failed_checks']} findings",
    )
    costs = ", ".join(f"{env} ${cost:,.0f}" for env, cost in docs.get("monthly_costs", {}).items())
    table.add_row("monthly cost", costs or "-")
    # Timings are facts of this execution: here and in the run's outputs, never in the committed files.
    table.add_row(
        "stage times", ", ".join(f"{step} {times[step]:.1f} s" for step in STAGE_STEPS if step in times)
    )
    crew = _crew_line(outputs.get("code") or {})
    if crew:
        table.add_row("", crew)
    notify = outputs.get("notify") or {}
    if notify.get("url"):  # asked for: say whether it went, never only in the run's checkpoint
        sent = notify.get("sent")
        table.add_row(
            "notify",
            f"sent to {notify['url']} (HTTP {notify.get('status')})"
            if sent
            else f"[red]NOT sent[/] to {escape(str(notify['url']))}: {escape(str(notify.get('error') or 'no answer'))}",
        )
    if elapsed is not None:
        table.add_row("run time", f"{elapsed:.1f} s from the run's start to its end")
    console.print(table)
    return count


SUMMARIES[BUILD] = build_summary


def season_summary(store: Store, record: RunRecord) -> int:
    """Where the season's plan was written (after `baton season plan`, and `resume` or `rerun` of one)."""
    with store.read() as conn:
        report = run_outputs(conn, record.id).get("report") or {}
    console.print(f"plan: {report.get('plan')}")
    return 0


SUMMARIES[SEASON] = season_summary

season_app = typer.Typer(
    help="Retail season planning: forecast, allocation and markdowns.", no_args_is_help=True
)
app.add_typer(season_app, name="season")


def _need_season_stack() -> None:
    """`baton season` needs the optional forecasting stack: say which image or extra has it."""
    import importlib.util

    missing = [
        name
        for name in ("numpy", "pandas", "statsforecast", "matplotlib")
        if not importlib.util.find_spec(name)
    ]
    if missing:
        raise InvalidInputError(
            f"`baton season` needs the forecasting stack, and this installation lacks {', '.join(missing)}",
            hint="pip install 'baton[season]', or use the image baton:VERSION-full (the default image leaves it out)",
        )


@season_app.command("plan")
def season_plan(
    request: Annotated[
        str, typer.Argument(help='The season in plain words, e.g. "12 weeks from March 2nd 2026, …"')
    ],
    data: Annotated[Path, typer.Option(help="Folder with historical_sales.csv and stores.csv")],
    out: Annotated[Path, typer.Option(help="Folder the plan is written to")] = Path("season-plan"),
    actuals: Annotated[
        Path | None, typer.Option(help="Actual sales to date (CSV), to re-plan mid-season")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress")] = False,
) -> None:
    """Plan a season: parameters from your words, demand forecast, store allocation and markdowns."""
    _need_season_stack()
    from baton.workflows.season import workflow as season
    from baton.workflows.season.inputs import SeasonInputs, check_season_files, read_season_request

    config = load_config()  # a bad BATON_CONFIG is refused now, not after the run is stored
    # Bad input — the request, the files, --out — is refused before a run is stored, every problem listed.
    if not data.is_dir():
        raise InvalidInputError(
            f"--data {data} is {'a file' if data.exists() else 'not there'}: give the folder that holds "
            "historical_sales.csv and stores.csv",
            fields={"data": "not a folder"},
            hint="`baton season sample-data DIR` writes an example of each",
        )
    if actuals is not None and not actuals.is_file():
        raise InvalidInputError(
            f"--actuals {actuals} is not a file", fields={"actuals": "not a file"}, hint="give a CSV file"
        )
    raw: dict[str, Any] = {"request": request, "data": str(data), "out": str(out)}
    if actuals is not None:
        raw["actuals"] = str(actuals)
    parsed = cast(SeasonInputs, season.parse_inputs(raw))
    # the workflow's own input check, in its two halves (POST /runs runs the same): read as the run's
    # parameters step reads it, so what is shown here is what is planned
    parameters = read_season_request(parsed, model=config.enabled)
    if parameters is not None:  # the readings first: a refusal of the files may follow from one of them
        strategy = str(parameters.replenishment_strategy)
        replenishment = "no replenishment" if strategy == "none" else f"{strategy} replenishment"
        console.print(
            f"season: {parameters.forecast_horizon_weeks} weeks, {parameters.season_start_date} → "
            f"{parameters.last_day} (last day included), {replenishment}, "
            f"{parameters.dc_holdback_percentage:.0%} at the DC"
        )
        for line in parameters.readings:
            console.print(f"  [dim]{escape(line)}[/]")
    check_season_files(parsed, parameters)
    store = open_store()
    run_id = start_run(store, SEASON, raw)
    if parameters is None:
        console.print(f"season [bold]{run_id}[/]: the model is asked for what the rules could not read")
    else:
        console.print(f"season [bold]{run_id}[/] stored")
    drive(store, run_id, quiet=quiet, concurrency=8)
    show_outcome(store, run_id)


@season_app.command("sample-data")
def season_sample_data(
    directory: Annotated[
        Path, typer.Argument(help="Folder to write historical_sales.csv and stores.csv into")
    ],
    stores: Annotated[int, typer.Option(help="How many stores")] = 50,
    weeks: Annotated[int, typer.Option(help="Weeks of history")] = 104,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 7,
    last_week: Annotated[
        str | None, typer.Option(help="Last week of history, YYYY-MM-DD (default 2026-02-23)")
    ] = None,
) -> None:
    """Write a realistic, reproducible sample of sales history and stores, with the retail calendar's peaks."""
    _need_season_stack()
    from datetime import date

    from baton.workflows.season import write_sample_data
    from baton.workflows.season.sample_data import DEFAULT_LAST_WEEK

    try:
        last = DEFAULT_LAST_WEEK if last_week is None else date.fromisoformat(last_week)
    except ValueError:
        raise InvalidInputError(
            f"--last-week {last_week!r} is not a date", hint="write it as YYYY-MM-DD, e.g. 2026-09-21"
        ) from None
    sales, store_file = write_sample_data(directory, stores=stores, weeks=weeks, seed=seed, last_week=last)
    console.print(f"wrote {sales} and {store_file}")


@app.command()
def costs(
    run_id: Annotated[str | None, typer.Argument(help="Run id; every run when omitted")] = None,
) -> None:
    """Model costs by run, step, agent and model, and what routing and caching saved."""
    store = open_store(create=False)
    if run_id is not None:
        with store.read() as conn:
            run_id = find_run_id(conn, run_id)
    report = cost_report(store, run_id).as_dict()
    for section in ("by_run", "by_step", "by_agent", "by_model"):
        rows = report.get(section) or []
        if not rows:
            continue
        table = Table(title=section.replace("_", " "), title_justify="left")
        columns = list(rows[0].keys())
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(f"{row[c]:.6f}" if isinstance(row[c], float) else str(row[c]) for c in columns))
        console.print(table)
    total = report.get("total", {})
    console.print(
        f"total: {total.get('calls', 0)} calls, ${total.get('cost_usd', 0.0):.6f}; "
        f"saved ${report.get('savings_usd', 0.0):.6f} against sending everything to "
        f"{', '.join(report.get('baseline_models') or ['the most expensive model'])} "
        f"(routing ${report.get('routing_savings_usd', 0.0):.6f}, "
        f"caching ${report.get('caching_savings_usd', 0.0):.6f})"
    )


@app.command()
def rerun(
    run_id: Annotated[str, typer.Argument(help="The run to execute again, with its inputs")],
    replay: Annotated[
        bool, typer.Option("--replay", help="Answer every model call from the run's record")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress")] = False,
) -> None:
    """Run a run's workflow again with the same inputs; with --replay, for free and repeatably."""
    load_config()  # a bad BATON_CONFIG is refused before the new run is stored
    store = open_store(create=False)
    with store.read() as conn:
        source = get_run(conn, find_run_id(conn, run_id))
    out = source.inputs.get("out")
    if source.workflow == BUILD and isinstance(out, str) and not source.inputs.get("force"):
        from baton.workflows.builder import check_output_dir

        try:  # refused now, not by the new run's first step (and rerun has no --force or --out)
            check_output_dir(Path(out), force=False)
        except InvalidInputError as error:
            raise InvalidInputError(
                error.message,
                fields=error.fields,
                hint=f"a rerun builds where its source did: move or remove {out} first",
            ) from None
    # The source's options (budget, crew limits) hold again; a replay answers from its record and keeps
    # the source's clock, so what it stamps (a commit's date) is the same; a plain rerun is a new run.
    options = {k: v for k, v in source.options.items() if k not in ("replay_of", "clock")}
    if replay:
        options["replay_of"] = source.id
        options["clock"] = source.clock
    new_id = start_run(store, source.workflow, source.inputs, options=options)
    console.print(
        f"run [bold]{new_id}[/] reruns {source.id}" + (" replaying its model calls" if replay else "")
    )
    drive(store, new_id, quiet=quiet, concurrency=64)
    show_outcome(store, new_id)
