"""Every statement about ``attempts``: opening one per claim, closing them, reading them back.

An attempt is one try of a task; retries add attempts, never overwrite them. Only an attempt still open
(``running``) is closed: one that a cancel or a recovery closed first keeps its outcome.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from baton.core.states import AttemptOutcome
from baton.store.bulk import bulk_insert_txn
from baton.store.driver import Query, execute_many_txn, execute_txn, markers
from baton.store.rows import MovedTask
from baton.store.schema import attempts, runs, tasks

# Keeps IN (...) lists under every backend's bound-parameter limit (as transitions.CHUNK).
CHUNK = 2000

CLOSE = Query(
    "attempts.close",
    "UPDATE attempts SET outcome = ?, finished_at = ?, error = ?"
    f" WHERE task_id = ? AND number = ? AND outcome = '{AttemptOutcome.RUNNING.value}'",
)
CLOSE_RUNNING = Query(
    "attempts.close_running",
    "UPDATE attempts SET outcome = ?, finished_at = ?, error = ? WHERE task_id IN ({ids}) AND outcome = ?",
)
_OF_TASK = select(attempts).where(attempts.c.task_id == bindparam("task")).order_by(attempts.c.number)


def open_attempts_txn(conn: Connection, moved: Sequence[MovedTask], *, worker_id: str, now: float) -> None:
    """One running attempt for each task just claimed (numbered by the task's ``attempts``)."""
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


def close_attempts_txn(
    conn: Connection,
    closing: Iterable[tuple[int, int, str | None]],
    outcome: AttemptOutcome,
    *,
    now: float,
) -> None:
    """Close these attempts — (task id, attempt number, error) — with ``outcome``, if still open."""
    execute_many_txn(
        conn, CLOSE, [(outcome.value, now, error, task_id, number) for task_id, number, error in closing]
    )


def close_running_attempts_txn(
    conn: Connection, task_ids: Sequence[int], outcome: AttemptOutcome, *, now: float, reason: str
) -> None:
    """The open attempts of these tasks (whatever their number) end with ``outcome`` and ``reason``."""
    for start in range(0, len(task_ids), CHUNK):
        chunk = task_ids[start : start + CHUNK]
        execute_txn(
            conn,
            CLOSE_RUNNING.format(ids=markers(len(chunk))),
            [outcome.value, now, reason, *chunk, AttemptOutcome.RUNNING.value],
        )


def list_attempts(conn: Connection, task_id: int) -> list[Any]:
    """A task's attempt rows, first attempt first."""
    return list(conn.execute(_OF_TASK, {"task": task_id}))


def step_durations(
    conn: Connection, *, workflow_name: str | None = None, run_id: str | None = None
) -> dict[str, list[float]]:
    """Durations of succeeded attempts, by step — for statistics and the critical path."""
    query = (
        select(tasks.c.step, attempts.c.started_at, attempts.c.finished_at)
        .join(tasks, tasks.c.id == attempts.c.task_id)
        .where(attempts.c.outcome == AttemptOutcome.SUCCEEDED.value, attempts.c.finished_at.is_not(None))
    )
    if run_id is not None:
        query = query.where(attempts.c.run_id == run_id)
    if workflow_name is not None:
        query = query.join(runs, runs.c.id == tasks.c.run_id).where(runs.c.workflow_name == workflow_name)
    durations: dict[str, list[float]] = {}
    for row in conn.execute(query):
        durations.setdefault(row.step, []).append(row.finished_at - row.started_at)
    return durations


def median_step_durations(conn: Connection, workflow_name: str) -> dict[str, float]:
    """The median duration of each step of a workflow over its succeeded attempts (for the critical path)."""
    return {
        step: statistics.median(values)
        for step, values in step_durations(conn, workflow_name=workflow_name).items()
    }
