"""Recording outcomes on a real store (SQLite file and PostgreSQL): a late result never overwrites a
newer attempt."""

from __future__ import annotations

import time

from sqlalchemy import select

from baton.core.states import AttemptOutcome, TaskState
from baton.core.workflow import Workflow
from baton.engine import start_run
from baton.engine.scheduler import (
    claim_tasks_txn,
    promote_due_retries_txn,
    record_outcomes_txn,
    recover_lost_tasks_txn,
)
from baton.store.events import query_events
from baton.store.outcomes import Outcome
from baton.store.rows import ClaimedTask
from baton.store.runs import start_pending_runs_txn
from baton.store.schema import attempts, checkpoints, tasks
from baton.store.store import Store

single = Workflow("single-step")


@single.step()
def only() -> int:
    return 1


def _claim(store: Store, worker: str) -> ClaimedTask:
    now = time.time()
    with store.begin() as conn:
        promote_due_retries_txn(conn, now=now)
        (claimed,) = claim_tasks_txn(conn, worker_id=worker, now=now, lease_seconds=30, limit=1)
    return claimed


def _claimed_twice(store: Store) -> tuple[ClaimedTask, ClaimedTask]:
    """The first attempt loses its lease (its worker stalled, say); the same worker claims the task again."""
    run_id = start_run(store, "tests:single-step", workflow=single)
    with store.begin() as conn:
        start_pending_runs_txn(conn, now=time.time(), run_id=run_id)
    first = _claim(store, "w")
    with store.begin() as conn:
        recover_lost_tasks_txn(conn, now=time.time(), dead_workers=["w"])
    second = _claim(store, "w")
    assert (first.id, first.attempt, second.attempt) == (second.id, 1, 2)
    return first, second


def _record(store: Store, outcomes: list[Outcome]) -> None:
    with store.begin() as conn:
        record_outcomes_txn(conn, outcomes, worker_id="w", now=time.time())


def _attempts(store: Store, task_id: int) -> dict[int, str]:
    with store.read() as conn:
        rows = conn.execute(
            select(attempts.c.number, attempts.c.outcome).where(attempts.c.task_id == task_id)
        )
        return {row.number: row.outcome for row in rows}


def test_a_late_result_of_an_earlier_attempt_is_discarded(store: Store) -> None:
    first, second = _claimed_twice(store)
    _record(store, [Outcome(first.id, first.run_id, first.attempt, output="10")])
    with store.read() as conn:
        state = conn.execute(select(tasks.c.state).where(tasks.c.id == first.id)).scalar_one()
        assert conn.execute(select(checkpoints.c.data)).first() is None
        discarded = query_events(conn, run_id=first.run_id, types=["task.result_discarded"])
    assert state == TaskState.RUNNING.value
    assert [e.data["attempt"] for e in discarded] == [1]
    assert _attempts(store, first.id) == {1: AttemptOutcome.LOST.value, 2: AttemptOutcome.RUNNING.value}

    _record(store, [Outcome(second.id, second.run_id, second.attempt, output="20")])
    with store.read() as conn:
        assert conn.execute(select(checkpoints.c.data)).scalar_one() == "20"
    assert _attempts(store, first.id) == {1: AttemptOutcome.LOST.value, 2: AttemptOutcome.SUCCEEDED.value}


def test_results_of_two_attempts_in_one_batch_store_only_the_current_one(store: Store) -> None:
    first, second = _claimed_twice(store)
    _record(
        store,
        [
            Outcome(second.id, second.run_id, second.attempt, output="20"),
            Outcome(first.id, first.run_id, first.attempt, output="10"),
        ],
    )
    with store.read() as conn:
        state = conn.execute(select(tasks.c.state).where(tasks.c.id == first.id)).scalar_one()
        assert conn.execute(select(checkpoints.c.data)).scalar_one() == "20"
    assert state == TaskState.SUCCEEDED.value
    assert _attempts(store, first.id) == {1: AttemptOutcome.LOST.value, 2: AttemptOutcome.SUCCEEDED.value}
