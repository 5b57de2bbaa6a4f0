"""Rendering runs, tasks, graphs and statistics for the terminal (Rich). No logic beyond presentation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from baton.core.events import EventType
from baton.core.report import RowOutcome, RunReport, Verdict
from baton.core.states import RunState, TaskKind, TaskState
from baton.store.events import DurationStats, Event
from baton.store.rows import RunRecord, TaskRecord

STATE_STYLE: Mapping[str, str] = {
    "pending": "dim",
    "ready": "cyan",
    "running": "bold blue",
    "retrying": "yellow",
    "waiting": "bold magenta",
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "red",
    "skipped": "dim yellow",
    "rolled_back": "magenta",
}


def styled(state: str) -> str:
    return f"[{STATE_STYLE.get(state, 'white')}]{state}[/]"


def when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def runs_table(runs: Sequence[RunRecord]) -> Table:
    table = Table(title="runs", title_justify="left")
    for column in ("run", "workflow", "state", "created", "duration", "error"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            run.id,
            run.workflow_name,
            styled(run.state),
            when(run.created_at),
            seconds(run.duration),
            escape((run.error or "")[:60]),
        )
    return table


def tasks_table(run: RunRecord, tasks: Sequence[TaskRecord]) -> Table:
    table = Table(title=f"run {run.id} · {run.workflow_name} · {styled(run.state)}", title_justify="left")
    for column in ("task", "state", "attempts", "duration", "error"):
        table.add_column(column)
    items: dict[int, list[TaskRecord]] = {}
    for task in tasks:
        if task.kind is TaskKind.ITEM and task.parent_id is not None:
            items.setdefault(task.parent_id, []).append(task)
    for task in tasks:
        if task.kind is TaskKind.ITEM:
            continue
        name = ("★ " if task.critical else "  ") + task.name
        duration = (task.finished_at - task.started_at) if task.finished_at and task.started_at else None
        state = styled(task.state)
        if task.kind is TaskKind.MAP:
            children = items.get(task.id, [])
            name += f" ×{len(children)}"
            state += "  " + item_summary(children)
        table.add_row(name, state, str(task.attempts), seconds(duration), escape((task.error or "")[:70]))
    return table


def item_summary(items: Sequence[TaskRecord]) -> str:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.state] = counts.get(item.state, 0) + 1
    return ", ".join(f"{n} {styled(state)}" for state, n in sorted(counts.items()))


def dag_tree(
    title: str,
    dependencies: Mapping[str, Sequence[str]],
    states: Mapping[str, str],
    critical: Sequence[str],
    notes: Mapping[str, str] | None = None,
) -> Tree:
    """The graph as a tree: each step under its first dependency, its other dependencies named."""
    notes = notes or {}
    tree = Tree(title)
    dependents: dict[str, list[str]] = {name: [] for name in dependencies}
    for name, deps in dependencies.items():
        if deps:
            dependents[deps[0]].append(name)
    on_path = set(critical)

    def label(name: str) -> str:
        star = "[bold yellow]★[/] " if name in on_path else ""
        state = f" {styled(states[name])}" if name in states else ""
        others = list(dependencies[name][1:])
        after = f" [dim](also after {', '.join(others)})[/]" if others else ""
        note = f" [dim]{notes[name]}[/]" if name in notes else ""
        return f"{star}{name}{state}{note}{after}"

    def add(parent: Tree, name: str) -> None:
        branch = parent.add(label(name))
        for child in dependents[name]:
            add(branch, child)

    for name, deps in dependencies.items():
        if not deps:
            add(tree, name)
    return tree


def run_tree(run: RunRecord, tasks: Sequence[TaskRecord]) -> Tree:
    steps = [t for t in tasks if t.kind is not TaskKind.ITEM]
    items: dict[int, list[TaskRecord]] = {}
    for task in tasks:
        if task.kind is TaskKind.ITEM and task.parent_id is not None:
            items.setdefault(task.parent_id, []).append(task)
    notes = {
        t.name: f"×{len(items.get(t.id, []))}: " + item_summary(items.get(t.id, []))
        for t in steps
        if t.kind is TaskKind.MAP
    }
    return dag_tree(
        f"[bold]{run.workflow_name}[/] · critical path: {' → '.join(run.critical_path)}",
        {t.name: t.dependencies for t in steps},
        {t.name: t.state for t in steps},
        run.critical_path,
        notes,
    )


def event_line(event: Event) -> str:
    data = dict(event.data)
    task = data.pop("task", None)
    head = f"{event.id:>7} {when(event.ts)} {event.type:<22} {escape(task or ''):<20}"
    if event.type == EventType.TASK_STATE:
        return f"{head} {data.get('from')} → {styled(str(data.get('to')))}"
    return head + " " + escape(" ".join(f"{k}={v}" for k, v in data.items()))


def stats_tables(
    state_counts: Mapping[TaskState, int], type_counts: Mapping[str, int], durations: Sequence[DurationStats]
) -> list[Table]:
    states = Table(title="tasks by state", title_justify="left")
    states.add_column("state")
    states.add_column("count", justify="right")
    for state, count in sorted(state_counts.items()):
        states.add_row(styled(state), str(count))
    types = Table(title="events by type", title_justify="left")
    types.add_column("type")
    types.add_column("count", justify="right")
    for name, count in sorted(type_counts.items()):
        types.add_row(name, str(count))
    steps = Table(title="durations by step", title_justify="left")
    for column in ("step", "n", "min", "median", "p95", "max"):
        steps.add_column(column, justify="right" if column != "step" else "left")
    for d in durations:
        steps.add_row(d.step, str(d.count), seconds(d.min), seconds(d.median), seconds(d.p95), seconds(d.max))
    return [states, types, steps]


OUTCOME_STYLE: Mapping[RowOutcome, str] = {
    RowOutcome.MET: "green",
    RowOutcome.FAILED: "bold red",
    RowOutcome.NOT_IMPLEMENTED: "bold yellow",
    RowOutcome.UNCHECKED: "yellow",
    RowOutcome.INFO: "white",
}
OUTCOME_MARK: Mapping[RowOutcome, str] = {
    RowOutcome.MET: "✔",
    RowOutcome.FAILED: "✘",
    RowOutcome.NOT_IMPLEMENTED: "⊘",
    RowOutcome.UNCHECKED: "?",
    RowOutcome.INFO: "·",
}
VERDICT_WORDS: Mapping[Verdict, str] = {
    Verdict.ALL_MET: "[green]all met[/]",
    Verdict.INCOMPLETE: "[yellow]incomplete[/]",
    Verdict.FAILED: "[bold red]failed[/]",
    Verdict.NOTHING_CHECKED: "[dim]nothing checked[/]",
}


def report_view(report: RunReport) -> Group:
    """The run's report: title, headline and verdict, facts, the table (rows left out or failed stand
    out, with their reason) and the notes. Every text is escaped: it may quote the user's words."""
    counts = ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in report.counts.items() if n)
    head = Table.grid(padding=(0, 2))
    head.add_row("[bold]report[/]", f"[bold]{escape(report.title)}[/]")
    head.add_row("", escape(report.headline))
    head.add_row("verdict", f"{VERDICT_WORDS[report.verdict]}" + (f" [dim]({counts})[/]" if counts else ""))
    for name, value in report.facts.items():
        head.add_row(escape(name), escape(value))
    parts: list[Table | str] = [head]
    if report.rows:
        table = Table(show_lines=False, title_justify="left")
        for column in ("", "id", report.subject_label, "status", *report.columns, "reason"):
            table.add_column(escape(column), overflow="fold")
        for row in report.rows:
            style = OUTCOME_STYLE[row.outcome]
            table.add_row(
                f"[{style}]{OUTCOME_MARK[row.outcome]}[/]",
                escape(row.id),
                escape(row.subject),
                f"[{style}]{escape(row.status)}[/]",
                *(escape(row.cells.get(column, "")) for column in report.columns),
                f"[{style}]{escape(row.reason or '')}[/]"
                if row.outcome in (RowOutcome.FAILED, RowOutcome.NOT_IMPLEMENTED)
                else escape(row.reason or ""),
            )
        parts.append(table)
    parts.extend(f"[dim]note:[/] {escape(note)}" for note in report.notes)
    return Group(*parts)


def verdict_line(run_id: str, state: RunState, error: str | None, waiting: Sequence[str] = ()) -> str:
    if state is RunState.SUCCEEDED:
        return f"[green]✔ run {run_id} succeeded[/]"
    if state is RunState.WAITING:
        task = escape(waiting[0]) if len(waiting) == 1 else "TASK"
        which = f" ({escape(', '.join(waiting))})" if len(waiting) > 1 else ""
        return (
            f"[magenta]⏸ run {run_id} is waiting for an approval{which}[/] — "
            f"`baton approve {run_id} {task}` (or `reject`), then `baton resume {run_id}`"
        )
    return f"[red]✘ run {run_id} {state}[/]" + (f": {escape(error)}" if error else "")
