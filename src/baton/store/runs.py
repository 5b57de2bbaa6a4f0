"""Every statement about ``runs``: creating a run with its task graph, reading runs back, starting them,
why one failed, and handing its compensation over. (Their tasks: :mod:`baton.store.tasks`; what a run's
verdict is: :func:`baton.engine.scheduler.conclude_run_txn`.)"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, insert, select, update

from baton.core.errors import AmbiguousRunIdError, RunNotFoundError
from baton.core.events import EventType
from baton.core.states import RunState, TaskKind, TaskState
from baton.store.events import append_events_txn, event_row
from baton.store.rows import RunRecord, TaskPlan
from baton.store.schema import checkpoints, events, runs, task_dependencies, tasks, workers, workstreams
from baton.store.transitions import transition_run_txn, transition_tasks_txn


def create_run_txn(
    conn: Connection,
    *,
    run_id: str,
    workflow: str,
    workflow_name: str,
    inputs_json: str,
    plan: Sequence[TaskPlan],
    critical_path: Sequence[str],
    now: float,
    max_concurrency: int | None = None,
    options: dict[str, Any] | None = None,
) -> None:
    """Store a run in ``pending`` with all its tasks and their dependencies; tasks without any become ready."""
    conn.execute(
        insert(runs).values(
            id=run_id,
            workflow=workflow,
            workflow_name=workflow_name,
            state=RunState.PENDING.value,
            inputs=inputs_json,
            max_concurrency=max_concurrency,
            critical_path=json.dumps(list(critical_path)),
            options=json.dumps(options or {}),
            created_at=now,
        )
    )
    conn.execute(
        insert(workstreams),
        [{"run_id": run_id, "name": name} for name in sorted({t.workstream for t in plan})],
    )
    rows = conn.execute(
        insert(tasks).returning(tasks.c.id, tasks.c.name, sort_by_parameter_order=True),
        [
            {
                "run_id": run_id,
                "name": t.name,
                "step": t.step,
                "workstream": t.workstream,
                "kind": t.kind.value,
                "state": TaskState.PENDING.value,
                "priority": t.priority,
                "critical": t.critical,
                "approval": t.approval,
                "max_attempts": t.max_attempts,
                "input": json.dumps({"over": t.map_over}) if t.map_over else None,
                "created_at": now,
            }
            for t in plan
        ],
    ).all()
    ids = {row.name: int(row.id) for row in rows}
    edges = [{"task_id": ids[t.name], "depends_on_id": ids[dep]} for t in plan for dep in t.dependencies]
    if edges:
        conn.execute(insert(task_dependencies), edges)
    append_events_txn(
        conn,
        [
            event_row(
                run_id, None, EventType.RUN_CREATED, now, {"workflow": workflow_name, "tasks": len(plan)}
            )
        ],
    )
    roots = [ids[t.name] for t in plan if not t.dependencies]
    transition_tasks_txn(conn, roots, TaskState.PENDING, TaskState.READY, now=now)


_RUN = select(runs).where(runs.c.id == bindparam("run"))

# Versions of what the API caches (see baton.server.response_cache for why these are versions).
# The id of a run (given in full) with the last event id of that run; no row for a prefix or unknown id.
_RUN_VERSION = select(
    runs.c.id,
    select(func.max(events.c.id)).where(events.c.run_id == runs.c.id).scalar_subquery(),
).where(runs.c.id == bindparam("run"))
# The last event id of the store, the number of runs and the newest run's creation time.
_RUNS_VERSION = select(
    select(func.max(events.c.id)).scalar_subquery(),
    func.count(),
    func.max(runs.c.created_at),
).select_from(runs)
_RUN_STATE_COUNTS = select(runs.c.state, func.count()).group_by(runs.c.state)
_TASK_STATE_COUNTS = select(tasks.c.state, func.count()).group_by(tasks.c.state)


def run_version(conn: Connection, run_id: str) -> tuple[str, int | None] | None:
    """The full id of a run and the last event id of that run; None for a prefix or an unknown id."""
    row = conn.execute(_RUN_VERSION, {"run": run_id}).first()
    return None if row is None else (str(row[0]), row[1])


def runs_version(conn: Connection) -> tuple[Any, ...]:
    """The last event id of the store, the number of runs and the newest run's creation time."""
    return tuple(conn.execute(_RUNS_VERSION).one())


def store_state_counts(conn: Connection) -> tuple[dict[str, int], dict[str, int]]:
    """Runs by state and tasks by state, over the whole store (states as stored)."""
    by_run = {str(state): int(n) for state, n in conn.execute(_RUN_STATE_COUNTS)}
    by_task = {str(state): int(n) for state, n in conn.execute(_TASK_STATE_COUNTS)}
    return by_run, by_task


def _to_run(row: Any) -> RunRecord:
    return RunRecord(
        id=row.id,
        workflow=row.workflow,
        workflow_name=row.workflow_name,
        state=RunState(row.state),
        inputs=json.loads(row.inputs),
        critical_path=json.loads(row.critical_path),
        options=json.loads(row.options),
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        max_concurrency=row.max_concurrency,
        compensator=row.compensator,
    )


def get_run(conn: Connection, run_id: str) -> RunRecord:
    row = conn.execute(_RUN, {"run": run_id}).first()
    if row is None:
        raise RunNotFoundError(run_id)
    return _to_run(row)


