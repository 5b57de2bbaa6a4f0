"""Rolling back a failed run: the compensations of its succeeded steps, newest first."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from baton.core.states import TaskState
from baton.core.workflow import Step, Workflow
from baton.store.events import append_events_txn, event_row
from baton.store.schema import checkpoints, runs, tasks
from baton.store.store import Store
from baton.store.transitions import MovedTask, transition_tasks_txn

InStore = Callable[..., Awaitable[Any]]


async def compensate_run(store: Store, run_id: str, workflow: Workflow, in_store: InStore) -> str:
    """Undo what the failed run ``run_id`` did and return a one-line summary of why it failed.

    Each succeeded task whose step declares a compensation has it called with the task's output;
    the task then becomes ``rolled_back``. A compensation that raises is recorded as an event and the
    task stays ``succeeded``, so an operator can see what was not undone.
    """
    compensable = {name for name, step in workflow.steps.items() if step.compensate_fn is not None}
    done, reason = await in_store(_load, store, run_id, compensable)
    inputs_json = await in_store(_inputs_of, store, run_id)
    inputs = workflow.parse_inputs(json.loads(inputs_json))
    for task_id, name, step_name, output in done:
        step = workflow.steps[step_name]
        try:
            await _call(step, output, inputs)
        except Exception as error:
            await in_store(_record, store, run_id, task_id, name, f"{type(error).__name__}: {error}")
        else:
            await in_store(_record, store, run_id, task_id, name, None)
    return str(reason)


def _inputs_of(store: Store, run_id: str) -> str:
    with store.read() as conn:
        return str(conn.execute(select(runs.c.inputs).where(runs.c.id == run_id)).scalar_one())


def _load(store: Store, run_id: str, compensable: set[str]) -> tuple[list[tuple[int, str, str, str]], str]:
    with store.read() as conn:
        rows = conn.execute(
            select(tasks.c.id, tasks.c.name, tasks.c.step, checkpoints.c.data)
            .join(checkpoints, checkpoints.c.task_id == tasks.c.id)
            .where(
                tasks.c.run_id == run_id, tasks.c.state == TaskState.SUCCEEDED.value, tasks.c.kind != "item"
            )
            .order_by(tasks.c.finished_at.desc(), tasks.c.id.desc())
        ).all()
        failed = conn.execute(
            select(tasks.c.name, tasks.c.state, tasks.c.error)
            .where(tasks.c.run_id == run_id, tasks.c.state.in_(["failed", "cancelled"]))
            .order_by(tasks.c.finished_at, tasks.c.id)
            .limit(1)
        ).first()
    reason = (
        f"task {failed.name} {failed.state}: {failed.error or 'no error recorded'}" if failed else "failed"
    )
    return [(int(r.id), r.name, r.step, r.data) for r in rows if r.step in compensable], reason


async def _call(step: Step[Any], output_json: str, inputs: Any) -> None:
    fn = step.compensate_fn
    if fn is None:
        return
    output = step.output_adapter.validate_json(output_json)
    parameters = list(inspect.signature(fn).parameters)
    kwargs: dict[str, Any] = {}
    positional: list[Any] = []
    for name in parameters:
        if name == "inputs":
            kwargs[name] = inputs
        elif not positional:
            positional.append(output)
    if inspect.iscoroutinefunction(fn):
        await fn(*positional, **kwargs)
    else:
        await asyncio.to_thread(fn, *positional, **kwargs)


def _record(store: Store, run_id: str, task_id: int, name: str, error: str | None) -> None:
    now = time.time()
    with store.begin() as conn:
        if error is None:
            moved: list[MovedTask] = transition_tasks_txn(
                conn, [task_id], TaskState.SUCCEEDED, TaskState.ROLLED_BACK, now=now, strict=False
            )
            if moved:
                append_events_txn(conn, [event_row(run_id, task_id, "task.compensated", now, {"task": name})])
        else:
            append_events_txn(
                conn,
                [event_row(run_id, task_id, "task.compensation_failed", now, {"task": name, "error": error})],
            )
