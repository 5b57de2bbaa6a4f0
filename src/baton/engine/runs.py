"""What users do to runs: start, resume, cancel, approve, reject, retry a task, prune.

Each operation is one transaction through :mod:`baton.store.transitions`, so an illegal request
(approving a task that is not waiting, resuming a finished run) changes nothing and says why.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from baton.core.errors import IllegalTransitionError
from baton.core.events import EventType
from baton.core.states import FINISHED_RUN_STATES, RunState, TaskKind, TaskState
from baton.core.workflow import Workflow
from baton.engine.loading import load_workflow, plan_tasks, register_workflow
from baton.engine.scheduler import cancel_open_tasks_txn, fail_downstream_txn, reopen_skipped_txn
from baton.store.attempts import median_step_durations
from baton.store.events import append_events_txn, event_row
from baton.store.retention import prune_txn
from baton.store.retry import Patience, call_with_retry
from baton.store.runs import create_run_txn, find_run_id, get_run
from baton.store.store import Store
from baton.store.tasks import first_unmet_dependency_txn, task_kind_txn, task_state_counts
from baton.store.transitions import (
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

    A ``compensating`` run whose rollback was left unfinished (its worker died) can be resumed too: the
    worker then takes the rollback over and finishes it.
    """
    with store.read() as conn:
        run_id = find_run_id(conn, run_id)
        record = get_run(conn, run_id)
    state = record.state
    if state is RunState.COMPENSATING:
        return run_id
    if state in FINISHED_RUN_STATES:
        hint = f"retry a failed task with `baton retry {run_id} TASK`" if state is RunState.FAILED else ""
        raise IllegalTransitionError("run", run_id, state, RunState.RUNNING.value, hint=hint)
    return run_id


# What users do is one short transaction; one that loses a race with a worker (a deadlock broken by the
# database, a lock wait cut off by lock_timeout) or meets a restarting database is done again, for a while.
USER_PATIENCE = Patience(outage=15.0, conflicts=30.0)


def cancel_run(store: Store, run_id: str, *, reason: str = "cancelled by user") -> None:
    """Cancel a run and every task of it that has not finished, at once — whatever the workers are doing.

    Running attempts end ``cancelled`` here; their workers stop them within a poll interval and discard
    what they return. The run's row is locked first (the lock order of :mod:`baton.store.transitions`),
    so a cancel waits for the worker transactions in flight on the run and then wins over all of them.
    """
    call_with_retry(_cancel, store, run_id, reason, patience=USER_PATIENCE)


def _cancel(store: Store, run_id: str, reason: str) -> None:
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
        cancel_open_tasks_txn(conn, run_id, now=now, reason=reason)


def approve_task(store: Store, run_id: str, task: str, *, by: str = "", comment: str = "") -> None:
    """Let a waiting task run. Its run goes back to ``running`` if it was waiting."""
    call_with_retry(_approve, store, run_id, task, by, comment, patience=USER_PATIENCE)


def _approve(store: Store, run_id: str, task: str, by: str, comment: str) -> None:
    now = time.time()
    with store.begin() as conn:
        run_id = find_run_id(conn, run_id)
        run_state_txn(conn, run_id, lock=True)  # the run before its tasks: the lock order
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
    call_with_retry(_reject, store, run_id, task, by, reason, patience=USER_PATIENCE)


def _reject(store: Store, run_id: str, task: str, by: str, reason: str) -> None:
    now = time.time()
    with store.begin() as conn:
        run_id = find_run_id(conn, run_id)
        run_state_txn(conn, run_id, lock=True)  # the run before its tasks: the lock order
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
    call_with_retry(_retry, store, run_id, task, patience=USER_PATIENCE)


def _retry(store: Store, run_id: str, task: str) -> None:
    now = time.time()
    with store.begin() as conn:
        run_id = find_run_id(conn, run_id)
        run_state_txn(conn, run_id, lock=True)  # the run before its tasks: the lock order
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
        reopen_skipped_txn(conn, run_id, now=now)
        if run_state_txn(conn, run_id) in (RunState.FAILED, RunState.WAITING):
            transition_run_txn(
                conn, run_id, RunState.RUNNING, now=now, values={"finished_at": None, "error": None}
            )


def _check_retryable(conn: Any, run_id: str, task_id: int, name: str) -> None:
    record = get_run(conn, run_id)
    rerun = f"start a new run with `baton rerun {run_id}`"
    if record.state in (RunState.CANCELLED, RunState.SUCCEEDED):
        raise IllegalTransitionError("run", run_id, record.state, RunState.RUNNING.value, hint=rerun)
    if record.state is RunState.COMPENSATING:
        wait = f"wait for its rollback to end (`baton resume {run_id}` finishes one whose worker died), or {rerun}"
        raise IllegalTransitionError("run", run_id, record.state, RunState.RUNNING.value, hint=wait)
    if task_state_counts(conn, run_id).get(TaskState.ROLLED_BACK):
        raise IllegalTransitionError("run", run_id, "rolled back", RunState.RUNNING.value, hint=rerun)
    if task_kind_txn(conn, task_id) is not TaskKind.STEP:
        raise IllegalTransitionError(
            "task",
            name,
            "part of a mapped step",
            TaskState.READY.value,
            hint=f"mapped steps are retried by their retry policy; {rerun}",
        )
    unmet = first_unmet_dependency_txn(conn, task_id)
    if unmet is not None:
        behind = f"behind {unmet[0]}, which is {unmet[1]}"
        raise IllegalTransitionError("task", name, behind, TaskState.READY.value, hint=rerun)


def _wake_run(conn: Any, run_id: str, now: float) -> None:
    if run_state_txn(conn, run_id) is RunState.WAITING:
        transition_run_txn(conn, run_id, RunState.RUNNING, now=now)


def prune(store: Store, *, older_than_seconds: float, dry_run: bool = False) -> dict[str, int]:
    """Remove finished runs (and run-less events) older than the given age, and expired cached model answers."""
    now = time.time()
    with store.begin() as conn:
        counts = prune_txn(conn, before=now - older_than_seconds, now=now, dry_run=dry_run)
        if not dry_run:
            append_events_txn(conn, [event_row(None, None, EventType.STORE_PRUNED, time.time(), counts)])
    return counts


def run_inputs(store: Store, run_id: str) -> dict[str, Any]:
    with store.read() as conn:
        return get_run(conn, run_id).inputs
