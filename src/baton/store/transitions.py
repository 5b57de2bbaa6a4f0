"""The one place that changes a state: check the table, write the state, append the event — one transaction.

Every function here runs inside the caller's transaction (``*_txn``), so a state change commits or
rolls back together with whatever the caller wrote beside it (a checkpoint, an attempt, new tasks).

The lock order (PostgreSQL; SQLite has one writer at a time). Every transaction that changes the tasks
of a run first locks that run's row, then the tasks:

1. ``runs`` rows, in id order. A worker's tick takes them ``FOR KEY SHARE`` (many workers share a run),
   waiting for the runs whose outcomes it records (:func:`lock_runs_txn`) and skipping those it would only
   pick work from (``SKIP LOCKED``). Whatever changes a run as a whole — cancel, approve, reject, retry,
   resume, judging its verdict — takes its row ``FOR UPDATE`` (:func:`run_state_txn` with ``lock``),
   which waits for the ticks in flight on that run and keeps new ones off it until it commits.
2. ``tasks`` rows, each statement taking its rows in id order where it locks several at once.
3. ``attempts``, ``checkpoints``, ``events`` (rows only this transaction writes), then ``workers``.

So a cancel never waits for a task row that a worker holding the run's row waits for in turn: the
deadlock of a cancel against a busy run cannot form. Two workers can still meet on the tasks of one run
(one finishing an item while the other fails its mapped step); the database breaks that tie and the
loser's transaction is done again (see :mod:`baton.store.retry`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from baton.core.errors import IllegalTransitionError, RunNotFoundError, TaskNotFoundError
from baton.core.events import EventType
from baton.core.states import RUN_TRANSITIONS, TASK_TRANSITIONS, RunState, TaskState
from baton.store.driver import Query, fetch_txn, markers
from baton.store.events import append_events_txn, event_row
from baton.store.rows import MOVED_COLUMNS, MovedTask, moved_task
from baton.store.schema import runs, tasks

# Keeps IN (...) lists under every backend's bound-parameter limit.
CHUNK = 2000


_RETURNING = ", ".join(tasks.c[name].name for name in MOVED_COLUMNS)
_MOVES: dict[tuple[tuple[str, ...], tuple[str, ...], bool, bool, bool], Query] = {}


def _move_sql(
    columns: tuple[str, ...], increment: tuple[str, ...], owned: bool, attempt: bool, lock_runs: bool = False
) -> Query:
    """The UPDATE for one shape of transition, written once, its ``IN`` list left as ``{ids}``.

    It runs on the driver (see :mod:`baton.store.driver`): this is the statement of every claim and
    every outcome. Parameters: the target, ``columns``' values, the ids, the source, the owner, the
    attempt, then (with ``lock_runs``, PostgreSQL) the runs to share-lock, left as ``{runs}``: each task
    row is checked against that sub-select before it is updated, so the runs are locked before their
    tasks — the lock order — in the same round trip (a worker's tick records its outcomes with it).
    """
    key = (columns, increment, owned, attempt, lock_runs)
    sql = _MOVES.get(key)
    if sql is None:
        # Names go through tasks.c: a column that does not exist fails here, not in the database.
        assignments = ["state = ?", *(f"{tasks.c[c].name} = ?" for c in columns)]
        assignments += [f"{tasks.c[c].name} = {tasks.c[c].name} + 1" for c in increment]
        conditions = ["id IN ({ids})", "state = ?"]
        if owned:
            conditions.append("lease_owner = ?")
        if attempt:
            conditions.append("attempts = ?")
        if lock_runs:
            conditions.append(
                "run_id IN (SELECT id FROM runs WHERE id IN ({runs}) ORDER BY id FOR KEY SHARE)"
            )
        text = f"UPDATE tasks SET {', '.join(assignments)} WHERE {' AND '.join(conditions)}"
        sql = _MOVES[key] = Query("tasks.move", f"{text} RETURNING {_RETURNING}")
    return sql


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
    attempt: int | None = None,
    strict: bool = True,
    lock_runs: Iterable[str] = (),
) -> list[MovedTask]:
    """Move tasks from ``source`` to ``target``, writing ``values`` beside the state and one event each.

    ``increment`` names counters to add one to (attempts, failures). With ``owner``, only tasks leased
    to that worker move (a worker whose lease was taken over must not overwrite the new owner's work);
    with ``attempt``, only tasks still on that attempt (a late result must not overwrite a newer attempt).
    With ``strict`` (the default) a task that is not in ``source`` raises
    :class:`IllegalTransitionError` naming it and its state, and the caller's transaction rolls back;
    otherwise such tasks are left alone and simply not returned. ``lock_runs`` (PostgreSQL) share-locks
    those runs in the same statement, before their tasks (see :func:`_move_sql`).
    """
    if target not in TASK_TRANSITIONS[source]:
        raise IllegalTransitionError("task", f"#{task_ids[0]}" if task_ids else "?", source, target)
    if not task_ids:
        return []
    values = values or {}
    columns = tuple(values)
    run_ids = sorted(set(lock_runs)) if conn.dialect.name == "postgresql" else []
    sql = _move_sql(columns, tuple(increment), owner is not None, attempt is not None, bool(run_ids))
    before = [target.value, *(values[c] for c in columns)]
    after: list[Any] = [source.value]
    if owner is not None:
        after.append(owner)
    if attempt is not None:
        after.append(attempt)
    moved: list[MovedTask] = []
    for start in range(0, len(task_ids), CHUNK):
        chunk = task_ids[start : start + CHUNK]
        statement = sql.format(ids=markers(len(chunk)), runs=markers(len(run_ids)))
        rows = fetch_txn(conn, statement, [*before, *chunk, *after, *run_ids])
        moved += [moved_task(row) for row in rows]
    if strict and len(moved) != len(task_ids):
        _raise_for_missing(conn, task_ids, {m.id for m in moved}, target)
    extra = dict(data or {})
    append_events_txn(
        conn,
        [
            event_row(
                m.run_id,
                m.id,
                EventType.TASK_STATE,
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


_LOCK_RUNS_SHARED = Query(
    "runs.lock_shared", "SELECT id FROM runs WHERE id IN ({ids}) ORDER BY id FOR KEY SHARE"
)


def lock_runs_txn(conn: Connection, run_ids: Iterable[str]) -> None:
    """PostgreSQL: share-lock these runs' rows, in id order, before changing any of their tasks (step 1
    of the lock order above); waits while one is being cancelled or judged. Nothing to do on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    ordered = sorted(set(run_ids))
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        fetch_txn(conn, _LOCK_RUNS_SHARED.format(ids=markers(len(chunk))), chunk)


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
                run_id,
                None,
                EventType.RUN_STATE,
                now,
                {"from": current.value, "to": target.value, **(data or {})},
            )
        ],
    )
    return current
