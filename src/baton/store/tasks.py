"""Every statement about ``tasks`` (their state changes go through :mod:`baton.store.transitions`).

No decision is made here: what to claim, what becomes ready, what fails or is skipped downstream, when a
mapped step expands or completes — all of it is :mod:`baton.engine.scheduler`'s, which runs these
statements inside the worker's one transaction per tick. How outcomes are stored: :mod:`.outcomes`.

The statements of the hot path are named :class:`~baton.store.driver.Query` texts run on the driver
(SQLAlchemy spends more on each statement than SQLite takes to run it). The states they compare with are
named once, in TaskState and RunState: as parameters, or written into the text (:func:`_in`) where a
partial index holds that state's tasks only — a database uses such an index only for a query that names
the state as written.

Many workers on PostgreSQL follow the lock order of :mod:`baton.store.transitions` (a run's row before
any of its tasks); every statement that picks work (claims, due retries, lost tasks) skips rows another
transaction holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from baton.core.states import RunState, TaskKind, TaskState
from baton.store.attempts import open_attempts_txn
from baton.store.bulk import bulk_insert_txn
from baton.store.checkpoints import upstream_outputs_txn
from baton.store.driver import Query, fetch_txn, markers
from baton.store.rows import (
    MOVED_COLUMNS,
    Candidate,
    ClaimedTask,
    MovedTask,
    Released,
    TaskRecord,
    moved_task,
    task_record,
)
from baton.store.schema import task_dependencies, tasks
from baton.store.transitions import CHUNK, lock_runs_txn, transition_tasks_txn


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# PostgreSQL: lock the task rows picked, and share-lock their run's row, skipping both when another transaction
# holds them (a run being cancelled or judged holds its row exclusively: its tasks are not picked meanwhile).
SKIP_LOCKED_WITH_RUN = " FOR UPDATE OF tasks SKIP LOCKED FOR KEY SHARE OF runs SKIP LOCKED"


def _in(state: TaskState, table: str = "tasks") -> str:
    """``tasks.state = 'ready'``: the condition that lets the database use that state's partial index
    (``ix_tasks_ready``, ``ix_tasks_retrying``, ``ix_tasks_running``; see ``schema.py``)."""
    return f"{table}.state = '{state.value}'"


def _variants(name: str, build: Callable[..., str]) -> dict[tuple[bool, bool], Query]:
    """A query in its four shapes: of one run or of all, locking (PostgreSQL) or not."""
    return {
        (of_run, locking): Query(name, build(of_run=of_run, locking=locking))
        for of_run in (False, True)
        for locking in (False, True)
    }


# A Candidate's columns, in its order (tasks joined with their runs).
_CANDIDATE_COLUMNS = (
    "tasks.id, tasks.run_id, tasks.kind, tasks.approval, tasks.approved, runs.max_concurrency,"
    " tasks.critical, tasks.priority"
)


def _candidates_sql(*, of_run: bool, locking: bool) -> str:
    """Ready tasks in claiming order (parameters: 'running' for the run, [the run,] the limit).

    A run at its concurrency cap offers no candidates, so that its ready tasks do not fill the window
    while other runs' tasks wait (the exact room is counted again for what is claimed).

    Across runs, SQLite is told to walk the ready tasks first (``CROSS JOIN`` fixes its join order), in
    claim order along ``ix_tasks_ready``, stopping at the limit. Its planner does not count a partial
    index's size: left to choose, it takes the running runs first and sorts all of their ready tasks at
    every claim (measured: 0.47 ms against 0.08 ms with 10,000 ready). PostgreSQL (the locking shape)
    plans with its statistics.
    """
    join = "JOIN" if of_run or locking else "CROSS JOIN"
    return (
        f"SELECT {_CANDIDATE_COLUMNS}"
        f" FROM tasks {join} runs ON runs.id = tasks.run_id WHERE {_in(TaskState.READY)} AND runs.state = ?"
        " AND (runs.max_concurrency IS NULL OR (SELECT count(*) FROM tasks AS running"
        f" WHERE running.run_id = runs.id AND {_in(TaskState.RUNNING, 'running')}"
        " AND running.lease_owner IS NOT NULL) < runs.max_concurrency)"
        + (" AND tasks.run_id = ?" if of_run else "")
        + " ORDER BY tasks.critical DESC, tasks.priority DESC, tasks.id LIMIT ?"
        + (SKIP_LOCKED_WITH_RUN if locking else "")
    )


def _due_retries_sql(*, of_run: bool, locking: bool) -> str:
    return (
        "SELECT tasks.id FROM tasks JOIN runs ON runs.id = tasks.run_id"
        f" WHERE {_in(TaskState.RETRYING)} AND COALESCE(tasks.not_before, 0) <= ?"
        + (" AND tasks.run_id = ?" if of_run else "")
        + " ORDER BY tasks.id"
        + (SKIP_LOCKED_WITH_RUN if locking else "")
    )


CANDIDATES = _variants("tasks.candidates", _candidates_sql)
DUE_RETRIES = _variants("tasks.due_retries", _due_retries_sql)
NEXT_RETRY = {
    of_run: Query(
        "tasks.next_retry",
        f"SELECT min(not_before) FROM tasks WHERE {_in(TaskState.RETRYING)} AND not_before > ?"
        + (" AND run_id = ?" if of_run else ""),
    )
    for of_run in (False, True)
}
RUNNING = {
    of_run: Query(
        "tasks.running_count",
        f"SELECT count(*) FROM tasks WHERE {_in(TaskState.RUNNING)} AND lease_owner IS NOT NULL"
        + (" AND run_id = ?" if of_run else ""),
    )
    for of_run in (False, True)
}
# Dependents of just-finished tasks with no dependency left unfinished, as claim candidates with their
# state and their run's (parameters: the ids, then 'succeeded'). The state is filtered by the caller, not
# here: a `state = ?` condition would lead SQLite's planner to scan every task in that state instead of
# following the dependency index.
NEWLY_READY = Query(
    "tasks.newly_ready",
    f"SELECT {_CANDIDATE_COLUMNS}, tasks.state, runs.state FROM task_dependencies"
    " JOIN tasks ON tasks.id = task_dependencies.task_id JOIN runs ON runs.id = tasks.run_id"
    " WHERE task_dependencies.depends_on_id IN ({ids}) AND NOT EXISTS (SELECT 1"
    " FROM task_dependencies AS edge JOIN tasks AS upstream ON upstream.id = edge.depends_on_id"
    " WHERE edge.task_id = tasks.id AND upstream.state != ?)",
)
DEPENDENTS = Query(
    "tasks.dependents",
    "SELECT tasks.id, tasks.state FROM task_dependencies JOIN tasks ON tasks.id = task_dependencies.task_id"
    " WHERE task_dependencies.depends_on_id IN ({ids})",
)
# PostgreSQL only, in id order so that two workers lock in the same order.
LOCK = Query("tasks.lock", "SELECT id FROM tasks WHERE id IN ({ids}) ORDER BY id FOR UPDATE")
LOCK_DEPENDENTS = Query(
    "tasks.lock_dependents",
    "SELECT id FROM tasks WHERE id IN (SELECT task_id FROM task_dependencies WHERE depends_on_id IN ({ids}))"
    " ORDER BY id FOR UPDATE",
)
_NOT_SUCCEEDED = [s.value for s in TaskState if s is not TaskState.SUCCEEDED]
OPEN_ITEM = Query(
    "tasks.open_item",
    f"SELECT id FROM tasks WHERE parent_id = ? AND state IN ({markers(len(_NOT_SUCCEEDED))}) LIMIT 1",
)
ITEMS_IN = Query("tasks.items_in", "SELECT id FROM tasks WHERE parent_id = ? AND state = ? ORDER BY id")
IN_STATE = Query(
    "tasks.in_state",
    f"SELECT {', '.join(MOVED_COLUMNS)} FROM tasks WHERE run_id = ? AND state = ? ORDER BY id",
)
_OPEN_STATES = (TaskState.PENDING, TaskState.READY, TaskState.RUNNING, TaskState.RETRYING, TaskState.WAITING)
OPEN_OF_RUN = {
    locking: Query(
        "tasks.open_of_run",
        f"SELECT id, state FROM tasks WHERE run_id = ? AND state IN ({markers(len(_OPEN_STATES))}) ORDER BY id"
        + (" FOR UPDATE" if locking else ""),
    )
    for locking in (False, True)
}
EXTEND_LEASES = Query(
    "tasks.extend_leases",
    "UPDATE tasks SET lease_expires_at = ? WHERE id IN ({ids}) AND lease_owner = ? AND state = ? RETURNING id",
)
RUNS_OF = Query("tasks.runs_of", "SELECT DISTINCT run_id FROM tasks WHERE id IN ({ids})")


def _lost_sql(*, dead: int, of_run: bool, locking: bool) -> Query:
    owners = f" OR tasks.lease_owner IN ({markers(dead)})" if dead else ""
    return Query(
        "tasks.lost",
        "SELECT tasks.id, tasks.attempts, tasks.failures FROM tasks JOIN runs ON runs.id = tasks.run_id"
        f" WHERE {_in(TaskState.RUNNING)} AND tasks.lease_owner IS NOT NULL"
        f" AND (tasks.lease_expires_at < ?{owners})"
        + (" AND tasks.run_id = ?" if of_run else "")
        + " ORDER BY tasks.id"
        + (SKIP_LOCKED_WITH_RUN if locking else ""),
    )


# -- picking work ----------------------------------------------------------------------------------


def ready_candidates_txn(conn: Connection, *, limit: int, run_id: str | None = None) -> list[Candidate]:
    """Up to ``limit`` ready tasks of running runs, in claim order: critical path first, then priority,
    then age. On PostgreSQL they are locked with ``FOR UPDATE SKIP LOCKED`` so that many workers see
    disjoint sets; on SQLite the write transaction already serialises claimers."""
    query = CANDIDATES[run_id is not None, conn.dialect.name == "postgresql"]
    parameters: list[Any] = [RunState.RUNNING.value]
    parameters += [limit] if run_id is None else [run_id, limit]
    return [Candidate(*row) for row in fetch_txn(conn, query, parameters)]


def running_count_txn(conn: Connection, *, run_id: str | None = None) -> int:
    """Tasks running under a lease, in one run or everywhere."""
    parameters: list[Any] = [run_id] if run_id is not None else []
    return int(fetch_txn(conn, RUNNING[run_id is not None], parameters)[0][0])


def due_retries_txn(conn: Connection, *, now: float, run_id: str | None = None) -> list[int]:
    """Retrying tasks whose backoff has passed, in id order (on PostgreSQL locked, skipping those another
    transaction holds)."""
    parameters: list[Any] = [now] + ([run_id] if run_id is not None else [])
    query = DUE_RETRIES[run_id is not None, conn.dialect.name == "postgresql"]
    return [int(task_id) for (task_id,) in fetch_txn(conn, query, parameters)]


def next_retry_txn(conn: Connection, *, now: float, run_id: str | None = None) -> float | None:
    """When the next retrying task is due, if any is waiting."""
    parameters: list[Any] = [now] + ([run_id] if run_id is not None else [])
    (later,) = fetch_txn(conn, NEXT_RETRY[run_id is not None], parameters)[0]
    return float(later) if later is not None else None


def lease_tasks_txn(
    conn: Connection,
    ids: Sequence[int],
    *,
    worker_id: str,
    now: float,
    lease_seconds: float,
    source: TaskState = TaskState.READY,
) -> list[ClaimedTask]:
    """Move ready tasks (or, with ``source``, pending tasks this transaction released) to running under
    a lease held by ``worker_id``, open their attempts and load what they need to run. A task another
    transaction moved meanwhile is left out."""
    if not ids:
        return []
    moved = transition_tasks_txn(
        conn,
        ids,
        source,
        TaskState.RUNNING,
        now=now,
        values={"lease_owner": worker_id, "lease_expires_at": now + lease_seconds, "started_at": now},
        increment=("attempts",),
        strict=False,
    )
    open_attempts_txn(conn, moved, worker_id=worker_id, now=now)
    # Items take their context from their mapped step's dependencies: load each owner's once.
    owner_of = {m.id: (m.parent_id if m.kind is TaskKind.ITEM and m.parent_id else m.id) for m in moved}
    upstream = upstream_outputs_txn(conn, sorted(set(owner_of.values())))
    return [
        ClaimedTask(
            m.id,
            m.run_id,
            m.name,
            m.step,
            m.kind,
            m.parent_id,
            m.attempts,
            m.failures,
            m.input,
            upstream[owner_of[m.id]],
        )
        for m in moved
    ]


# -- dependents and mapped steps -------------------------------------------------------------------


def lock_tasks_txn(conn: Connection, task_ids: Sequence[int]) -> None:
    """PostgreSQL: lock these tasks' rows, in id order. Nothing to do on SQLite (one writer)."""
    if conn.dialect.name == "postgresql":
        for chunk in _chunks(sorted(task_ids)):
            fetch_txn(conn, LOCK.format(ids=markers(len(chunk))), chunk)


