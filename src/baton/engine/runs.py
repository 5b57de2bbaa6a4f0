"""What users do to runs: start, resume, cancel, approve, reject, retry a task, prune.

Each operation is one transaction through :mod:`baton.store.transitions`, so an illegal request
(approving a task that is not waiting, resuming a finished run) changes nothing and says why.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from baton.core.errors import IllegalTransitionError
from baton.core.states import FINISHED_RUN_STATES, RunState, TaskKind, TaskState
from baton.core.workflow import Workflow
from baton.engine.loading import load_workflow, plan_tasks, register_workflow
from baton.store.events import append_events_txn, event_row
from baton.store.retention import prune_txn
from baton.store.runs import COMPENSATING, create_run_txn, find_run_id, get_run, median_step_durations
from baton.store.schema import task_dependencies, tasks
from baton.store.store import Store
from baton.store.tasks import fail_downstream_txn
from baton.store.transitions import (
    MOVED_COLUMNS,
    MovedTask,
    find_task_txn,
    run_state_txn,
    transition_run_txn,
    transition_tasks_txn,
)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def start_run(
    store: Store,
    workflow_ref: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    workflow: Workflow | None = None,
    options: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> str:
    """Validate the workflow and its inputs, then store a new run with its tasks. Returns the run id
    (``run_id`` when the caller chose it, e.g. to name the run's folder before it exists).

    Nothing is written when the workflow or the inputs are invalid.
    """
    if workflow is None:
        workflow = load_workflow(workflow_ref)
    else:
        register_workflow(workflow, workflow_ref)
    workflow.validate()
    parsed = workflow.parse_inputs(inputs or {})
    inputs_json = parsed.model_dump_json() if parsed is not None else "{}"
    with store.read() as conn:
        path, _ = workflow.critical_path(median_step_durations(conn, workflow.name))
    run_id = run_id or new_run_id()
    with store.begin() as conn:
        create_run_txn(
            conn,
            run_id=run_id,
            workflow=workflow_ref,
            workflow_name=workflow.name,
            inputs_json=inputs_json,
            plan=plan_tasks(workflow, set(path), parsed),
            critical_path=path,
            now=time.time(),
            max_concurrency=workflow.max_concurrency,
            options=dict(options or {}),
        )
    return run_id


def prepare_resume(store: Store, run_id: str) -> str:
    """Check a run can be resumed; returns its full id. Lost tasks are recovered by the worker itself.

    A failed run whose rollback was left unfinished (its worker died) can be resumed too: the worker
    then takes the rollback over and finishes it.
    """
    with store.read() as conn:
        run_id = find_run_id(conn, run_id)
        record = get_run(conn, run_id)
    state = record.state
    if state is RunState.FAILED and record.options.get(COMPENSATING):
        return run_id
    if state in FINISHED_RUN_STATES:
        hint = f"retry a failed task with `baton retry {run_id} TASK`" if state is RunState.FAILED else ""
        raise IllegalTransitionError("run", run_id, state, RunState.RUNNING.value, hint=hint)
    return run_id


def cancel_run(store: Store, run_id: str, *, reason: str = "cancelled by user") -> None:
    """Cancel a run and every task of it that has not finished; running attempts are stopped by their worker."""
    now = time.time()
    with store.begin() as conn:
        run_id = find_run_id(conn, run_id)
        transition_run_txn(
            conn,
            run_id,
            RunState.CANCELLED,
            now=now,
            values={"finished_at": now, "error": reason},
            hint="only runs that have not finished can be cancelled",
        )
        for state in (
            TaskState.PENDING,
            TaskState.READY,
            TaskState.RUNNING,
            TaskState.RETRYING,
            TaskState.WAITING,
        ):
            ids = list(
                conn.execute(
                    select(tasks.c.id).where(tasks.c.run_id == run_id, tasks.c.state == state.value)
                ).scalars()
            )
            transition_tasks_txn(
                conn,
                ids,
                state,
                TaskState.CANCELLED,
                now=now,
                values={"finished_at": now, "lease_owner": None},
            )


def approve_task(store: Store, run_id: str, task: str, *, by: str = "", comment: str = "") -> None:
    """Let a waiting task run. Its run goes back to ``running`` if it was waiting."""
    now = time.time()
    with store.begin() as conn:
        run_id = find_run_id(conn, run_id)
        task_id = _waiting_task(conn, run_id, task, TaskState.READY, "approved")
        transition_tasks_txn(
            conn,
            [task_id],
            TaskState.WAITING,
            TaskState.READY,
            now=now,
            values={"approved": True},
            data={"approved_by": by, "comment": comment},
        )
        _wake_run(conn, run_id, now)


def reject_task(store: Store, run_id: str, task: str, *, by: str = "", reason: str = "") -> None:
    """Fail a waiting task: its dependents are skipped and the run fails (with compensation) when it settles."""
    now = time.time()
    with store.begin() as conn:
        run_id = find_run_id(conn, run_id)
        task_id = _waiting_task(conn, run_id, task, TaskState.FAILED, "rejected")
        message = f"rejected{' by ' + by if by else ''}{': ' + reason if reason else ''}"
        moved = transition_tasks_txn(
            conn,
            [task_id],
            TaskState.WAITING,
            TaskState.FAILED,
            now=now,
            values={"finished_at": now, "error": message},
            data={"rejected_by": by, "reason": reason},
        )
        fail_downstream_txn(conn, moved, now=now)
        _wake_run(conn, run_id, now)


def _waiting_task(conn: Any, run_id: str, task: str, target: TaskState, verb: str) -> int:
    task_id, current = find_task_txn(conn, run_id, task)
    if current is not TaskState.WAITING:
        raise IllegalTransitionError(
            "task",
            f"{task} of run {run_id}",
            current,
            target.value,
            hint=f"only a task in state `waiting` can be {verb}; see `baton status {run_id}`",
        )
    return task_id


def retry_task(store: Store, run_id: str, task: str) -> None:
    """Give a failed task a new attempt; its skipped dependents wait for it again and a failed run reopens.

    Refused, with the store unchanged, when the run is cancelled or succeeded, was rolled back (or is
    being rolled back), when one of the task's dependencies has not succeeded, and for mapped steps
    and their items (start a new run with ``baton rerun``).
    """
    now = time.time()
    with store.begin() as conn:
        run_id = find_run_id(conn, run_id)
        task_id, current = find_task_txn(conn, run_id, task)
        name = f"{task} of run {run_id}"
        if current is not TaskState.FAILED:
            raise IllegalTransitionError(
                "task", name, current, TaskState.READY.value, hint="only a failed task can be retried"
            )
        _check_retryable(conn, run_id, task_id, name)
        transition_tasks_txn(
            conn,
            [task_id],
            TaskState.FAILED,
            TaskState.READY,
            now=now,
            values={"finished_at": None, "error": None, "failures": 0, "not_before": None},
        )
        _reopen_skipped(conn, run_id, now)
        if run_state_txn(conn, run_id) in (RunState.FAILED, RunState.WAITING):
            transition_run_txn(
                conn, run_id, RunState.RUNNING, now=now, values={"finished_at": None, "error": None}
            )


def _check_retryable(conn: Any, run_id: str, task_id: int, name: str) -> None:
    record = get_run(conn, run_id)
    rerun = f"start a new run with `baton rerun {run_id}`"
    if record.state in (RunState.CANCELLED, RunState.SUCCEEDED):
        raise IllegalTransitionError("run", run_id, record.state, RunState.RUNNING.value, hint=rerun)
    if record.options.get(COMPENSATING):
        wait = f"wait for its rollback to end (`baton resume {run_id}` finishes one whose worker died), or {rerun}"
        raise IllegalTransitionError("run", run_id, "being rolled back", RunState.RUNNING.value, hint=wait)
    if _count(conn, run_id, TaskState.ROLLED_BACK):
        raise IllegalTransitionError("run", run_id, "rolled back", RunState.RUNNING.value, hint=rerun)
    kind = conn.execute(select(tasks.c.kind).where(tasks.c.id == task_id)).scalar_one()
    if kind != TaskKind.STEP.value:
        raise IllegalTransitionError(
            "task",
            name,
            "part of a mapped step",
            TaskState.READY.value,
            hint=f"mapped steps are retried by their retry policy; {rerun}",
        )
    upstream = tasks.alias("upstream")
    unmet = conn.execute(
        select(upstream.c.name, upstream.c.state)
        .join(task_dependencies, task_dependencies.c.depends_on_id == upstream.c.id)
        .where(task_dependencies.c.task_id == task_id, upstream.c.state != TaskState.SUCCEEDED.value)
        .limit(1)
    ).first()
    if unmet is not None:
        behind = f"behind {unmet.name}, which is {unmet.state}"
        raise IllegalTransitionError("task", name, behind, TaskState.READY.value, hint=rerun)


def _count(conn: Any, run_id: str, state: TaskState) -> int:
    query = select(func.count()).where(tasks.c.run_id == run_id, tasks.c.state == state.value)
    return int(conn.execute(query).scalar_one())


def _reopen_skipped(conn: Any, run_id: str, now: float) -> None:
    skipped = list(
        conn.execute(
            select(tasks.c.id).where(tasks.c.run_id == run_id, tasks.c.state == TaskState.SKIPPED.value)
        ).scalars()
    )
    transition_tasks_txn(
        conn, skipped, TaskState.SKIPPED, TaskState.PENDING, now=now, values={"finished_at": None}
    )
    # Tasks behind another task that is still failed stay skipped.
    still_failed = conn.execute(
        select(*MOVED_COLUMNS).where(tasks.c.run_id == run_id, tasks.c.state == TaskState.FAILED.value)
    )
    fail_downstream_txn(conn, [MovedTask(*row) for row in still_failed], now=now)


def _wake_run(conn: Any, run_id: str, now: float) -> None:
    if run_state_txn(conn, run_id) is RunState.WAITING:
        transition_run_txn(conn, run_id, RunState.RUNNING, now=now)


def prune(store: Store, *, older_than_seconds: float, dry_run: bool = False) -> dict[str, int]:
    """Remove finished runs (and run-less events) older than the given age."""
    before = time.time() - older_than_seconds
    with store.begin() as conn:
        counts = prune_txn(conn, before=before, dry_run=dry_run)
        if not dry_run:
            append_events_txn(conn, [event_row(None, None, "store.pruned", time.time(), counts)])
    return counts


def run_inputs(store: Store, run_id: str) -> dict[str, Any]:
    with store.read() as conn:
        return get_run(conn, run_id).inputs
