"""Retention: finished runs older than a cutoff are removed with everything that belongs to them."""

from __future__ import annotations

import time

from sqlalchemy import Connection, delete, select

from baton.core.states import FINISHED_RUN_STATES
from baton.store.events import delete_events_txn
from baton.store.model_cache import purge_expired_txn
from baton.store.schema import attempts, checkpoints, model_calls, runs, task_dependencies, tasks, workstreams


def prune_txn(
    conn: Connection, *, before: float, now: float | None = None, dry_run: bool = False
) -> dict[str, int]:
    """Delete finished runs created before ``before`` (UNIX seconds) with their tasks, attempts,
    checkpoints, model calls and events, run-less events older than ``before``, and the model answers
    cached until before ``now`` (the current time by default). Returns counts."""
    run_ids = list(
        conn.execute(
            select(runs.c.id).where(
                runs.c.created_at < before, runs.c.state.in_([s.value for s in FINISHED_RUN_STATES])
            )
        ).scalars()
    )
    if dry_run:
        return {"runs": len(run_ids)}
    counts = {"runs": len(run_ids), "tasks": 0, "events": 0}
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        task_ids = select(tasks.c.id).where(tasks.c.run_id.in_(chunk))
        conn.execute(delete(task_dependencies).where(task_dependencies.c.task_id.in_(task_ids)))
        conn.execute(delete(checkpoints).where(checkpoints.c.run_id.in_(chunk)))
        conn.execute(delete(attempts).where(attempts.c.run_id.in_(chunk)))
        conn.execute(delete(model_calls).where(model_calls.c.run_id.in_(chunk)))
        counts["tasks"] += conn.execute(delete(tasks).where(tasks.c.run_id.in_(chunk))).rowcount or 0
        conn.execute(delete(workstreams).where(workstreams.c.run_id.in_(chunk)))
        conn.execute(delete(runs).where(runs.c.id.in_(chunk)))
    counts["events"] = delete_events_txn(conn, run_ids=run_ids, before=before)
    counts["expired cached answers"] = purge_expired_txn(conn, time.time() if now is None else now)
    return counts
