"""The scheduler's hot path in the store: claiming tasks under leases and recording their outcomes.

One worker "tick" is one transaction: it records the outcomes that finished since the last tick
(checkpoints and states together), releases the dependents that became ready, and claims the next
tasks. Grouping many tasks into one commit is what makes durable execution fast; a task's
dependents are only released by the commit that stores its checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, insert, select, update

from baton.core.states import AttemptOutcome, RunState, TaskKind, TaskState
from baton.store.events import append_events_txn, event_row
from baton.store.schema import attempts, checkpoints, runs, task_dependencies, tasks
from baton.store.transitions import CHUNK, MovedTask, transition_run_txn, transition_tasks_txn

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


@dataclass
class TickResult:
    claimed: list[ClaimedTask] = field(default_factory=list)
    finished_runs: set[str] = field(default_factory=set)  # runs where a task finished this tick


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# -- recording outcomes ----------------------------------------------------------------------------


def record_outcomes_txn(
    conn: Connection, outcomes: Sequence[Outcome], *, worker_id: str, now: float
) -> set[str]:
    """Store the outcomes of finished attempts; returns the runs they belong to."""
    if not outcomes:
        return set()
    succeeded = [o for o in outcomes if o.succeeded]
    retrying = [o for o in outcomes if not o.succeeded and not o.cancelled and o.retry_in is not None]
    failed = [o for o in outcomes if not o.succeeded and not o.cancelled and o.retry_in is None]
    cancelled = [o for o in outcomes if o.cancelled]

    done = _record_successes(conn, succeeded, worker_id=worker_id, now=now)
    _record_failures(conn, retrying, failed, worker_id=worker_id, now=now)
    if cancelled:
        transition_tasks_txn(
            conn,
            [o.task_id for o in cancelled],
            TaskState.RUNNING,
            TaskState.CANCELLED,
            now=now,
            owner=worker_id,
            strict=False,
            values={"lease_owner": None, "finished_at": now},
        )
        _close_attempts(conn, cancelled, AttemptOutcome.CANCELLED, now)
    release_dependents_txn(conn, done, now=now)
    return {o.run_id for o in outcomes}


def _record_successes(
    conn: Connection, outcomes: Sequence[Outcome], *, worker_id: str, now: float
) -> list[MovedTask]:
    if not outcomes:
        return []
    moved = transition_tasks_txn(
        conn,
        [o.task_id for o in outcomes],
        TaskState.RUNNING,
        TaskState.SUCCEEDED,
        now=now,
        owner=worker_id,
        strict=False,
        values={"lease_owner": None, "lease_expires_at": None, "finished_at": now, "error": None},
    )
    kept = {m.id for m in moved}
    stored = [o for o in outcomes if o.task_id in kept]
    if stored:
        conn.execute(
            insert(checkpoints),
            [{"task_id": o.task_id, "run_id": o.run_id, "data": o.output, "created_at": now} for o in stored],
        )
    _close_attempts(conn, stored, AttemptOutcome.SUCCEEDED, now)
    lost = [o for o in outcomes if o.task_id not in kept]
    _discard(conn, lost, now)
    return moved


def _discard(conn: Connection, lost: Sequence[Outcome], now: float) -> None:
    """Results of attempts whose lease another worker took over: recorded as events, never applied."""
    if lost:
        _close_attempts(conn, lost, AttemptOutcome.LOST, now)
        append_events_txn(
            conn,
            [
                event_row(
                    o.run_id,
                    o.task_id,
                    "task.result_discarded",
                    now,
                    {"attempt": o.attempt, "reason": "lease lost"},
                )
                for o in lost
            ],
        )


def _record_failures(
    conn: Connection, retrying: Sequence[Outcome], failed: Sequence[Outcome], *, worker_id: str, now: float
) -> None:
    for group, target in ((retrying, TaskState.RETRYING), (failed, TaskState.FAILED)):
        if not group:
            continue
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires_at": None,
            "failures": tasks.c.failures + 1,
        }
        if target is TaskState.FAILED:
            values["finished_at"] = now
        moved = transition_tasks_txn(
            conn,
            [o.task_id for o in group],
            TaskState.RUNNING,
            target,
            now=now,
            owner=worker_id,
            strict=False,
            values=values,
        )
        kept = {m.id for m in moved}
        stored = [o for o in group if o.task_id in kept]
        if stored:
            conn.execute(
                update(tasks)
                .where(tasks.c.id == bindparam("tid"))
                .values(error=bindparam("err"), not_before=bindparam("nb")),
                [{"tid": o.task_id, "err": o.error, "nb": now + (o.retry_in or 0.0)} for o in stored],
            )
            append_events_txn(
                conn,
                [
                    event_row(
                        o.run_id,
                        o.task_id,
                        "task.error",
                        now,
                        {"attempt": o.attempt, "error": o.error, "retry_in": o.retry_in},
                    )
                    for o in stored
                ],
            )
        _close_attempts(conn, stored, AttemptOutcome.FAILED, now, errors=True)
        _discard(conn, [o for o in group if o.task_id not in kept], now)
        if target is TaskState.FAILED and moved:
            fail_downstream_txn(conn, moved, now=now)


def _close_attempts(
    conn: Connection,
    outcomes: Sequence[Outcome],
    outcome: AttemptOutcome,
    now: float,
    *,
    errors: bool = False,
) -> None:
    if not outcomes:
        return
    conn.execute(
        update(attempts)
        .where(attempts.c.task_id == bindparam("tid"), attempts.c.number == bindparam("num"))
        .values(outcome=outcome.value, finished_at=now, error=bindparam("err")),
        [{"tid": o.task_id, "num": o.attempt, "err": o.error if errors else None} for o in outcomes],
    )


# -- releasing and skipping dependents -------------------------------------------------------------


def release_dependents_txn(conn: Connection, finished: Sequence[MovedTask], *, now: float) -> None:
    """Make ready every pending task whose dependencies have all succeeded, and complete mapped steps
    whose items have all succeeded — repeatedly, since a completed mapped step releases more."""
    frontier = list(finished)
    while frontier:
        ids = [m.id for m in frontier]
        next_frontier = _complete_map_parents(conn, ids, now=now)
        candidates: list[int] = []
        for chunk in _chunks(ids):
            candidates += (
                conn.execute(
                    select(task_dependencies.c.task_id)
                    .join(tasks, tasks.c.id == task_dependencies.c.task_id)
                    .where(
                        task_dependencies.c.depends_on_id.in_(chunk), tasks.c.state == TaskState.PENDING.value
                    )
                    .distinct()
                )
                .scalars()
                .all()
            )
        if candidates:
            upstream = tasks.alias("upstream")
            unmet = exists(
                select(1)
                .select_from(
                    task_dependencies.join(upstream, upstream.c.id == task_dependencies.c.depends_on_id)
                )
                .where(
                    task_dependencies.c.task_id == tasks.c.id, upstream.c.state != TaskState.SUCCEEDED.value
                )
            )
            ready: list[int] = []
            for chunk in _chunks(sorted(set(candidates))):
                ready += conn.execute(select(tasks.c.id).where(tasks.c.id.in_(chunk), ~unmet)).scalars().all()
            transition_tasks_txn(conn, ready, TaskState.PENDING, TaskState.READY, now=now)
        frontier = next_frontier


def _complete_map_parents(conn: Connection, finished_ids: Sequence[int], *, now: float) -> list[MovedTask]:
    parents: set[int] = set()
    for chunk in _chunks(finished_ids):
        parents.update(
            conn.execute(
                select(tasks.c.parent_id)
                .where(
                    tasks.c.id.in_(chunk), tasks.c.kind == TaskKind.ITEM.value, tasks.c.parent_id.is_not(None)
                )
                .distinct()
            )
            .scalars()
            .all()
        )
    completed: list[MovedTask] = []
    child = tasks.alias("child")
    for parent_id in sorted(parents):
        open_child = conn.execute(
            select(child.c.id)
            .where(child.c.parent_id == parent_id, child.c.state.in_(NOT_SUCCEEDED))
            .limit(1)
        ).first()
        if open_child is not None:
            continue
        rows = conn.execute(
            select(tasks.c.run_id, checkpoints.c.data)
            .join(checkpoints, checkpoints.c.task_id == tasks.c.id)
            .where(tasks.c.parent_id == parent_id)
            .order_by(tasks.c.map_index)
        ).all()
        completed += _succeed_map_parent(conn, parent_id, [r.data for r in rows], now=now)
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
        ids = [m.id for m in frontier]
        parent_ids = (
            conn.execute(
                select(tasks.c.parent_id)
                .where(tasks.c.id.in_(ids), tasks.c.parent_id.is_not(None))
                .distinct()
            )
            .scalars()
            .all()
        )
        failed_parents = transition_tasks_txn(
            conn,
            list(parent_ids),
            TaskState.RUNNING,
            TaskState.FAILED,
            now=now,
            strict=False,
            values={"finished_at": now, "error": "one of its items failed"},
        )
        for parent in failed_parents:
            for state in (TaskState.PENDING, TaskState.READY, TaskState.RETRYING):
                open_items = (
                    conn.execute(
                        select(tasks.c.id).where(tasks.c.parent_id == parent.id, tasks.c.state == state.value)
                    )
                    .scalars()
                    .all()
                )
                transition_tasks_txn(
                    conn, list(open_items), state, TaskState.CANCELLED, now=now, values={"finished_at": now}
                )
        dependents: list[int] = []
        for chunk in _chunks([*ids, *(p.id for p in failed_parents)]):
            dependents += (
                conn.execute(
                    select(task_dependencies.c.task_id)
                    .join(tasks, tasks.c.id == task_dependencies.c.task_id)
                    .where(
                        task_dependencies.c.depends_on_id.in_(chunk), tasks.c.state == TaskState.PENDING.value
                    )
                    .distinct()
                )
                .scalars()
                .all()
            )
        skipped = transition_tasks_txn(
            conn,
            sorted(set(dependents)),
            TaskState.PENDING,
            TaskState.SKIPPED,
            now=now,
            strict=False,
            values={"finished_at": now},
        )
        frontier = skipped


# -- claiming --------------------------------------------------------------------------------------


def start_pending_runs_txn(conn: Connection, *, now: float, run_id: str | None = None) -> None:
    query = select(runs.c.id).where(runs.c.state == RunState.PENDING.value)
    if run_id is not None:
        query = query.where(runs.c.id == run_id)
    for pending in conn.execute(query).scalars().all():
        transition_run_txn(conn, pending, RunState.RUNNING, now=now, values={"started_at": now})


def promote_due_retries_txn(conn: Connection, *, now: float, run_id: str | None = None) -> float | None:
    """Retrying tasks whose backoff has passed become ready. Returns when the next one is due, if any."""
    query = select(tasks.c.id, tasks.c.not_before).where(tasks.c.state == TaskState.RETRYING.value)
    if run_id is not None:
        query = query.where(tasks.c.run_id == run_id)
    rows = conn.execute(query).all()
    due = [int(r.id) for r in rows if (r.not_before or 0.0) <= now]
    transition_tasks_txn(conn, due, TaskState.RETRYING, TaskState.READY, now=now)
    later = [r.not_before for r in rows if (r.not_before or 0.0) > now]
    return min(later) if later else None


def _expand(conn: Connection, parent: Any, *, now: float) -> None:
    source = json.loads(parent.input)["over"]
    data = conn.execute(
        select(checkpoints.c.data)
        .join(tasks, tasks.c.id == checkpoints.c.task_id)
        .where(tasks.c.run_id == parent.run_id, tasks.c.step == source, tasks.c.kind != TaskKind.ITEM.value)
    ).scalar()
    elements = json.loads(data) if data is not None else None
    started = transition_tasks_txn(
        conn, [parent.id], TaskState.READY, TaskState.RUNNING, now=now, values={"started_at": now}
    )
    if not isinstance(elements, list):
        moved = transition_tasks_txn(
            conn,
            [parent.id],
            TaskState.RUNNING,
            TaskState.FAILED,
            now=now,
            values={
                "finished_at": now,
                "error": f"mapped over step {source!r}, whose output is {type(elements).__name__}, not a list",
            },
        )
        fail_downstream_txn(conn, moved, now=now)
        return
    if not elements:
        release_dependents_txn(conn, _succeed_map_parent(conn, parent.id, [], now=now), now=now)
        return
    rows = (
        conn.execute(
            insert(tasks).returning(tasks.c.id, sort_by_parameter_order=True),
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
                    "state": TaskState.PENDING.value,
                    "priority": parent.priority,
                    "critical": parent.critical,
                    "max_attempts": parent.max_attempts,
                    "created_at": now,
                }
                for index, element in enumerate(elements)
            ],
        )
        .scalars()
        .all()
    )
    append_events_txn(
        conn,
        [
            event_row(
                parent.run_id,
                parent.id,
                "task.expanded",
                now,
                {"task": started[0].name if started else parent.name, "items": len(rows)},
            )
        ],
    )
    transition_tasks_txn(conn, list(rows), TaskState.PENDING, TaskState.READY, now=now)


def claim_tasks_txn(
    conn: Connection,
    *,
    worker_id: str,
    now: float,
    lease_seconds: float,
    limit: int,
    run_id: str | None = None,
    global_limit: int | None = None,
) -> list[ClaimedTask]:
    """Lease up to ``limit`` ready tasks to ``worker_id``: critical path first, then priority, then age.

    On PostgreSQL the candidates are locked with ``FOR UPDATE SKIP LOCKED`` so that many workers
    claim disjoint sets; on SQLite the write transaction already serialises claimers.
    """
    if global_limit is not None:
        running = conn.execute(
            select(func.count()).where(
                tasks.c.state == TaskState.RUNNING.value, tasks.c.lease_owner.is_not(None)
            )
        ).scalar_one()
        limit = min(limit, max(global_limit - running, 0))
    if limit <= 0:
        return []
    query = (
        select(tasks, runs.c.max_concurrency)
        .join(runs, runs.c.id == tasks.c.run_id)
        .where(tasks.c.state == TaskState.READY.value, runs.c.state == RunState.RUNNING.value)
        .order_by(tasks.c.critical.desc(), tasks.c.priority.desc(), tasks.c.id)
        .limit(limit)
    )
    if run_id is not None:
        query = query.where(tasks.c.run_id == run_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=tasks, skip_locked=True)
    candidates = conn.execute(query).all()
    # Mapped steps expand into ready items, which are then candidates themselves.
    maps = [row for row in candidates if row.kind == TaskKind.MAP.value]
    for row in maps:
        _expand(conn, row, now=now)
    if maps:
        candidates = conn.execute(query).all()
    # Tasks that need an approval they have not had wait for it.
    held = [int(r.id) for r in candidates if r.approval and not r.approved and r.kind != TaskKind.MAP.value]
    transition_tasks_txn(conn, held, TaskState.READY, TaskState.RUNNING, now=now)
    transition_tasks_txn(conn, held, TaskState.RUNNING, TaskState.WAITING, now=now)
    runnable = [r for r in candidates if r.kind != TaskKind.MAP.value and int(r.id) not in held]
    ids = _within_run_limits(conn, runnable)
    if not ids:
        return []
    transition_tasks_txn(
        conn,
        ids,
        TaskState.READY,
        TaskState.RUNNING,
        now=now,
        values={
            "lease_owner": worker_id,
            "lease_expires_at": now + lease_seconds,
            "started_at": now,
            "attempts": tasks.c.attempts + 1,
        },
    )
    return _load_claimed(conn, ids, worker_id=worker_id, now=now)


def _within_run_limits(conn: Connection, candidates: Sequence[Any]) -> list[int]:
    limited = {r.run_id: r.max_concurrency for r in candidates if r.max_concurrency}
    room: dict[str, int] = {}
    for limited_run, cap in limited.items():
        running = conn.execute(
            select(func.count()).where(
                tasks.c.run_id == limited_run,
                tasks.c.state == TaskState.RUNNING.value,
                tasks.c.lease_owner.is_not(None),
            )
        ).scalar_one()
        room[limited_run] = cap - running
    chosen: list[int] = []
    for row in candidates:
        if row.run_id in room:
            if room[row.run_id] <= 0:
                continue
            room[row.run_id] -= 1
        chosen.append(int(row.id))
    return chosen


def _load_claimed(conn: Connection, ids: Sequence[int], *, worker_id: str, now: float) -> list[ClaimedTask]:
    rows = conn.execute(
        select(
            tasks.c.id,
            tasks.c.run_id,
            tasks.c.name,
            tasks.c.step,
            tasks.c.kind,
            tasks.c.attempts,
            tasks.c.failures,
            tasks.c.input,
            tasks.c.parent_id,
        ).where(tasks.c.id.in_(ids))
    ).all()
    conn.execute(
        insert(attempts),
        [
            {
                "task_id": r.id,
                "run_id": r.run_id,
                "number": r.attempts,
                "worker": worker_id,
                "outcome": AttemptOutcome.RUNNING.value,
                "started_at": now,
            }
            for r in rows
        ],
    )
    # Items take their context from their mapped step's dependencies: load each owner's once.
    owners = sorted({int(r.parent_id if r.kind == TaskKind.ITEM.value else r.id) for r in rows})
    upstream: dict[int, dict[str, str]] = {owner: {} for owner in owners}
    dep = tasks.alias("dep")
    for edge in conn.execute(
        select(task_dependencies.c.task_id, dep.c.step, checkpoints.c.data)
        .join(dep, dep.c.id == task_dependencies.c.depends_on_id)
        .join(checkpoints, checkpoints.c.task_id == dep.c.id, isouter=True)
        .where(task_dependencies.c.task_id.in_(owners))
    ):
        if edge.data is not None:
            upstream[int(edge.task_id)][edge.step] = edge.data
    position = {task_id: index for index, task_id in enumerate(ids)}
    return [
        ClaimedTask(
            id=int(r.id),
            run_id=r.run_id,
            name=r.name,
            step=r.step,
            kind=TaskKind(r.kind),
            attempt=r.attempts,
            failures=r.failures,
            item=r.input,
            upstream=upstream[int(r.parent_id if r.kind == TaskKind.ITEM.value else r.id)],
        )
        for r in sorted(rows, key=lambda r: position[r.id])
    ]


# -- leases ----------------------------------------------------------------------------------------


def extend_leases_txn(conn: Connection, *, worker_id: str, now: float, lease_seconds: float) -> int:
    result = conn.execute(
        update(tasks)
        .where(tasks.c.lease_owner == worker_id, tasks.c.state == TaskState.RUNNING.value)
        .values(lease_expires_at=now + lease_seconds)
    )
    return int(result.rowcount or 0)


def recover_lost_tasks_txn(
    conn: Connection, *, now: float, dead_workers: Iterable[str] = (), run_id: str | None = None
) -> list[MovedTask]:
    """Tasks whose worker died or whose lease expired are retried as a new attempt (not counted as a
    failure: the step did not fail, its process did)."""
    dead = list(dead_workers)
    lost_condition = tasks.c.lease_expires_at < now
    if dead:
        lost_condition = lost_condition | tasks.c.lease_owner.in_(dead)
    query = select(tasks.c.id).where(
        tasks.c.state == TaskState.RUNNING.value, tasks.c.lease_owner.is_not(None), lost_condition
    )
    if run_id is not None:
        query = query.where(tasks.c.run_id == run_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.execute(query).scalars().all())
    if not ids:
        return []
    for chunk in _chunks(ids):
        conn.execute(
            update(attempts)
            .where(attempts.c.task_id.in_(chunk), attempts.c.outcome == AttemptOutcome.RUNNING.value)
            .values(outcome=AttemptOutcome.LOST.value, finished_at=now, error="worker lost")
        )
    return transition_tasks_txn(
        conn,
        ids,
        TaskState.RUNNING,
        TaskState.RETRYING,
        now=now,
        values={"lease_owner": None, "lease_expires_at": None, "not_before": now},
        data={"reason": "worker lost or lease expired"},
    )