def newly_ready_txn(conn: Connection, finished: Sequence[int]) -> list[Released]:
    """The pending dependents of ``finished`` whose dependencies have all succeeded, in id order.

    On PostgreSQL the dependents are locked first: two workers finishing two dependencies of one task at
    once would each see the other's success as not yet committed, and neither would release the task.
    With the lock, the second waits for the first to commit and then sees its work.
    """
    ready: dict[int, Released] = {}
    for chunk in _chunks(finished):
        if conn.dialect.name == "postgresql":
            fetch_txn(conn, LOCK_DEPENDENTS.format(ids=markers(len(chunk))), chunk)
        rows = fetch_txn(
            conn, NEWLY_READY.format(ids=markers(len(chunk))), [*chunk, TaskState.SUCCEEDED.value]
        )
        for *candidate, state, run_state in rows:
            if state == TaskState.PENDING.value:
                ready[candidate[0]] = Released(Candidate(*candidate), run_state == RunState.RUNNING.value)
    return [ready[task_id] for task_id in sorted(ready)]


def pending_dependents_txn(conn: Connection, task_ids: Sequence[int]) -> list[int]:
    """The direct dependents of these tasks that are still pending, in id order."""
    pending: set[int] = set()
    for chunk in _chunks(task_ids):
        rows = fetch_txn(conn, DEPENDENTS.format(ids=markers(len(chunk))), chunk)
        pending.update(task_id for task_id, state in rows if state == TaskState.PENDING.value)
    return sorted(pending)


