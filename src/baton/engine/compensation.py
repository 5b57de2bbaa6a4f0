"""Rolling back a failed run: the compensations of its succeeded steps, newest first."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from baton.core.events import EventType
from baton.core.states import TaskState
from baton.core.workflow import Step, Workflow
from baton.store.checkpoints import succeeded_steps_txn
from baton.store.events import append_events_txn, event_row
from baton.store.runs import finish_compensation_txn, get_run
from baton.store.store import Connection, Store
from baton.store.tasks import task_state_txn
from baton.store.transitions import lock_runs_txn, transition_tasks_txn

InStore = Callable[..., Awaitable[Any]]


def compensable_tasks_txn(
    conn: Connection, run_id: str, workflow: Workflow
) -> list[tuple[int, str, str, str]]:
    """The succeeded tasks of a run whose step declares a compensation, newest first, with their outputs."""
    compensable = {name for name, step in workflow.steps.items() if step.compensate_fn is not None}
    return succeeded_steps_txn(conn, run_id, compensable)


async def compensate_run(
    store: Store, run_id: str, workflow: Workflow, in_store: InStore, *, worker_id: str
) -> None:
    """Undo what the failed run ``run_id`` did, newest step first, as the worker ``worker_id``.

    Each succeeded task whose step declares a compensation has it called with the task's output
    (``fn(output)``, or ``fn(output, inputs)`` to also get the run's inputs); the task then becomes
    ``rolled_back``. A compensation that raises is recorded as an event and the task stays
    ``succeeded``, so an operator can see what was not undone. The run, ``compensating`` with this
    worker as its compensator since it failed, becomes ``failed`` at the end if this worker still holds it.

    Compensation is durable work: if the worker dies on the way, another worker (or ``baton resume``)
    takes the mark over and calls this again. Tasks already ``rolled_back`` are not compensated again,
    but the compensation that was interrupted may run twice: compensations are at-least-once, so they
    must be idempotent (undoing what is already undone does nothing).
    """
    done = await in_store(_load, store, run_id, workflow)
    inputs = workflow.parse_inputs(await in_store(_inputs_of, store, run_id))
    for task_id, name, step_name, output in done:
        if not await in_store(_still_succeeded, store, task_id):
            continue  # rolled back meanwhile by a worker that took this compensation over
        try:
            await _call(workflow.steps[step_name], output, inputs)
        except Exception as error:  # any failure of user code is recorded, not raised
            await in_store(_record, store, run_id, task_id, name, f"{type(error).__name__}: {error}")
        else:
            await in_store(_record, store, run_id, task_id, name, None)
    await in_store(_finish, store, run_id, worker_id)


def abandon_compensation(store: Store, run_id: str, worker_id: str, reason: str) -> None:
    """Give up the compensation of a run this worker cannot make (its workflow cannot be loaded): the
    run becomes ``failed`` and the reason is recorded, as for a compensation that raises."""
    now = time.time()
    with store.begin() as conn:
        if finish_compensation_txn(conn, run_id, worker_id=worker_id, now=now):
            append_events_txn(
                conn, [event_row(run_id, None, EventType.RUN_COMPENSATION_FAILED, now, {"error": reason})]
            )


def _load(store: Store, run_id: str, workflow: Workflow) -> list[tuple[int, str, str, str]]:
    with store.read() as conn:
        return compensable_tasks_txn(conn, run_id, workflow)


def _inputs_of(store: Store, run_id: str) -> dict[str, Any]:
    with store.read() as conn:
        return get_run(conn, run_id).inputs


async def _call(step: Step[Any], output_json: str, inputs: Any) -> None:
    fn = step.compensate_fn
    if fn is None:
        return
    output = step.output_adapter.validate_json(output_json)
    kwargs = {"inputs": inputs} if "inputs" in inspect.signature(fn).parameters else {}
    if inspect.iscoroutinefunction(fn):
        await fn(output, **kwargs)
    else:
        await asyncio.to_thread(fn, output, **kwargs)


def _record(store: Store, run_id: str, task_id: int, name: str, error: str | None) -> None:
    now = time.time()
    with store.begin() as conn:
        lock_runs_txn(conn, [run_id])  # the run before its tasks: the lock order
        if error is None:
            moved = transition_tasks_txn(
                conn, [task_id], TaskState.SUCCEEDED, TaskState.ROLLED_BACK, now=now, strict=False
            )
            if moved:
                append_events_txn(
                    conn, [event_row(run_id, task_id, EventType.TASK_COMPENSATED, now, {"task": name})]
                )
        else:
            append_events_txn(
                conn,
                [
                    event_row(
                        run_id,
                        task_id,
                        EventType.TASK_COMPENSATION_FAILED,
                        now,
                        {"task": name, "error": error},
                    )
                ],
            )


def _still_succeeded(store: Store, task_id: int) -> bool:
    with store.read() as conn:
        return task_state_txn(conn, task_id) is TaskState.SUCCEEDED


def _finish(store: Store, run_id: str, worker_id: str) -> None:
    with store.begin() as conn:
        finish_compensation_txn(conn, run_id, worker_id=worker_id, now=time.time())
