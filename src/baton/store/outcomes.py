"""Storing how attempts ended: the task's new state, its checkpoint or error, and its attempt — together.

These are the writes of one outcome; what follows from it (dependents that become ready, tasks that
fail or are skipped downstream) is decided by :func:`baton.engine.scheduler.record_outcomes_txn`, which
calls these in the worker's one transaction per tick, so a task's dependents are released only by the
commit that stores its checkpoint.

A result is applied only if its attempt still holds its task — still leased to this worker, still on
that attempt — checked by the UPDATE itself. Otherwise (its lease was taken over, its run was cancelled)
it is recorded as an event and discarded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from baton.core.events import EventType
from baton.core.states import AttemptOutcome, TaskState
from baton.store.attempts import close_attempts_txn
from baton.store.checkpoints import insert_checkpoints_txn
from baton.store.driver import Query, execute_many_txn, fetch_txn, markers
from baton.store.events import append_events_txn, event_row
from baton.store.rows import MovedTask
from baton.store.transitions import CHUNK, transition_tasks_txn


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


CURRENT_ATTEMPTS = Query("tasks.current_attempts", "SELECT id, attempts FROM tasks WHERE id IN ({ids})")
STATES = Query("tasks.states", "SELECT id, state FROM tasks WHERE id IN ({ids})")
SET_ERROR = Query("tasks.set_error", "UPDATE tasks SET error = ?, not_before = ? WHERE id = ?")


def _by_id(conn: Connection, query: Query, task_ids: Sequence[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for start in range(0, len(task_ids), CHUNK):
        chunk = task_ids[start : start + CHUNK]
        found.update(fetch_txn(conn, query.format(ids=markers(len(chunk))), chunk))
    return found


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
    worker and still on that attempt. Returns the moved tasks, the outcomes to store and the lost ones —
    an attempt whose lease expired and whose task was claimed again (even by this worker) must not write
    over the newer attempt."""
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


def store_successes_txn(
    conn: Connection, outcomes: Sequence[Outcome], *, worker_id: str, now: float
) -> list[MovedTask]:
    """Succeeded attempts: their tasks become ``succeeded`` with their checkpoints. Returns the moved tasks."""
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
    insert_checkpoints_txn(conn, [(o.task_id, o.run_id, o.output or "") for o in stored], now=now)
    close_attempts_txn(
        conn, [(o.task_id, o.attempt, None) for o in stored], AttemptOutcome.SUCCEEDED, now=now
    )
    _discard(conn, lost, now)
    return moved


def store_failures_txn(
    conn: Connection, group: Sequence[Outcome], target: TaskState, *, worker_id: str, now: float
) -> list[MovedTask]:
    """Failed attempts: their tasks become ``target`` (``retrying``, or ``failed`` for good) with their
    error, one failure more. Returns the moved tasks."""
    if not group:
        return []
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
    if target is TaskState.FAILED:
        values["finished_at"] = now
    moved, stored, lost = _move_finished(
        conn, group, target, worker_id=worker_id, now=now, values=values, increment=("failures",)
    )
    if stored:
        execute_many_txn(conn, SET_ERROR, [(o.error, now + (o.retry_in or 0.0), o.task_id) for o in stored])
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
    close_attempts_txn(
        conn, [(o.task_id, o.attempt, o.error) for o in stored], AttemptOutcome.FAILED, now=now
    )
    _discard(conn, lost, now)
    return moved


def store_cancellations_txn(
    conn: Connection, group: Sequence[Outcome], *, worker_id: str, now: float
) -> None:
    """Attempts cancelled with their run. Their task is usually cancelled already, by whoever cancelled
    the run, so its attempt is closed as cancelled whether this moves the task or not — unless the
    attempt is stale (a newer one took over), when it is lost."""
    if not group:
        return
    current = _by_id(conn, CURRENT_ATTEMPTS, [o.task_id for o in group])
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
    close_attempts_txn(conn, [(o.task_id, o.attempt, None) for o in live], AttemptOutcome.CANCELLED, now=now)


def _discard(conn: Connection, lost: Sequence[Outcome], now: float) -> None:
    """Results of attempts that no longer hold their task — its lease was taken over, or its run was
    cancelled meanwhile: recorded as events, never applied."""
    if not lost:
        return
    states = _by_id(conn, STATES, sorted({o.task_id for o in lost}))
    cancelled = [o for o in lost if states.get(o.task_id) == TaskState.CANCELLED.value]
    close_attempts_txn(
        conn, [(o.task_id, o.attempt, None) for o in cancelled], AttemptOutcome.CANCELLED, now=now
    )
    others = [o for o in lost if o not in cancelled]
    close_attempts_txn(conn, [(o.task_id, o.attempt, None) for o in others], AttemptOutcome.LOST, now=now)
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