def has_unfinished_item_txn(conn: Connection, parent_id: int) -> bool:
    """Whether a mapped step has an item that has not succeeded."""
    return bool(fetch_txn(conn, OPEN_ITEM, [parent_id, *_NOT_SUCCEEDED]))


def items_in_state_txn(conn: Connection, parent_id: int, state: TaskState) -> list[int]:
    """The ids of a mapped step's items in ``state``."""
    return [int(task_id) for (task_id,) in fetch_txn(conn, ITEMS_IN, [parent_id, state.value])]


def tasks_in_state_txn(conn: Connection, run_id: str, state: TaskState) -> list[MovedTask]:
    """A run's tasks in ``state``, in id order."""
    return [moved_task(row) for row in fetch_txn(conn, IN_STATE, [run_id, state.value])]


def get_task_txn(conn: Connection, task_id: int) -> TaskRecord:
    """The whole row of one task (without its dependencies' names)."""
    return task_record(conn.execute(select(tasks).where(tasks.c.id == task_id)).one())


def insert_items_txn(conn: Connection, parent: TaskRecord, elements: Sequence[Any], *, now: float) -> None:
    """A mapped step's items, one per element, born ``ready`` (the dependencies they share with their
    mapped step have all succeeded)."""
    bulk_insert_txn(
        conn,
        tasks,
        [
            {
                "run_id": parent.run_id,
                "name": f"{parent.step}[{index}]",
                "step": parent.step,
                "workstream": parent.workstream,
                "kind": TaskKind.ITEM.value,
                "parent_id": parent.id,
                "map_index": index,
                "input": json.dumps(element),
                "state": TaskState.READY.value,
                "priority": parent.priority,
                "critical": parent.critical,
                "approval": False,
                "approved": False,
                "attempts": 0,
                "failures": 0,
                "max_attempts": parent.max_attempts,
                "created_at": now,
            }
            for index, element in enumerate(elements)
        ],
    )


