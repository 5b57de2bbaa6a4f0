"""The live progress view of a run: one bar for the run, one per task that reports progress.

It reads the same event stream as every other client, so it shows a run driven by this process
or by any worker elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from baton.core.events import EventType
from baton.core.states import FINISHED_TASK_STATES, TaskState
from baton.store.events import query_events
from baton.store.store import Store
from baton.store.tasks import task_state_counts


def _snapshot(
    store: Store, run_id: str, after: int
) -> tuple[dict[TaskState, int], list[tuple[str, float, str, str]], int]:
    with store.read() as conn:
        counts = task_state_counts(conn, run_id)
        events = query_events(
            conn,
            run_id=run_id,
            after=after,
            types=[EventType.TASK_PROGRESS, EventType.TASK_STATE],
            limit=5000,
        )
    updates = []
    for event in events:
        task = str(event.data.get("task", ""))
        if event.type == EventType.TASK_PROGRESS:
            updates.append(
                (task, float(event.data.get("percent", 0.0)), str(event.data.get("message", "")), "")
            )
        else:
            updates.append((task, -1.0, "", str(event.data.get("to", ""))))
    return counts, updates, events[-1].id if events else after


async def watch_run(
    store: Store, run_id: str, done: asyncio.Event, console: Console, interval: float = 0.2
) -> None:
    """Show live progress until ``done`` is set."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
    )
    after = 0
    bars: dict[str, TaskID] = {}
    with Progress(*columns, console=console, transient=False) as progress:
        overall = progress.add_task(f"run {run_id}", total=None, note="")
        while True:
            finished = done.is_set()
            counts, updates, after = await asyncio.to_thread(_snapshot, store, run_id, after)
            total = sum(n for state, n in counts.items())
            complete = sum(n for state, n in counts.items() if state in FINISHED_TASK_STATES)
            busy = counts.get(TaskState.RUNNING, 0)
            note = f"{busy} running" + (
                f", {counts[TaskState.FAILED]} failed" if counts.get(TaskState.FAILED) else ""
            )
            progress.update(overall, total=total, completed=complete, note=note)
            for task, percent, message, state in updates:
                if percent >= 0:
                    if task not in bars:
                        bars[task] = progress.add_task(f"  {task}", total=100, note="")
                    progress.update(bars[task], completed=percent, note=message[:50])
                elif task in bars and state in {s.value for s in FINISHED_TASK_STATES}:
                    progress.update(bars[task], completed=100, note=state)
            if finished:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), interval)
