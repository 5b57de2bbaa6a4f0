"""Compensation is durable work: a rollback interrupted by `kill -9` is finished by another worker or by
`baton resume`, on SQLite and PostgreSQL, without compensating twice what was already rolled back."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from cli_process import baton
from sqlalchemy import update

from baton.core.errors import IllegalTransitionError
from baton.core.states import RunState, TaskState
from baton.engine import Worker, WorkerSettings, prepare_resume, retry_task, run_to_end, start_run
from baton.store.events import query_events
from baton.store.runs import claim_orphaned_compensations_txn, get_run
from baton.store.schema import runs
from baton.store.store import Store
from baton.store.tasks import list_tasks
from baton.store.workers import register_worker_txn

FAST = WorkerSettings(poll_interval=0.05, heartbeat_every=0.5, lease_seconds=5)
COMPENSABLE = ("reserve", "deploy", "notify")


def undone(folder: Path) -> Counter[str]:
    journal = folder / "journal"
    lines = journal.read_text().splitlines() if journal.exists() else []
    return Counter(json.loads(line)["task"] for line in lines)


def states(store: Store, run_id: str) -> dict[str, TaskState]:
    with store.read() as conn:
        return {t.name: t.state for t in list_tasks(conn, run_id)}


def run_killed_in_the_middle_of_its_rollback(store: Store, store_url: str, folder: Path) -> str:
    """Start a `rollback` run in a real `baton` process and kill -9 it while `deploy` is being undone."""
    (folder / "hold").touch()
    process = baton(store_url, "run", "baton_test_flows:rollback", "--input", f"folder={folder}", "-q")
    deadline = time.monotonic() + 60
    while undone(folder)["undo deploy"] == 0:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the compensation of deploy never started\n{output}")
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    (folder / "hold").unlink()
    with store.read() as conn:
        (run,) = [r.id for r in conn.execute(runs.select())]
        record = get_run(conn, run)
    assert record.state is RunState.COMPENSATING
    assert isinstance(record.compensator, str)  # the id of the worker that was killed
    assert record.options == {}  # no state in the options
    with pytest.raises(IllegalTransitionError, match="is compensating; it cannot become running"):
        retry_task(store, run, "verify")
    return str(run)


async def wait_for_the_mark_to_clear(store: Store, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        with store.read() as conn:
            if get_run(conn, run_id).state is RunState.FAILED:
                return
        assert time.monotonic() < deadline, "the rollback was never finished"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("finisher", ["resume", "worker"])
async def test_a_rollback_killed_midway_is_finished_by_resume_or_another_worker(
    store: Store, store_url: str, tmp_path: Path, finisher: str
) -> None:
    run_id = run_killed_in_the_middle_of_its_rollback(store, store_url, tmp_path)
    found = states(store, run_id)
    assert found["notify"] is TaskState.ROLLED_BACK  # undone before the kill
    assert found["deploy"] is TaskState.SUCCEEDED and found["reserve"] is TaskState.SUCCEEDED

    if finisher == "resume":
        process = baton(store_url, "resume", run_id, "-q")
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 1, output  # the run failed, and says so
    else:
        worker = Worker(store, settings=FAST)
        serving = asyncio.create_task(worker.run())
        try:
            await wait_for_the_mark_to_clear(store, run_id)
        finally:
            worker.stop()
            await asyncio.wait_for(serving, 30)

    found = states(store, run_id)
    assert {name: found[name] for name in COMPENSABLE} == dict.fromkeys(COMPENSABLE, TaskState.ROLLED_BACK)
    with store.read() as conn:
        record = get_run(conn, run_id)
        (taken_over,) = query_events(conn, run_id=run_id, types=["run.compensation_taken_over"])
    assert record.state is RunState.FAILED and record.options == {}
    # What was rolled back is not undone again; the call that was interrupted runs again (at-least-once).
    assert undone(tmp_path) == {"undo notify": 1, "undo deploy": 2, "undo reserve": 1}
    assert taken_over.data["from"] is not None and taken_over.data["worker"] != taken_over.data["from"]
    with pytest.raises(IllegalTransitionError, match="is rolled back; it cannot become running"):
        retry_task(store, run_id, "verify")


async def test_once_an_interrupted_rollback_is_finished_the_run_can_be_retried(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    # Every compensation fails: nothing is rolled back, so the run may be retried once its cause is fixed.
    (tmp_path / "refuse").touch()
    run_id = run_killed_in_the_middle_of_its_rollback(store, store_url, tmp_path)
    assert await run_to_end(store, prepare_resume(store, run_id), FAST) is RunState.FAILED
    with store.read() as conn:
        assert get_run(conn, run_id).options == {}
        failures = query_events(conn, run_id=run_id, types=["task.compensation_failed"])
    # What was not rolled back before the kill, including notify whose compensation had failed, is tried again.
    assert Counter(e.data["task"] for e in failures) == {"notify": 2, "deploy": 1, "reserve": 1}
    assert undone(tmp_path) == {"undo notify": 2, "undo deploy": 2, "undo reserve": 1}

    (tmp_path / "fixed").touch()
    retry_task(store, run_id, "verify")
    assert await run_to_end(store, run_id, FAST) is RunState.SUCCEEDED
    assert set(states(store, run_id).values()) == {TaskState.SUCCEEDED}


def test_only_one_worker_takes_over_a_rollback_and_never_from_a_live_one(store: Store) -> None:
    run_id = start_run(store, "baton_test_flows:rollback", {"folder": "/nonexistent"})
    now = time.time()
    with store.begin() as conn:
        for worker in ("alive", "a", "b"):
            register_worker_txn(conn, worker, run_id=None, now=now)
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(state=RunState.COMPENSATING.value, compensator="alive")
        )
    with store.begin() as conn:
        assert claim_orphaned_compensations_txn(conn, worker_id="a", now=now) == []
        conn.execute(update(runs).where(runs.c.id == run_id).values(compensator="gone"))
    with store.begin() as conn:
        assert claim_orphaned_compensations_txn(conn, worker_id="a", now=now) == [run_id]
    with store.begin() as conn:
        assert claim_orphaned_compensations_txn(conn, worker_id="b", now=now) == []
        assert get_run(conn, run_id).compensator == "a"