def find_run_id(conn: Connection, prefix: str) -> str:
    """Resolve a run id or an unambiguous prefix of one (as git does for commits)."""
    if conn.execute(select(runs.c.id).where(runs.c.id == prefix)).first() is not None:
        return prefix
    matches = (
        conn.execute(
            select(runs.c.id)
            .where(runs.c.id.startswith(prefix, autoescape=True))
            .order_by(runs.c.id)
            .limit(11)
        )
        .scalars()
        .all()
    )
    if len(matches) == 1:
        return str(matches[0])
    if matches:
        raise AmbiguousRunIdError(prefix, [str(m) for m in matches])
    raise RunNotFoundError(prefix)


def list_runs(
    conn: Connection,
    *,
    state: RunState | None = None,
    workflow: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[RunRecord]:
    query = select(runs).order_by(runs.c.created_at.desc(), runs.c.id).limit(limit).offset(offset)
    if state is not None:
        query = query.where(runs.c.state == state.value)
    if workflow is not None:
        query = query.where(runs.c.workflow_name == workflow)
    return [_to_run(row) for row in conn.execute(query)]


def run_outputs(conn: Connection, run_id: str) -> dict[str, Any]:
    """The checkpointed output of every succeeded step-level task of a run, by task name."""
    query = (
        select(tasks.c.name, checkpoints.c.data)
        .join(checkpoints, checkpoints.c.task_id == tasks.c.id)
        .where(tasks.c.run_id == run_id, tasks.c.kind != TaskKind.ITEM.value)
    )
    return {row.name: json.loads(row.data) for row in conn.execute(query)}


def failure_reason_txn(conn: Connection, run_id: str) -> str:
    """One line on why a run failed: its first failed (or cancelled) task and that task's error."""
    failed = conn.execute(
        select(tasks.c.name, tasks.c.state, tasks.c.error)
        .where(
            tasks.c.run_id == run_id, tasks.c.state.in_([TaskState.FAILED.value, TaskState.CANCELLED.value])
        )
        .order_by(tasks.c.finished_at, tasks.c.id)
        .limit(1)
    ).first()
    if failed is None:
        return "failed: tasks were left that could not run"
    return f"task {failed.name} {failed.state}: {failed.error or 'no error recorded'}"


def claim_orphaned_compensations_txn(
    conn: Connection, *, worker_id: str, now: float, run_id: str | None = None
) -> list[str]:
    """Runs in state ``compensating`` whose compensator is no longer registered (it died, or stopped in
    the middle): each becomes ``worker_id``'s to finish. Returns their ids.

    Call it after :func:`baton.store.workers.dead_workers_txn`, which removes the dead. Each run is taken
    with a check-and-set on its compensator as read, so of several workers claiming at once only one gets it.
    """
    live = set(conn.execute(select(workers.c.id)).scalars())
    query = select(runs.c.id, runs.c.compensator).where(runs.c.state == RunState.COMPENSATING.value)
    if run_id is not None:
        query = query.where(runs.c.id == run_id)
    claimed: list[str] = []
    for row in conn.execute(query).all():
        owner = row.compensator
        if owner is not None and owner in live:
            continue
        same_owner = runs.c.compensator.is_(None) if owner is None else runs.c.compensator == owner
        taken = conn.execute(
            update(runs)
            .where(runs.c.id == row.id, runs.c.state == RunState.COMPENSATING.value, same_owner)
            .values(compensator=worker_id)
        )
        if taken.rowcount:
            claimed.append(row.id)
            data = {"worker": worker_id, "from": owner}
            append_events_txn(
                conn, [event_row(row.id, None, EventType.RUN_COMPENSATION_TAKEN_OVER, now, data)]
            )
    return claimed


def finish_compensation_txn(conn: Connection, run_id: str, *, worker_id: str, now: float) -> bool:
    """A run ``worker_id`` was compensating becomes ``failed``; whether it did (False when another worker
    took the compensation over meanwhile, or the run is not compensating)."""
    row = conn.execute(
        select(runs.c.state, runs.c.compensator).where(runs.c.id == run_id).with_for_update()
    ).first()
    if row is None or row.state != RunState.COMPENSATING.value or row.compensator != worker_id:
        return False
    transition_run_txn(
        conn, run_id, RunState.FAILED, now=now, values={"compensator": None, "finished_at": now}
    )
    return True


def run_states_txn(conn: Connection, run_ids: Iterable[str]) -> dict[str, RunState]:
    """The state of each of these runs (those that exist)."""
    ids = sorted(set(run_ids))
    if not ids:
        return {}
    rows = conn.execute(select(runs.c.id, runs.c.state).where(runs.c.id.in_(ids)))
    return {row.id: RunState(row.state) for row in rows}


def start_pending_runs_txn(conn: Connection, *, now: float, run_id: str | None = None) -> None:
    """Pending runs (all, or ``run_id``) become running."""
    query = select(runs.c.id).where(runs.c.state == RunState.PENDING.value)
    if run_id is not None:
        query = query.where(runs.c.id == run_id)
    if conn.dialect.name == "postgresql":  # two workers must not both start the same run
        query = query.with_for_update(skip_locked=True)
    for pending in conn.execute(query).scalars().all():
        transition_run_txn(conn, pending, RunState.RUNNING, now=now, values={"started_at": now})


_BUSY_STATES = [TaskState.READY.value, TaskState.RUNNING.value, TaskState.RETRYING.value]


def runs_without_work_txn(conn: Connection, *, run_id: str | None = None) -> list[str]:
    """Running runs with no task ready, running or retrying: they only wait to be judged (their last
    task was finished, rejected or cancelled by some other process)."""
    busy = exists(select(1).where(tasks.c.run_id == runs.c.id, tasks.c.state.in_(_BUSY_STATES)))
    query = select(runs.c.id).where(runs.c.state == RunState.RUNNING.value, ~busy)
    if run_id is not None:
        query = query.where(runs.c.id == run_id)
    return list(conn.execute(query).scalars())
