"""The one place that changes a state: check the table, write the state, append the event — one transaction.

Every function here runs inside the caller's transaction (``*_txn``), so a state change commits or
rolls back together with whatever the caller wrote beside it (a checkpoint, an attempt, new tasks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from baton.core.errors import IllegalTransitionError, RunNotFoundError, TaskNotFoundError
from baton.core.states import RUN_TRANSITIONS, TASK_TRANSITIONS, RunState, TaskState
from baton.store.events import append_events_txn, event_row
from baton.store.schema import runs, tasks

# Keeps IN (...) lists under every backend's bound-parameter limit.
CHUNK = 2000


@dataclass(frozen=True)
class MovedTask:
    id: int
    run_id: str
    name: str
    step: str
    kind: str
    parent_id: int | None
    attempts: int
    failures: int
    input: str | None


MOVED_COLUMNS = (
    tasks.c.id,
    tasks.c.run_id,
    tasks.c.name,
    tasks.c.step,
    tasks.c.kind,
    tasks.c.parent_id,
    tasks.c.attempts,
    tasks.c.failures,
    tasks.c.input,
)
_STATEMENTS: dict[tuple[tuple[str, ...], tuple[str, ...], bool], Any] = {}


def _move_statement(columns: tuple[str, ...], increment: tuple[str, ...], owned: bool) -> Any:
    """The UPDATE for one shape of transition, built once: building statements costs more than running them."""
    key = (columns, increment, owned)
    statement = _STATEMENTS.get(key)
    if statement is None:
        conditions = [tasks.c.id.in_(bindparam("ids", expanding=True)), tasks.c.state == bindparam("source")]
        if owned:
            conditions.append(tasks.c.lease_owner == bindparam("owner"))
        assignments: dict[str, Any] = {"state": bindparam("target")}
        assignments.update({c: bindparam(f"v_{c}") for c in columns})
        assignments.update({c: tasks.c[c] + 1 for c in increment})
        statement = update(tasks).where(*conditions).values(**assignments).returning(*MOVED_COLUMNS)
        _STATEMENTS[key] = statement
    return statement


def transition_tasks_txn(
    conn: Connection,
    task_ids: Sequence[int],
    source: TaskState,
    target: TaskState,
    *,
    now: float,
    values: Mapping[str, Any] | None = None,
    increment: Sequence[str] = (),
    data: Mapping[str, Any] | None = None,
    owner: str | None = None,
    strict: bool = True,
) -> list[MovedTask]:
    """Move tasks from ``source`` to ``target``, writing ``values`` beside the state and one event each.

    ``increment`` names counters to add one to (attempts, failures). With ``owner``, only tasks leased
    to that worker move (a worker whose lease was taken over must not overwrite the new owner's work).
    With ``strict`` (the default) a task that is not in ``source`` raises
    :class:`IllegalTransitionError` naming it and its state, and the caller's transaction rolls back;
    otherwise such tasks are left alone and simply not returned.
    """
    if target not in TASK_TRANSITIONS[source]:
        raise IllegalTransitionError("task", f"#{task_ids[0]}" if task_ids else "?", source, target)
    if not task_ids:
        return []
    values = values or {}
    statement = _move_statement(tuple(sorted(values)), tuple(increment), owner is not None)
    parameters: dict[str, Any] = {"source": source.value, "target": target.value, "owner": owner}
    parameters.update({f"v_{c}": v for c, v in values.items()})
    moved: list[MovedTask] = []
    for start in range(0, len(task_ids), CHUNK):
        parameters["ids"] = task_ids[start : start + CHUNK]
        moved += [MovedTask(*row) for row in conn.execute(statement, parameters)]
    if strict and len(moved) != len(task_ids):
        _raise_for_missing(conn, task_ids, {m.id for m in moved}, target)
    extra = dict(data or {})
    append_events_txn(
        conn,
        [
            event_row(
                m.run_id,
                m.id,
                "task.state",
                now,
                {"task": m.name, "step": m.step, "from": source.value, "to": target.value, **extra},
            )
            for m in moved
        ],
    )
    return moved


def _raise_for_missing(conn: Connection, task_ids: Sequence[int], moved: set[int], target: TaskState) -> None:
    missing = next(i for i in task_ids if i not in moved)
    row = conn.execute(
        select(tasks.c.run_id, tasks.c.name, tasks.c.state).where(tasks.c.id == missing)
    ).first()
    if row is None:
        raise TaskNotFoundError("?", f"#{missing}")
    raise IllegalTransitionError("task", f"{row.name} of run {row.run_id}", row.state, target.value)


def find_task_txn(conn: Connection, run_id: str, name: str) -> tuple[int, TaskState]:
    """The id and state of the task ``name`` of ``run_id``; raises if there is no such run or task."""
    query = select(tasks.c.id, tasks.c.state).where(tasks.c.run_id == run_id, tasks.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        if conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is None:
            raise RunNotFoundError(run_id)
        raise TaskNotFoundError(run_id, name)
    return int(row.id), TaskState(row.state)


def run_state_txn(conn: Connection, run_id: str, *, lock: bool = False) -> RunState:
    query = select(runs.c.state).where(runs.c.id == run_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    state = conn.execute(query).scalar()
    if state is None:
        raise RunNotFoundError(run_id)
    return RunState(state)


def transition_run_txn(
    conn: Connection,
    run_id: str,
    target: RunState,
    *,
    now: float,
    values: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    hint: str = "",
) -> RunState:
    """Move a run to ``target`` from its current state, with its event; returns the previous state."""
    current = run_state_txn(conn, run_id, lock=True)
    if target not in RUN_TRANSITIONS[current]:
        raise IllegalTransitionError("run", run_id, current, target, hint=hint)
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.state == current.value)
        .values(state=target.value, **(values or {}))
    )
    append_events_txn(
        conn,
        [
            event_row(
                run_id, None, "run.state", now, {"from": current.value, "to": target.value, **(data or {})}
            )
        ],
    )
    return current
