"""Scheduling decisions: which ready tasks a worker claims, which wait for an approval, when a mapped
step expands, how many run at once, and when a task that keeps losing its worker fails for good.

The statements these decisions run live in :mod:`baton.store.tasks` (claim order is the ``ORDER BY`` of
its candidate query: critical path first, then priority, then age). Everything here runs inside the
worker's one transaction per tick: a decision and the writes it causes commit together or not at all.

Not yet here (still in :mod:`baton.store.tasks`, because recording an outcome runs them in the same
statement batch): which pending tasks become ready when their dependencies succeed, and which fail or
are skipped downstream of a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from baton.core.states import TaskKind, TaskState
from baton.store.store import Connection
from baton.store.tasks import (
    Candidate,
    ClaimedTask,
    close_lost_attempts_txn,
    expand_map_txn,
    fail_downstream_txn,
    lease_tasks_txn,
    lost_tasks_txn,
    ready_candidates_txn,
    running_count_txn,
)
from baton.store.transitions import MovedTask, transition_tasks_txn

__all__ = ["EXPANSION_ROUNDS", "LOST_ATTEMPTS_LIMIT", "claim_tasks_txn", "recover_lost_tasks_txn"]

# A task whose worker was lost this many times is failed: its step is probably what kills the process.
# The default of the worker setting `lost_attempts_limit` (`baton worker --max-lost`).
LOST_ATTEMPTS_LIMIT = 10
# Expanding a mapped step may make another ready (a map over an empty map): so many rounds per claim.
EXPANSION_ROUNDS = 4


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
    """Lease up to ``limit`` ready tasks to ``worker_id``, in the store's claim order.

    ``global_limit`` caps the tasks running under a lease everywhere; a run's ``max_concurrency`` caps
    its own. Ready mapped steps expand into items on the way (a mapped step is never claimed itself:
    one still left after the last round is expanded by the next tick); tasks that need an approval and
    have none go to ``waiting``.
    """
    if global_limit is not None:
        limit = min(limit, max(global_limit - running_count_txn(conn), 0))
    if limit <= 0:
        return []
    candidates = ready_candidates_txn(conn, limit=limit, run_id=run_id)
    for _ in range(EXPANSION_ROUNDS):
        maps = [int(c.id) for c in candidates if c.kind == TaskKind.MAP.value]
        if not maps:
            break
        for map_id in maps:
            expand_map_txn(conn, map_id, now=now)
        candidates = ready_candidates_txn(conn, limit=limit, run_id=run_id)
    candidates = [c for c in candidates if c.kind != TaskKind.MAP.value]
    held = [int(c.id) for c in candidates if c.approval and not c.approved]
    transition_tasks_txn(conn, held, TaskState.READY, TaskState.WAITING, now=now, strict=False)
    ids = _within_run_limits(conn, [c for c in candidates if not (c.approval and not c.approved)])
    if not ids:
        return []
    return lease_tasks_txn(conn, ids, worker_id=worker_id, now=now, lease_seconds=lease_seconds)


def _within_run_limits(conn: Connection, candidates: Sequence[Candidate]) -> list[int]:
    """The candidates that fit under their run's ``max_concurrency``, counting what already runs."""
    limits = {c.run_id: c.max_concurrency for c in candidates if c.max_concurrency}
    room = {run: limit - running_count_txn(conn, run_id=run) for run, limit in limits.items()}
    chosen: list[int] = []
    for candidate in candidates:
        if candidate.run_id in room:
            if room[candidate.run_id] <= 0:
                continue
            room[candidate.run_id] -= 1
        chosen.append(int(candidate.id))
    return chosen


def recover_lost_tasks_txn(
    conn: Connection,
    *,
    now: float,
    dead_workers: Iterable[str] = (),
    run_id: str | None = None,
    limit: int = LOST_ATTEMPTS_LIMIT,
    reason: str = "worker lost or lease expired",
) -> list[MovedTask]:
    """Tasks whose worker died or whose lease expired are retried as a new attempt, not counted as a
    failure (the step did not fail, its process did) — until they have lost ``limit`` workers, when
    they fail for good. A worker that shuts down gives its unfinished attempts back the same way."""
    lost = lost_tasks_txn(conn, now=now, dead_workers=sorted(set(dead_workers)), run_id=run_id)
    if not lost:
        return []
    ids = [task_id for task_id, _, _ in lost]
    close_lost_attempts_txn(conn, ids, now=now, reason=reason)
    # Attempts that ended as failures are the step's doing; the others lost their worker.
    hopeless = [task_id for task_id, tried, failures in lost if tried - failures >= limit]
    if hopeless:
        failed = transition_tasks_txn(
            conn,
            hopeless,
            TaskState.RUNNING,
            TaskState.FAILED,
            now=now,
            values={
                "lease_owner": None,
                "lease_expires_at": None,
                "finished_at": now,
                "error": f"lost its worker {limit} times: the step may be killing its process",
            },
            strict=False,
        )
        fail_downstream_txn(conn, failed, now=now)
    return transition_tasks_txn(
        conn,
        [i for i in ids if i not in hopeless],
        TaskState.RUNNING,
        TaskState.RETRYING,
        now=now,
        values={"lease_owner": None, "lease_expires_at": None, "not_before": now},
        data={"reason": reason},
        strict=False,
    )