# -- leases ----------------------------------------------------------------------------------------


def extend_leases_txn(
    conn: Connection, task_ids: Sequence[int], *, worker_id: str, now: float, lease_seconds: float
) -> set[int]:
    """Renew this worker's leases on ``task_ids`` (the attempts it is running); returns the ids it still
    holds. Only the tasks named: a task claimed by a transaction whose commit this worker never heard of
    (its connection dropped) is not kept alive here, so it is retried elsewhere when its lease ends."""
    held: set[int] = set()
    for chunk in _chunks(sorted(task_ids)):
        if conn.dialect.name == "postgresql":
            lock_runs_txn(
                conn, [r for (r,) in fetch_txn(conn, RUNS_OF.format(ids=markers(len(chunk))), chunk)]
            )
        rows = fetch_txn(
            conn,
            EXTEND_LEASES.format(ids=markers(len(chunk))),
            [now + lease_seconds, *chunk, worker_id, TaskState.RUNNING.value],
        )
        held.update(int(task_id) for (task_id,) in rows)
    return held


def lost_tasks_txn(
    conn: Connection, *, now: float, dead_workers: Sequence[str] = (), run_id: str | None = None
) -> list[tuple[int, int, int]]:
    """Running tasks whose lease expired or whose worker is among ``dead_workers`` (locked on
    PostgreSQL, skipping those another transaction holds), in id order: id, attempts, failures."""
    query = _lost_sql(
        dead=len(dead_workers), of_run=run_id is not None, locking=conn.dialect.name == "postgresql"
    )
    parameters: list[Any] = [now, *dead_workers]
    parameters += [run_id] if run_id is not None else []
    return [(int(i), int(tried), int(failed)) for i, tried, failed in fetch_txn(conn, query, parameters)]


