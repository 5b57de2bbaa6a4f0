"""The statements of the worker's hot path: ready candidates in claim order, leases, outcomes, lost tasks.

What to claim, how many, what waits for an approval and when a lost task fails for good is decided in
:mod:`baton.engine.scheduler`, which runs these statements. Releasing dependents and failing downstream
still run here, inside :func:`record_outcomes_txn`.

One worker "tick" is one transaction: it records the outcomes that finished since the last tick
(checkpoints and states together), releases the dependents that became ready, and claims the next
tasks. Grouping many tasks into one commit is what makes durable execution fast; a task's
dependents are only released by the commit that stores its checkpoint.

The statements of the hot path are written once, as SQL text, and run on the driver (see
:mod:`baton.store.driver`): SQLAlchemy spends more on each statement than SQLite takes to run it.

Many workers on PostgreSQL follow the lock order of :mod:`baton.store.transitions` (a run's row before
any of its tasks); every statement that picks work (claims, due retries, lost tasks) skips rows another
transaction holds, and a transition that finds its task already moved on leaves it alone: losing a race
to another worker, or to a user who cancelled the run, is a normal outcome, never an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, exists, func, insert, select, update

from baton.core.events import EventType
from baton.core.states import AttemptOutcome, RunState, TaskKind, TaskState
from baton.store.bulk import bulk_insert_txn
from baton.store.driver import execute_many_txn, execute_txn, fetch_txn, markers
from baton.store.events import append_events_txn, event_row
from baton.store.schema import attempts, checkpoints, runs, task_dependencies, tasks
from baton.store.transitions import (
    CHUNK,
    MOVED_COLUMNS,
    MovedTask,
    lock_runs_txn,
    transition_run_txn,
    transition_tasks_txn,
)

NOT_SUCCEEDED = [s.value for s in TaskState if s is not TaskState.SUCCEEDED]


@dataclass
class ClaimedTask:
    """A task this worker now holds a lease on, with everything needed to run it."""

    id: int
    run_id: str
    name: str
    step: str
    kind: TaskKind
    attempt: int
    failures: int
    item: str | None  # a mapped item's element, as JSON
    upstream: dict[str, str]  # dependency step name -> its checkpoint (JSON)


class Candidate(NamedTuple):
    """A ready task that may be claimed, as the claiming query returns it."""

    id: int
    run_id: str
    kind: str
    approval: bool
    approved: bool
    max_concurrency: int | None


@dataclass
class Outcome:
    """How one attempt ended. ``output`` is set on success; ``retry_in`` on a failure worth retrying."""

    task_id: int
    run_id: str
    attempt: int
    output: str | None = None
    error: str | None = None
    retry_in: float | None = None
    cancelled: bool = False

    @property
    def succeeded(self) -> bool:
        return self.output is not None and self.error is None and not self.cancelled


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# The statements of every tick, their IN lists left as {ids}. The states they compare with are parameters,
# so that they are named once, in TaskState and RunState.
_CURRENT_ATTEMPTS = "SELECT id, attempts FROM tasks WHERE id IN ({ids})"
# Only an attempt still open is closed: one that a cancel (or a recovery) closed first keeps its outcome.
_CLOSE_ATTEMPT = (
    "UPDATE attempts SET outcome = ?, finished_at = ?, error = ?"
    f" WHERE task_id = ? AND number = ? AND outcome = '{AttemptOutcome.RUNNING.value}'"
)
_TASK_STATES = "SELECT id, state FROM tasks WHERE id IN ({ids})"
_SET_ERROR = "UPDATE tasks SET error = ?, not_before = ? WHERE id = ?"
# Dependents of just-finished tasks with no dependency left unfinished (parameters: the ids, then
# 'succeeded'). The state is filtered by the caller, not here: a `state = ?` condition would lead
# SQLite's planner to scan every task in that state instead of following the dependency index.
_NEWLY_READY = (
    "SELECT tasks.id, tasks.state FROM task_dependencies JOIN tasks ON tasks.id = task_dependencies.task_id"
    " WHERE task_dependencies.depends_on_id IN ({ids}) AND NOT EXISTS (SELECT 1"
    " FROM task_dependencies AS edge JOIN tasks AS upstream ON upstream.id = edge.depends_on_id"
    " WHERE edge.task_id = tasks.id AND upstream.state != ?)"
)
_DEPENDENTS = (
    select(tasks.c.id, tasks.c.state)
    .select_from(task_dependencies.join(tasks, tasks.c.id == task_dependencies.c.task_id))
    .where(task_dependencies.c.depends_on_id.in_(bindparam("ids", expanding=True)))
)
# PostgreSQL only, in id order so that two workers lock in the same order.
_LOCK_TASKS = "SELECT id FROM tasks WHERE id IN ({ids}) ORDER BY id FOR UPDATE"
_LOCK_DEPENDENTS = (
    "SELECT id FROM tasks WHERE id IN (SELECT task_id FROM task_dependencies WHERE depends_on_id IN ({ids}))"
    " ORDER BY id FOR UPDATE"
)
_OPEN_CHILD = f"SELECT id FROM tasks WHERE parent_id = ? AND state IN ({markers(len(NOT_SUCCEEDED))}) LIMIT 1"
_CHILD_OUTPUTS = (
    "SELECT checkpoints.data FROM checkpoints JOIN tasks ON tasks.id = checkpoints.task_id"
    " WHERE tasks.parent_id = ? ORDER BY tasks.map_index"
)


# PostgreSQL: lock the task rows picked, and share-lock their run's row, skipping both when another transaction
# holds them (a run being cancelled or judged holds its row exclusively: its tasks are not picked meanwhile).
SKIP_LOCKED_WITH_RUN = " FOR UPDATE OF tasks SKIP LOCKED FOR KEY SHARE OF runs SKIP LOCKED"


def _candidates_sql(*, of_run: bool, locking: bool) -> str:
    """Ready tasks in claiming order (parameters: 'ready', 'running', 'running', [the run,] the limit).

    A run at its concurrency cap offers no candidates, so that its ready tasks do not fill the window
    while other runs' tasks wait (the exact room is counted again for what is claimed). On PostgreSQL
    many workers claim at once, each skipping the rows another has locked.
    """
    return (
        "SELECT tasks.id, tasks.run_id, tasks.kind, tasks.approval, tasks.approved, runs.max_concurrency"
        " FROM tasks JOIN runs ON runs.id = tasks.run_id WHERE tasks.state = ? AND runs.state = ?"
        " AND (runs.max_concurrency IS NULL OR (SELECT count(*) FROM tasks AS running"
        " WHERE running.run_id = runs.id AND running.state = ? AND running.lease_owner IS NOT NULL)"
        " < runs.max_concurrency)"
        + (" AND tasks.run_id = ?" if of_run else "")
        + " ORDER BY tasks.critical DESC, tasks.priority DESC, tasks.id LIMIT ?"
        + (SKIP_LOCKED_WITH_RUN if locking else "")
    )


_CANDIDATES = {
    (of_run, locking): _candidates_sql(of_run=of_run, locking=locking)
    for of_run in (False, True)
    for locking in (False, True)
}
_UPSTREAM = (
    "SELECT task_dependencies.task_id, dependency.step, checkpoints.data FROM task_dependencies"
    " JOIN tasks AS dependency ON dependency.id = task_dependencies.depends_on_id"
    " JOIN checkpoints ON checkpoints.task_id = dependency.id WHERE task_dependencies.task_id IN ({ids})"
)
_RUNNING_IN_RUN = select(func.count()).where(
    tasks.c.run_id == bindparam("run"),
    tasks.c.state == TaskState.RUNNING.value,
    tasks.c.lease_owner.is_not(None),
)
_RUNNING_EVERYWHERE = select(func.count()).where(
    tasks.c.state == TaskState.RUNNING.value, tasks.c.lease_owner.is_not(None)
)


# -- recording outcomes ----------------------------------------------------------------------------


def record_outcomes_txn(
    conn: Connection, outcomes: Sequence[Outcome], *, worker_id: str, now: float
) -> set[str]:
    """Store the outcomes of finished attempts; returns the runs they belong to."""
    if not outcomes:
        return set()
    # The runs' rows before their tasks (the lock order): the moves below share-lock them in their own
    # statement; cancellations, which may move nothing, lock them first.
    lock_runs_txn(conn, {o.run_id for o in outcomes if o.cancelled})
    succeeded = [o for o in outcomes if o.succeeded]
    retrying = [o for o in outcomes if not o.succeeded and not o.cancelled and o.retry_in is not None]
    failed = [o for o in outcomes if not o.succeeded and not o.cancelled and o.retry_in is None]
    cancelled = [o for o in outcomes if o.cancelled]

    done = _record_successes(conn, succeeded, worker_id=worker_id, now=now)
    _record_failures(conn, retrying, TaskState.RETRYING, worker_id=worker_id, now=now)
    _record_failures(conn, failed, TaskState.FAILED, worker_id=worker_id, now=now)
    _record_cancellations(conn, cancelled, worker_id=worker_id, now=now)
    release_dependents_txn(conn, done, now=now)
    return {o.run_id for o in outcomes}


def _move_finished(
    conn: Connection,
    outcomes: Sequence[Outcome],
    target: TaskState,
    *,
    worker_id: str,
    now: float,
    values: Mapping[str, Any],
    increment: Sequence[str] = (),
) -> tuple[list[MovedTask], list[Outcome], list[Outcome]]:
    """Move the tasks of finished attempts from running to ``target``: only those still leased to this
    worker and still on that attempt, checked by the UPDATE itself. Returns the moved tasks, the outcomes
    to store and the lost ones — an attempt whose lease expired and whose task was claimed again (even
    by this worker) must not write over the newer attempt."""
    moved: list[MovedTask] = []
    for attempt in sorted({o.attempt for o in outcomes}):
        moved += transition_tasks_txn(
            conn,
            [o.task_id for o in outcomes if o.attempt == attempt],
            TaskState.RUNNING,
            target,
            now=now,
            owner=worker_id,
            attempt=attempt,
            strict=False,
            values=values,
            increment=increment,
            lock_runs={o.run_id for o in outcomes if o.attempt == attempt},
        )
    kept = {(m.id, m.attempts) for m in moved}
    stored = [o for o in outcomes if (o.task_id, o.attempt) in kept]
    lost = [o for o in outcomes if (o.task_id, o.attempt) not in kept]
    return moved, stored, lost


def _record_successes(
    conn: Connection, outcomes: Sequence[Outcome], *, worker_id: str, now: float
) -> list[MovedTask]:
    if not outcomes:
        return []
    moved, stored, lost = _move_finished(
        conn,
        outcomes,
        TaskState.SUCCEEDED,
        worker_id=worker_id,
        now=now,
        values={"lease_owner": None, "lease_expires_at": None, "finished_at": now, "error": None},
    )
    if stored:
        bulk_insert_txn(
            conn,
            checkpoints,
            [{"task_id": o.task_id, "run_id": o.run_id, "data": o.output, "created_at": now} for o in stored],
        )
    _close_attempts(conn, stored, AttemptOutcome.SUCCEEDED, now)
    _discard(conn, lost, now)
    return moved


def _discard(conn: Connection, lost: Sequence[Outcome], now: float) -> None:
    """Results of attempts that no longer hold their task — its lease was taken over, or its run was
    cancelled meanwhile: recorded as events, never applied."""
    if not lost:
        return
    states: dict[int, str] = {}
    for chunk in _chunks(sorted({o.task_id for o in lost})):
        states.update(fetch_txn(conn, _TASK_STATES.format(ids=markers(len(chunk))), chunk))
    cancelled = [o for o in lost if states.get(o.task_id) == TaskState.CANCELLED.value]
    _close_attempts(conn, cancelled, AttemptOutcome.CANCELLED, now)
    _close_attempts(conn, [o for o in lost if o not in cancelled], AttemptOutcome.LOST, now)
    append_events_txn(
        conn,
        [
            event_row(
                o.run_id,
                o.task_id,
                EventType.TASK_RESULT_DISCARDED,
                now,
                {"attempt": o.attempt, "reason": "run cancelled" if o in cancelled else "lease lost"},
            )
            for o in lost
        ],
    )


def _record_failures(
    conn: Connection, group: Sequence[Outcome], target: TaskState, *, worker_id: str, now: float
) -> None:
    if not group:
        return
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
    if target is TaskState.FAILED:
        values["finished_at"] = now
    moved, stored, lost = _move_finished(
        conn, group, target, worker_id=worker_id, now=now, values=values, increment=("failures",)
    )
    if stored:
        execute_many_txn(conn, _SET_ERROR, [(o.error, now + (o.retry_in or 0.0), o.task_id) for o in stored])
        append_events_txn(
            conn,
            [
                event_row(
                    o.run_id,
                    o.task_id,
                    EventType.TASK_ERROR,
                    now,
                    {"attempt": o.attempt, "error": o.error, "retry_in": o.retry_in},
                )
                for o in stored
            ],
        )
    _close_attempts(conn, stored, AttemptOutcome.FAILED, now, errors=True)
    _discard(conn, lost, now)
    if target is TaskState.FAILED and moved:
        fail_downstream_txn(conn, moved, now=now)


def _record_cancellations(conn: Connection, group: Sequence[Outcome], *, worker_id: str, now: float) -> None:
    """Attempts cancelled with their run. Their task is usually cancelled already, by whoever cancelled
    the run, so its attempt is closed as cancelled whether this moves the task or not — unless the
    attempt is stale (a newer one took over), when it is lost."""
    if not group:
        return
    current: dict[int, int] = {}
    for chunk in _chunks([o.task_id for o in group]):
        current.update(fetch_txn(conn, _CURRENT_ATTEMPTS.format(ids=markers(len(chunk))), chunk))
    live = [o for o in group if current.get(o.task_id) == o.attempt]
    _discard(conn, [o for o in group if current.get(o.task_id) != o.attempt], now)
    transition_tasks_txn(
        conn,
        [o.task_id for o in live],
        TaskState.RUNNING,
        TaskState.CANCELLED,
        now=now,
        owner=worker_id,
        strict=False,
        values={"lease_owner": None, "finished_at": now},
    )
    _close_attempts(conn, live, AttemptOutcome.CANCELLED, now)


def _close_attempts(
    conn: Connection,
    outcomes: Sequence[Outcome],
    outcome: AttemptOutcome,
    now: float,
    *,
    errors: bool = False,
) -> None:
    execute_many_txn(
        conn,
        _CLOSE_ATTEMPT,
        [(outcome.value, now, o.error if errors else None, o.task_id, o.attempt) for o in outcomes],
    )


# -- releasing and skipping dependents -------------------------------------------------------------


def release_dependents_txn(conn: Connection, finished: Sequence[MovedTask], *, now: float) -> None:
    """Make ready every pending task whose dependencies have all succeeded, and complete mapped steps
    whose items have all succeeded — repeatedly, since a completed mapped step releases more."""
    frontier = list(finished)
    while frontier:
        completed_maps = _complete_map_parents(conn, frontier, now=now)
        ready: set[int] = set()
        for chunk in _chunks([m.id for m in frontier if m.kind != TaskKind.ITEM.value]):
            if conn.dialect.name == "postgresql":
                _lock_dependents(conn, chunk)
            rows = fetch_txn(
                conn, _NEWLY_READY.format(ids=markers(len(chunk))), [*chunk, TaskState.SUCCEEDED.value]
            )
            ready.update(task_id for task_id, state in rows if state == TaskState.PENDING.value)
        transition_tasks_txn(conn, sorted(ready), TaskState.PENDING, TaskState.READY, now=now, strict=False)
        frontier = completed_maps


def _lock_dependents(conn: Connection, finished_ids: Sequence[int]) -> None:
    """PostgreSQL: lock the dependents before judging whether all their dependencies have succeeded.

    Two workers finishing two dependencies of one task at once would each see the other's success as
    not yet committed, and neither would release the task. With the lock, the second waits for the
    first to commit and then sees its work. (SQLite's single writer already serialises them.)
    """
    fetch_txn(conn, _LOCK_DEPENDENTS.format(ids=markers(len(finished_ids))), finished_ids)


def _complete_map_parents(conn: Connection, finished: Sequence[MovedTask], *, now: float) -> list[MovedTask]:
    completed: list[MovedTask] = []
    for parent_id in sorted({m.parent_id for m in finished if m.parent_id is not None}):
        if conn.dialect.name == "postgresql":
            fetch_txn(conn, _LOCK_TASKS.format(ids="?"), [parent_id])
        if not fetch_txn(conn, _OPEN_CHILD, [parent_id, *NOT_SUCCEEDED]):
            outputs = [data for (data,) in fetch_txn(conn, _CHILD_OUTPUTS, [parent_id])]
            completed += _succeed_map_parent(conn, parent_id, outputs, now=now)
    return completed


def _succeed_map_parent(
    conn: Connection, parent_id: int, outputs: Sequence[str], *, now: float
) -> list[MovedTask]:
    moved = transition_tasks_txn(
        conn,
        [parent_id],
        TaskState.RUNNING,
        TaskState.SUCCEEDED,
        now=now,
        strict=False,
        values={"finished_at": now},
    )
    for m in moved:
        conn.execute(
            insert(checkpoints).values(
                task_id=m.id, run_id=m.run_id, data="[" + ",".join(outputs) + "]", created_at=now
            )
        )
    return moved


def fail_downstream_txn(conn: Connection, failed: Sequence[MovedTask], *, now: float) -> None:
    """After tasks failed for good: their mapped step fails, its open items are cancelled, and every
    task that depends on a failed one, directly or not, is skipped."""
    frontier = list(failed)
    while frontier:
        parent_ids = sorted({m.parent_id for m in frontier if m.parent_id is not None})
        failed_parents = transition_tasks_txn(
            conn,
            parent_ids,
            TaskState.RUNNING,
            TaskState.FAILED,
            now=now,
            strict=False,
            values={"finished_at": now, "error": "one of its items failed"},
        )
        for parent in failed_parents:
            # Running items are cancelled too: their worker's result will be discarded.
            for state in (TaskState.PENDING, TaskState.READY, TaskState.RETRYING, TaskState.RUNNING):
                open_items = conn.execute(
                    select(tasks.c.id).where(tasks.c.parent_id == parent.id, tasks.c.state == state.value)
                ).scalars()
                transition_tasks_txn(
                    conn,
                    list(open_items),
                    state,
                    TaskState.CANCELLED,
                    now=now,
                    values={"finished_at": now},
                    strict=False,  # an item another worker finished meanwhile keeps its outcome
                )
        dependents: set[int] = set()
        for chunk in _chunks([*(m.id for m in frontier), *(p.id for p in failed_parents)]):
            rows = conn.execute(_DEPENDENTS, {"ids": list(chunk)})
            dependents.update(row.id for row in rows if row.state == TaskState.PENDING.value)
        frontier = transition_tasks_txn(
            conn,
            sorted(dependents),
            TaskState.PENDING,
            TaskState.SKIPPED,
            now=now,
            strict=False,
            values={"finished_at": now},
        )


# -- claiming --------------------------------------------------------------------------------------


def start_pending_runs_txn(conn: Connection, *, now: float, run_id: str | None = None) -> None:
    query = select(runs.c.id).where(runs.c.state == RunState.PENDING.value)
    if run_id is not None:
        query = query.where(runs.c.id == run_id)
    if conn.dialect.name == "postgresql":  # two workers must not both start the same run
        query = query.with_for_update(skip_locked=True)
    for pending in conn.execute(query).scalars().all():
        transition_run_txn(conn, pending, RunState.RUNNING, now=now, values={"started_at": now})


def _due_retries_sql(*, of_run: bool, locking: bool) -> str:
    return (
        "SELECT tasks.id FROM tasks JOIN runs ON runs.id = tasks.run_id"
        " WHERE tasks.state = ? AND COALESCE(tasks.not_before, 0) <= ?"
        + (" AND tasks.run_id = ?" if of_run else "")
        + " ORDER BY tasks.id"
        + (SKIP_LOCKED_WITH_RUN if locking else "")
    )


_DUE_RETRIES = {
    (of_run, locking): _due_retries_sql(of_run=of_run, locking=locking)
    for of_run in (False, True)
    for locking in (False, True)
}
_NEXT_RETRY = {
    False: "SELECT min(not_before) FROM tasks WHERE state = ? AND not_before > ?",
    True: "SELECT min(not_before) FROM tasks WHERE state = ? AND not_before > ? AND run_id = ?",
}


def promote_due_retries_txn(conn: Connection, *, now: float, run_id: str | None = None) -> float | None:
    """Retrying tasks whose backoff has passed become ready. Returns when the next one is due, if any.

    Several workers promote at once: each takes the due tasks no other transaction holds, and a task
    another worker promoted (or a user cancelled) in the meantime is simply not moved again.
    """
    parameters: list[Any] = [TaskState.RETRYING.value, now] + ([run_id] if run_id is not None else [])
    query = _DUE_RETRIES[run_id is not None, conn.dialect.name == "postgresql"]
    due = [int(task_id) for (task_id,) in fetch_txn(conn, query, parameters)]
    transition_tasks_txn(conn, due, TaskState.RETRYING, TaskState.READY, now=now, strict=False)
    (later,) = fetch_txn(conn, _NEXT_RETRY[run_id is not None], parameters)[0]
    return float(later) if later is not None else None


def _expand(conn: Connection, parent_id: int, *, now: float) -> None:
    """A ready mapped step creates one ready task per element of its source step's output list."""
    started = transition_tasks_txn(
        conn,
        [parent_id],
        TaskState.READY,
        TaskState.RUNNING,
        now=now,
        values={"started_at": now},
        strict=False,
    )
    if not started:  # expanded (or cancelled) by another transaction meanwhile
        return
    parent = conn.execute(select(tasks).where(tasks.c.id == parent_id)).one()
    source = json.loads(parent.input)["over"]
    data = conn.execute(
        select(checkpoints.c.data)
        .join(tasks, tasks.c.id == checkpoints.c.task_id)
        .where(tasks.c.run_id == parent.run_id, tasks.c.step == source, tasks.c.kind != TaskKind.ITEM.value)
    ).scalar()
    elements = json.loads(data) if data is not None else None
    if not isinstance(elements, list):
        kind = type(elements).__name__
        moved = transition_tasks_txn(
            conn,
            [parent_id],
            TaskState.RUNNING,
            TaskState.FAILED,
            now=now,
            values={
                "finished_at": now,
                "error": f"mapped over step {source!r}, whose output is {kind}, not a list",
            },
        )
        fail_downstream_txn(conn, moved, now=now)
        return
    if not elements:
        release_dependents_txn(conn, _succeed_map_parent(conn, parent_id, [], now=now), now=now)
        return
    # Items are born ready: the dependencies they share with their mapped step have all succeeded.
    # One `task.expanded` event announces them (no per-item pending → ready transitions to record).
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
                "parent_id": parent_id,
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
    append_events_txn(
        conn,
        [
            event_row(
                parent.run_id,
                parent_id,
                EventType.TASK_EXPANDED,
                now,
                {"task": started[0].name, "items": len(elements), "state": TaskState.READY.value},
            )
        ],
    )


def running_count_txn(conn: Connection, *, run_id: str | None = None) -> int:
    """Tasks running under a lease, in one run or everywhere."""
    if run_id is None:
        return int(conn.execute(_RUNNING_EVERYWHERE).scalar_one())
    return int(conn.execute(_RUNNING_IN_RUN, {"run": run_id}).scalar_one())


def ready_candidates_txn(conn: Connection, *, limit: int, run_id: str | None = None) -> list[Candidate]:
    """Up to ``limit`` ready tasks of running runs, in claim order: critical path first, then priority,
    then age. On PostgreSQL they are locked with ``FOR UPDATE SKIP LOCKED`` so that many workers see
    disjoint sets; on SQLite the write transaction already serialises claimers."""
    query = _CANDIDATES[run_id is not None, conn.dialect.name == "postgresql"]
    parameters: list[Any] = [TaskState.READY.value, RunState.RUNNING.value, TaskState.RUNNING.value]
    parameters += [limit] if run_id is None else [run_id, limit]
    return [Candidate(*row) for row in fetch_txn(conn, query, parameters)]


def expand_map_txn(conn: Connection, map_id: int, *, now: float) -> None:
    """Create the items of a ready mapped step from its input and start it."""
    _expand(conn, map_id, now=now)


def lease_tasks_txn(
    conn: Connection, ids: Sequence[int], *, worker_id: str, now: float, lease_seconds: float
) -> list[ClaimedTask]:
    """Move ready tasks to running under a lease held by ``worker_id``, open their attempts and load
    what they need to run. A task another transaction moved meanwhile is left out."""
    moved = transition_tasks_txn(
        conn,
        ids,
        TaskState.READY,
        TaskState.RUNNING,
        now=now,
        values={"lease_owner": worker_id, "lease_expires_at": now + lease_seconds, "started_at": now},
        increment=("attempts",),
        strict=False,
    )
    return _claimed(conn, moved, worker_id=worker_id, now=now)


def _claimed(
    conn: Connection, moved: Sequence[MovedTask], *, worker_id: str, now: float
) -> list[ClaimedTask]:
    bulk_insert_txn(
        conn,
        attempts,
        [
            {
                "task_id": m.id,
                "run_id": m.run_id,
                "number": m.attempts,
                "worker": worker_id,
                "outcome": AttemptOutcome.RUNNING.value,
                "started_at": now,
            }
            for m in moved
        ],
    )
    # Items take their context from their mapped step's dependencies: load each owner's once.
    owner_of = {m.id: (m.parent_id if m.kind == TaskKind.ITEM.value and m.parent_id else m.id) for m in moved}
    upstream: dict[int, dict[str, str]] = {owner: {} for owner in owner_of.values()}
    owners = sorted(upstream)
    for chunk in _chunks(owners):
        for owner, step, data in fetch_txn(conn, _UPSTREAM.format(ids=markers(len(chunk))), chunk):
            upstream[owner][step] = data
    return [
        ClaimedTask(
            id=m.id,
            run_id=m.run_id,
            name=m.name,
            step=m.step,
            kind=TaskKind(m.kind),
            attempt=m.attempts,
            failures=m.failures,
            item=m.input,
            upstream=upstream[owner_of[m.id]],
        )
        for m in moved
    ]


def reopen_skipped_txn(conn: Connection, run_id: str, *, now: float) -> None:
    """After a failed task was given a new attempt: its run's skipped tasks wait again, except those
    still behind another task that is failed."""
    skipped = list(
        conn.execute(
            select(tasks.c.id).where(tasks.c.run_id == run_id, tasks.c.state == TaskState.SKIPPED.value)
        ).scalars()
    )
    transition_tasks_txn(
        conn, skipped, TaskState.SKIPPED, TaskState.PENDING, now=now, values={"finished_at": None}
    )
    still_failed = conn.execute(
        select(*MOVED_COLUMNS).where(tasks.c.run_id == run_id, tasks.c.state == TaskState.FAILED.value)
    )
    fail_downstream_txn(conn, [MovedTask(*row) for row in still_failed], now=now)


# -- cancelling ------------------------------------------------------------------------------------

_OPEN_STATES = (TaskState.PENDING, TaskState.READY, TaskState.RUNNING, TaskState.RETRYING, TaskState.WAITING)
_OPEN_TASKS = (
    f"SELECT id, state FROM tasks WHERE run_id = ? AND state IN ({markers(len(_OPEN_STATES))}) ORDER BY id"
)
_CLOSE_RUNNING_ATTEMPTS = (
    "UPDATE attempts SET outcome = ?, finished_at = ?, error = ? WHERE task_id IN ({ids}) AND outcome = ?"
)


def cancel_open_tasks_txn(conn: Connection, run_id: str, *, now: float, reason: str) -> int:
    """Cancel every unfinished task of a run whose row the caller holds ``FOR UPDATE`` (see the lock order
    in :mod:`baton.store.transitions`). Running attempts are closed ``cancelled`` here and now: their
    worker stops them when it next looks, and whatever they return later is discarded. Returns how many."""
    sql = _OPEN_TASKS + (" FOR UPDATE" if conn.dialect.name == "postgresql" else "")
    rows = fetch_txn(conn, sql, [run_id, *(s.value for s in _OPEN_STATES)])
    cancelled = 0
    for state in _OPEN_STATES:
        ids = [int(task_id) for task_id, current in rows if current == state.value]
        moved = transition_tasks_txn(
            conn,
            ids,
            state,
            TaskState.CANCELLED,
            now=now,
            values={"finished_at": now, "lease_owner": None, "lease_expires_at": None},
            strict=False,
        )
        cancelled += len(moved)
        if state is TaskState.RUNNING:
            for chunk in _chunks([m.id for m in moved]):
                execute_txn(
                    conn,
                    _CLOSE_RUNNING_ATTEMPTS.format(ids=markers(len(chunk))),
                    [AttemptOutcome.CANCELLED.value, now, reason, *chunk, AttemptOutcome.RUNNING.value],
                )
    return cancelled


# -- leases ----------------------------------------------------------------------------------------


_EXTEND_LEASES = (
    "UPDATE tasks SET lease_expires_at = ? WHERE id IN ({ids}) AND lease_owner = ? AND state = ? RETURNING id"
)
_RUNS_OF_TASKS = "SELECT DISTINCT run_id FROM tasks WHERE id IN ({ids})"


def extend_leases_txn(
    conn: Connection, task_ids: Sequence[int], *, worker_id: str, now: float, lease_seconds: float
) -> set[int]:
    """Renew this worker's leases on ``task_ids`` (the attempts it is running); returns the ids it still
    holds. Only the tasks named: a task claimed by a transaction whose commit this worker never heard of
    (its connection dropped) is not kept alive here, so it is retried elsewhere when its lease ends."""
    held: set[int] = set()
    for chunk in _chunks(sorted(task_ids)):
        if conn.dialect.name == "postgresql":
            runs_of = [r for (r,) in fetch_txn(conn, _RUNS_OF_TASKS.format(ids=markers(len(chunk))), chunk)]
            lock_runs_txn(conn, runs_of)
        rows = fetch_txn(
            conn,
            _EXTEND_LEASES.format(ids=markers(len(chunk))),
            [now + lease_seconds, *chunk, worker_id, TaskState.RUNNING.value],
        )
        held.update(int(task_id) for (task_id,) in rows)
    return held


def _lost_sql(*, dead: int, of_run: bool, locking: bool) -> str:
    owners = f" OR tasks.lease_owner IN ({markers(dead)})" if dead else ""
    return (
        "SELECT tasks.id, tasks.attempts, tasks.failures FROM tasks JOIN runs ON runs.id = tasks.run_id"
        " WHERE tasks.state = ? AND tasks.lease_owner IS NOT NULL"
        f" AND (tasks.lease_expires_at < ?{owners})"
        + (" AND tasks.run_id = ?" if of_run else "")
        + " ORDER BY tasks.id"
        + (SKIP_LOCKED_WITH_RUN if locking else "")
    )


def lost_tasks_txn(
    conn: Connection, *, now: float, dead_workers: Sequence[str] = (), run_id: str | None = None
) -> list[tuple[int, int, int]]:
    """Running tasks whose lease expired or whose worker is among ``dead_workers`` (locked on
    PostgreSQL, skipping those another transaction holds), in id order: id, attempts, failures."""
    sql = _lost_sql(
        dead=len(dead_workers), of_run=run_id is not None, locking=conn.dialect.name == "postgresql"
    )
    parameters: list[Any] = [TaskState.RUNNING.value, now, *dead_workers]
    parameters += [run_id] if run_id is not None else []
    return [(int(i), int(tried), int(failed)) for i, tried, failed in fetch_txn(conn, sql, parameters)]


def close_lost_attempts_txn(conn: Connection, task_ids: Sequence[int], *, now: float, reason: str) -> None:
    """The running attempts of these tasks end as lost."""
    for chunk in _chunks(task_ids):
        conn.execute(
            update(attempts)
            .where(attempts.c.task_id.in_(chunk), attempts.c.outcome == AttemptOutcome.RUNNING.value)
            .values(outcome=AttemptOutcome.LOST.value, finished_at=now, error=reason)
        )


def runs_without_work_txn(conn: Connection, *, run_id: str | None = None) -> list[str]:
    """Running runs with no task ready, running or retrying: they only wait to be judged (their last
    task was finished, rejected or cancelled by some other process)."""
    busy = exists(
        select(1).where(
            tasks.c.run_id == runs.c.id,
            tasks.c.state.in_([TaskState.READY.value, TaskState.RUNNING.value, TaskState.RETRYING.value]),
        )
    )
    query = select(runs.c.id).where(runs.c.state == RunState.RUNNING.value, ~busy)
    if run_id is not None:
        query = query.where(runs.c.id == run_id)
    return list(conn.execute(query).scalars())
