"""Every scheduling decision: what a worker claims, what waits for an approval, how a mapped step expands
and when it completes, which dependents become ready, which tasks fail or are skipped downstream of a
failure, when a retry is due, what a cancel stops, when a task that keeps losing its worker fails, and
what a run has come to (its verdict, and whether it is rolled back).

The statements these decisions run live in :mod:`baton.store` (tasks, attempts, checkpoints, outcomes);
nothing there decides. Claim order is the ``ORDER BY`` of the store's candidate query: critical path
first, then priority, then age.

Everything here runs inside the caller's transaction. A worker's tick is ONE transaction:
:func:`record_outcomes_txn` stores the outcomes (checkpoints and states), then releases the dependents
that became ready — so a task's dependents are released only by the commit that stores its checkpoint —
and :func:`claim_tasks_txn` claims the next tasks. Grouping many tasks into one commit is what makes
durable execution fast; a decision and the writes it causes commit together or not at all.

Eager dispatch: a dependent released by a worker's tick that the worker may run at once (a plain step
with no approval outstanding, of a running run without a concurrency cap) can go straight from
``pending`` to ``running`` in that same tick, if it is among the next tasks in claim order — it is never
seen ``ready``, which saves a chain one state change (an UPDATE, an event, an index entry) per task.
Released tasks the tick does not claim become ``ready`` as always.

With many workers (PostgreSQL) the statements follow the store's lock order (a run's row before its
tasks, see :mod:`baton.store.transitions`), and a transition that finds its task already moved on leaves
it alone: losing a race to another worker, or to a user who cancelled the run, is a normal outcome.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from baton.core.events import EventType
from baton.core.states import AttemptOutcome, RunState, TaskKind, TaskState, run_verdict
from baton.store.attempts import close_running_attempts_txn
from baton.store.checkpoints import insert_checkpoints_txn, item_outputs_txn, step_output_txn
from baton.store.events import append_events_txn, event_row
from baton.store.outcomes import (
    Outcome,
    store_cancellations_txn,
    store_failures_txn,
    store_successes_txn,
)
from baton.store.rows import Candidate, ClaimedTask, MovedTask, Released
from baton.store.runs import failure_reason_txn
from baton.store.store import Connection
from baton.store.tasks import (
    due_retries_txn,
    get_task_txn,
    has_unfinished_item_txn,
    insert_items_txn,
    items_in_state_txn,
    lease_tasks_txn,
    lock_tasks_txn,
    lost_tasks_txn,
    newly_ready_txn,
    next_retry_txn,
    open_tasks_txn,
    pending_dependents_txn,
    ready_candidates_txn,
    running_count_txn,
    task_state_counts,
    tasks_in_state_txn,
)
from baton.store.transitions import lock_runs_txn, run_state_txn, transition_run_txn, transition_tasks_txn

__all__ = [
    "EXPANSION_ROUNDS",
    "LOST_ATTEMPTS_LIMIT",
    "cancel_open_tasks_txn",
    "claim_tasks_txn",
    "conclude_run_txn",
    "fail_downstream_txn",
    "promote_due_retries_txn",
    "record_outcomes_txn",
    "recover_lost_tasks_txn",
    "release_dependents_txn",
    "reopen_skipped_txn",
]

# A task whose worker was lost this many times is failed: its step is probably what kills the process.
# The default of the worker setting `lost_attempts_limit` (`baton worker --max-lost`).
LOST_ATTEMPTS_LIMIT = 10
# Expanding a mapped step may make another ready (a map over an empty map): so many rounds per claim.
EXPANSION_ROUNDS = 4


# -- outcomes and what follows from them -----------------------------------------------------------


def record_outcomes_txn(
    conn: Connection,
    outcomes: Sequence[Outcome],
    *,
    worker_id: str,
    now: float,
    held: list[Candidate] | None = None,
) -> set[str]:
    """Store the outcomes of finished attempts and what follows from them: a success releases its
    dependents, a failure for good fails or skips what is downstream. Returns the runs they belong to.

    With ``held``, released dependents that may be dispatched eagerly are left pending and added to it:
    the caller must pass them to :func:`claim_tasks_txn` in the same transaction (see the module's text).
    """
    if not outcomes:
        return set()
    # The runs' rows before their tasks (the lock order): the moves share-lock them in their own
    # statement; cancellations, which may move nothing, lock them first.
    lock_runs_txn(conn, {o.run_id for o in outcomes if o.cancelled})
    succeeded: list[Outcome] = []
    retrying: list[Outcome] = []
    failed: list[Outcome] = []
    cancelled: list[Outcome] = []
    for o in outcomes:
        if o.cancelled:
            cancelled.append(o)
        elif o.succeeded:
            succeeded.append(o)
        else:
            (retrying if o.retry_in is not None else failed).append(o)
    done = store_successes_txn(conn, succeeded, worker_id=worker_id, now=now)
    store_failures_txn(conn, retrying, TaskState.RETRYING, worker_id=worker_id, now=now)
    fail_downstream_txn(
        conn, store_failures_txn(conn, failed, TaskState.FAILED, worker_id=worker_id, now=now), now=now
    )
    store_cancellations_txn(conn, cancelled, worker_id=worker_id, now=now)
    release_dependents_txn(conn, done, now=now, held=held)
    return {o.run_id for o in outcomes}


def release_dependents_txn(
    conn: Connection, finished: Sequence[MovedTask], *, now: float, held: list[Candidate] | None = None
) -> None:
    """Make ready every pending task whose dependencies have all succeeded, and complete mapped steps
    whose items have all succeeded — repeatedly, since a completed mapped step releases more.

    An item has no dependents of its own (its mapped step has them): an item's success only counts
    towards completing its mapped step. With ``held``, the released tasks that may be dispatched eagerly
    stay pending and are added to it instead (see :func:`record_outcomes_txn`).
    """
    frontier = list(finished)
    while frontier:
        completed = _complete_mapped_steps(conn, frontier, now=now)
        steps = [m.id for m in frontier if m.kind is not TaskKind.ITEM]
        released = newly_ready_txn(conn, steps) if steps else []
        eager = [r.candidate for r in released if held is not None and _dispatchable(r)]
        if held is not None:
            held += eager
        kept = {c.id for c in eager}
        ready = [r.candidate.id for r in released if r.candidate.id not in kept]
        transition_tasks_txn(conn, ready, TaskState.PENDING, TaskState.READY, now=now, strict=False)
        frontier = completed


def _dispatchable(released: Released) -> bool:
    """Whether a released task may go straight to running: a plain step of a running run, with no
    approval outstanding and no concurrency cap to count (those take the ready path and its checks)."""
    task = released.candidate
    return (
        released.run_running
        and task.kind == TaskKind.STEP
        and not task.awaits_approval
        and task.max_concurrency is None
    )


def _complete_mapped_steps(conn: Connection, finished: Sequence[MovedTask], *, now: float) -> list[MovedTask]:
    """The mapped steps of finished items whose items have now all succeeded succeed, their checkpoint
    the list of their items' outputs in item order."""
    completed: list[MovedTask] = []
    for parent_id in sorted({m.parent_id for m in finished if m.parent_id is not None}):
        lock_tasks_txn(conn, [parent_id])  # two workers finishing its last items: one judges at a time
        if not has_unfinished_item_txn(conn, parent_id):
            completed += _succeed_mapped_step(conn, parent_id, item_outputs_txn(conn, parent_id), now=now)
    return completed


def _succeed_mapped_step(
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
    insert_checkpoints_txn(conn, [(m.id, m.run_id, "[" + ",".join(outputs) + "]") for m in moved], now=now)
    return moved


# The states an item may be in when its mapped step fails: all are cancelled (a running one's result
# will be discarded).
_ITEMS_TO_CANCEL = (TaskState.PENDING, TaskState.READY, TaskState.RETRYING, TaskState.RUNNING)


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
            for state in _ITEMS_TO_CANCEL:
                transition_tasks_txn(
                    conn,
                    items_in_state_txn(conn, parent.id, state),
                    state,
                    TaskState.CANCELLED,
                    now=now,
                    values={"finished_at": now},
                    strict=False,  # an item another worker finished meanwhile keeps its outcome
                )
        skipped = pending_dependents_txn(conn, [*(m.id for m in frontier), *(p.id for p in failed_parents)])
        frontier = transition_tasks_txn(
            conn,
            skipped,
            TaskState.PENDING,
            TaskState.SKIPPED,
            now=now,
            strict=False,
            values={"finished_at": now},
        )


def reopen_skipped_txn(conn: Connection, run_id: str, *, now: float) -> None:
    """After a failed task was given a new attempt: its run's skipped tasks wait again, except those
    still behind another task that is failed."""
    skipped = [m.id for m in tasks_in_state_txn(conn, run_id, TaskState.SKIPPED)]
    transition_tasks_txn(
        conn, skipped, TaskState.SKIPPED, TaskState.PENDING, now=now, values={"finished_at": None}
    )
    fail_downstream_txn(conn, tasks_in_state_txn(conn, run_id, TaskState.FAILED), now=now)


# -- claiming --------------------------------------------------------------------------------------


def claim_tasks_txn(
    conn: Connection,
    *,
    worker_id: str,
    now: float,
    lease_seconds: float,
    limit: int,
    run_id: str | None = None,
    global_limit: int | None = None,
    released: Sequence[Candidate] = (),
) -> list[ClaimedTask]:
    """Lease up to ``limit`` ready tasks to ``worker_id``, in the store's claim order.

    ``global_limit`` caps the tasks running under a lease everywhere; a run's ``max_concurrency`` caps
    its own. Ready mapped steps expand into items on the way (a mapped step is never claimed itself:
    one still left after the last round is expanded by the next tick); tasks that need an approval and
    have none go to ``waiting``. ``released`` are the pending tasks this transaction held back for eager
    dispatch (:func:`record_outcomes_txn`): they compete with the ready tasks in claim order, and those
    not claimed become ready.
    """
    if global_limit is not None:
        limit = min(limit, max(global_limit - running_count_txn(conn), 0))
    if limit <= 0:
        _make_ready(conn, released, now=now)
        return []
    candidates = ready_candidates_txn(conn, limit=limit, run_id=run_id)
    for _ in range(EXPANSION_ROUNDS):
        maps = [int(c.id) for c in candidates if c.kind == TaskKind.MAP]
        if not maps:
            break
        for map_id in maps:
            expand_map_txn(conn, map_id, now=now)
        candidates = ready_candidates_txn(conn, limit=limit, run_id=run_id)
    candidates = [c for c in candidates if c.kind != TaskKind.MAP]
    held = [int(c.id) for c in candidates if c.awaits_approval]
    transition_tasks_txn(conn, held, TaskState.READY, TaskState.WAITING, now=now, strict=False)
    fitting = _within_run_limits(conn, [c for c in candidates if not c.awaits_approval])
    # The ready candidates are the first `limit` in claim order, so the first `limit` of them and the
    # released together are the first `limit` of all.
    chosen = sorted([*fitting, *released], key=lambda c: c.claim_order)[:limit]
    eager = {c.id for c in released}
    taken = {c.id for c in chosen}
    _make_ready(conn, [c for c in released if c.id not in taken], now=now)
    lease = functools.partial(
        lease_tasks_txn, conn, worker_id=worker_id, now=now, lease_seconds=lease_seconds
    )
    claimed = lease([c.id for c in chosen if c.id not in eager])
    claimed += lease([c.id for c in chosen if c.id in eager], source=TaskState.PENDING)
    order = {c.id: position for position, c in enumerate(chosen)}
    return sorted(claimed, key=lambda task: order[task.id])


def _make_ready(conn: Connection, released: Sequence[Candidate], *, now: float) -> None:
    transition_tasks_txn(
        conn, sorted(c.id for c in released), TaskState.PENDING, TaskState.READY, now=now, strict=False
    )


def _within_run_limits(conn: Connection, candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates that fit under their run's ``max_concurrency``, counting what already runs."""
    limits = {c.run_id: c.max_concurrency for c in candidates if c.max_concurrency}
    room = {run: limit - running_count_txn(conn, run_id=run) for run, limit in limits.items()}
    chosen: list[Candidate] = []
    for candidate in candidates:
        if candidate.run_id in room:
            if room[candidate.run_id] <= 0:
                continue
            room[candidate.run_id] -= 1
        chosen.append(candidate)
    return chosen


def expand_map_txn(conn: Connection, map_id: int, *, now: float) -> None:
    """A ready mapped step starts and creates one ready task per element of its source step's output
    list. An output that is not a list fails the step (and what is downstream); an empty list completes
    it at once. One ``task.expanded`` event announces the items (no per-item pending → ready moves)."""
    started = transition_tasks_txn(
        conn, [map_id], TaskState.READY, TaskState.RUNNING, now=now, values={"started_at": now}, strict=False
    )
    if not started:  # expanded (or cancelled) by another transaction meanwhile
        return
    parent = get_task_txn(conn, map_id)
    source = json.loads(parent.input or "{}")["over"]
    data = step_output_txn(conn, parent.run_id, source)
    elements = json.loads(data) if data is not None else None
    if not isinstance(elements, list):
        kind = type(elements).__name__
        error = f"mapped over step {source!r}, whose output is {kind}, not a list"
        moved = transition_tasks_txn(
            conn,
            [map_id],
            TaskState.RUNNING,
            TaskState.FAILED,
            now=now,
            values={"finished_at": now, "error": error},
        )
        fail_downstream_txn(conn, moved, now=now)
        return
    if not elements:
        release_dependents_txn(conn, _succeed_mapped_step(conn, map_id, [], now=now), now=now)
        return
    insert_items_txn(conn, parent, elements, now=now)
    append_events_txn(
        conn,
        [
            event_row(
                parent.run_id,
                map_id,
                EventType.TASK_EXPANDED,
                now,
                {"task": started[0].name, "items": len(elements), "state": TaskState.READY.value},
            )
        ],
    )


def promote_due_retries_txn(conn: Connection, *, now: float, run_id: str | None = None) -> float | None:
    """Retrying tasks whose backoff has passed become ready. Returns when the next one is due, if any.

    Several workers promote at once: each takes the due tasks no other transaction holds, and a task
    another worker promoted (or a user cancelled) in the meantime is simply not moved again.
    """
    due = due_retries_txn(conn, now=now, run_id=run_id)
    transition_tasks_txn(conn, due, TaskState.RETRYING, TaskState.READY, now=now, strict=False)
    return next_retry_txn(conn, now=now, run_id=run_id)


# -- a run's verdict ------------------------------------------------------------------------------


def conclude_run_txn(
    conn: Connection,
    run_id: str,
    *,
    now: float,
    worker_id: str,
    has_compensations: Callable[[], bool],
) -> tuple[RunState | None, bool]:
    """Judge a running or waiting run by its tasks' states and move it to its verdict, in the caller's
    transaction with the run's row locked, so that an approval or a retry that lands meanwhile is never
    overwritten. Returns the new state (None if the run did not move) and whether to compensate now.

    A failed run that has compensations to make (``has_compensations``) becomes ``compensating`` instead,
    with ``worker_id`` as its compensator: only that worker compensates, and the run becomes ``failed``
    when it is done. If that worker goes away first, another takes it over (see
    :func:`~baton.store.runs.claim_orphaned_compensations_txn`).
    """
    current = run_state_txn(conn, run_id, lock=True)
    if current not in (RunState.RUNNING, RunState.WAITING):
        return None, False
    verdict = run_verdict(task_state_counts(conn, run_id))
    if verdict is None or verdict is current:
        return None, False
    values: dict[str, Any] = {} if verdict is RunState.WAITING else {"finished_at": now}
    compensate = False
    if verdict is RunState.FAILED:
        values["error"] = failure_reason_txn(conn, run_id)
        compensate = has_compensations()
        if compensate:
            verdict = RunState.COMPENSATING
            values = {"error": values["error"], "compensator": worker_id}
    transition_run_txn(conn, run_id, verdict, now=now, values=values)
    return verdict, compensate


# -- cancelling and losing workers -----------------------------------------------------------------


def cancel_open_tasks_txn(conn: Connection, run_id: str, *, now: float, reason: str) -> int:
    """Cancel every unfinished task of a run whose row the caller holds ``FOR UPDATE`` (see the lock order
    in :mod:`baton.store.transitions`): tasks not yet started at once; running attempts are closed
    ``cancelled`` here and now — their worker stops them when it next looks, and whatever they return
    later is discarded. Returns how many."""
    cancelled = 0
    for state, ids in open_tasks_txn(conn, run_id).items():
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
            close_running_attempts_txn(
                conn, [m.id for m in moved], AttemptOutcome.CANCELLED, now=now, reason=reason
            )
    return cancelled


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
    close_running_attempts_txn(conn, ids, AttemptOutcome.LOST, now=now, reason=reason)
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
        values={"lease_owner": None, "lease_expires_at": None, "not_before": now},
        now=now,
        data={"reason": reason},
        strict=False,
    )