# -- a run's tasks ---------------------------------------------------------------------------------


def open_tasks_txn(conn: Connection, run_id: str) -> dict[TaskState, list[int]]:
    """A run's unfinished tasks by state (locked on PostgreSQL: the caller holds the run's row)."""
    query = OPEN_OF_RUN[conn.dialect.name == "postgresql"]
    by_state: dict[TaskState, list[int]] = {state: [] for state in _OPEN_STATES}
    for task_id, state in fetch_txn(conn, query, [run_id, *(s.value for s in _OPEN_STATES)]):
        by_state[TaskState(state)].append(int(task_id))
    return by_state


_upstream = tasks.alias("upstream")
_EDGES_OF_RUN = (
    select(task_dependencies.c.task_id, _upstream.c.name)
    .join(_upstream, _upstream.c.id == task_dependencies.c.depends_on_id)
    .where(_upstream.c.run_id == bindparam("run"))
)
_TASKS_OF_RUN = select(tasks).where(tasks.c.run_id == bindparam("run")).order_by(tasks.c.id)
_STEP_TASKS_OF_RUN = _TASKS_OF_RUN.where(tasks.c.kind != TaskKind.ITEM.value)
_STATE_COUNTS = (
    select(tasks.c.state, func.count()).where(tasks.c.run_id == bindparam("run")).group_by(tasks.c.state)
)


def list_tasks(conn: Connection, run_id: str, *, include_items: bool = True) -> list[TaskRecord]:
    """The tasks of a run in creation order, each with the names of the tasks it depends on."""
    deps: dict[int, list[str]] = {}
    for edge in conn.execute(_EDGES_OF_RUN, {"run": run_id}):
        deps.setdefault(int(edge.task_id), []).append(edge.name)
    query = _TASKS_OF_RUN if include_items else _STEP_TASKS_OF_RUN
    return [task_record(r, deps.get(int(r.id), [])) for r in conn.execute(query, {"run": run_id})]


def task_state_counts(conn: Connection, run_id: str) -> dict[TaskState, int]:
    return {TaskState(state): int(n) for state, n in conn.execute(_STATE_COUNTS, {"run": run_id})}


def task_state_txn(conn: Connection, task_id: int) -> TaskState:
    return TaskState(conn.execute(select(tasks.c.state).where(tasks.c.id == task_id)).scalar_one())


def task_kind_txn(conn: Connection, task_id: int) -> TaskKind:
    return TaskKind(conn.execute(select(tasks.c.kind).where(tasks.c.id == task_id)).scalar_one())


def first_unmet_dependency_txn(conn: Connection, task_id: int) -> tuple[str, TaskState] | None:
    """A task this one depends on that has not succeeded (its name and state), if there is one."""
    row = conn.execute(
        select(_upstream.c.name, _upstream.c.state)
        .join(task_dependencies, task_dependencies.c.depends_on_id == _upstream.c.id)
        .where(task_dependencies.c.task_id == task_id, _upstream.c.state != TaskState.SUCCEEDED.value)
        .order_by(_upstream.c.id)
        .limit(1)
    ).first()
    return None if row is None else (str(row.name), TaskState(row.state))
