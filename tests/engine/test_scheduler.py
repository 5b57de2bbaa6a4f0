"""The engine end to end on a real store (SQLite file and PostgreSQL): scheduling, retries, fan-out,
compensation, approvals, cancellation, ordering and recovery."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import baton_test_flows as flows
import pytest
from sqlalchemy import select, update

from baton.core.errors import IllegalTransitionError, InvalidInputError, RunNotFoundError, TaskNotFoundError
from baton.core.states import RunState, TaskState
from baton.engine import (
    Worker,
    WorkerSettings,
    approve_task,
    cancel_run,
    reject_task,
    retry_task,
    run_to_end,
    start_run,
)
from baton.store.events import query_events
from baton.store.runs import get_run, run_outputs
from baton.store.schema import attempts, runs, tasks
from baton.store.store import Store
from baton.store.tasks import list_tasks

FAST = WorkerSettings(poll_interval=0.05, heartbeat_every=0.5, lease_seconds=5)


def states(store: Store, run_id: str) -> dict[str, TaskState]:
    with store.read() as conn:
        return {t.name: t.state for t in list_tasks(conn, run_id)}


async def test_fan_out_gathers_every_item_in_order(store: Store) -> None:
    run_id = start_run(store, "baton_test_flows:fanout", {"n": 25})
    assert await run_to_end(store, run_id, FAST) is RunState.SUCCEEDED
    with store.read() as conn:
        outputs = run_outputs(conn, run_id)
        items = [t for t in list_tasks(conn, run_id) if t.parent_id is not None]
    assert outputs["square"] == [i * i for i in range(25)]
    assert outputs["total"] == sum(i * i for i in range(25))
    assert len(items) == 25 and all(t.state is TaskState.SUCCEEDED for t in items)


async def test_empty_fan_out_succeeds_with_an_empty_list(store: Store) -> None:
    run_id = start_run(store, "baton_test_flows:fanout", {"n": 0})
    assert await run_to_end(store, run_id, FAST) is RunState.SUCCEEDED
    with store.read() as conn:
        assert run_outputs(conn, run_id)["total"] == 0


@pytest.mark.parametrize("n", [0, 4])
async def test_several_mapped_steps_and_a_map_over_a_map_with_one_slot(store: Store, n: int) -> None:
    run_id = start_run(store, "baton_test_flows:maps", {"n": n})
    assert (
        await run_to_end(store, run_id, WorkerSettings(concurrency=1, poll_interval=0.05))
        is RunState.SUCCEEDED
    )
    with store.read() as conn:
        assert run_outputs(conn, run_id)["combined"] == [2 * i for i in range(n)]


async def test_retry_is_refused_in_a_cancelled_run(store: Store, tmp_path: Path) -> None:
    run_id = start_run(store, "baton_test_flows:fixable", {"path": str(tmp_path / "missing")})
    assert await run_to_end(store, run_id, FAST) is RunState.FAILED
    with store.begin() as conn:  # a failed run cannot be cancelled; make one that was, to check the guard
        conn.execute(update(runs).where(runs.c.id == run_id).values(state="cancelled"))
    with pytest.raises(IllegalTransitionError, match="is cancelled; it cannot become running"):
        retry_task(store, run_id, "needs_fix")
    assert states(store, run_id)["needs_fix"] is TaskState.FAILED


async def test_every_transition_is_an_event_in_order(store: Store) -> None:
    run_id = start_run(store, "baton_test_flows:fanout", {"n": 3})
    await run_to_end(store, run_id, FAST)
    with store.read() as conn:
        events = query_events(conn, run_id=run_id, types=["task.state"], limit=10_000)
    by_task: dict[str, list[str]] = {}
    for event in events:
        by_task.setdefault(event.data["task"], []).append(event.data["to"])
    # The tick that completes `square` claims `total` at once (eager dispatch): it is never seen ready.
    assert by_task["total"] == ["running", "succeeded"]
    assert [e.data["from"] for e in events if e.data["task"] == "total"] == ["pending", "running"]
    # Items are born ready, announced by their mapped step's `task.expanded` event.
    assert by_task["square[1]"] == ["running", "succeeded"]
    with store.read() as conn:
        (expanded,) = query_events(conn, run_id=run_id, types=["task.expanded"])
    assert expanded.data == {"task": "square", "items": 3, "state": "ready"}
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_transient_errors_retry_with_new_attempts_and_permanent_ones_fail_and_compensate(
    store: Store, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.txt"
    trace.write_text("")
    run_id = start_run(store, "baton_test_flows:flaky", {"path": str(trace)})
    assert await run_to_end(store, run_id, FAST) is RunState.FAILED
    found = states(store, run_id)
    assert found["sometimes"] is TaskState.SUCCEEDED
    assert found["never"] is TaskState.FAILED
    assert found["after_never"] is TaskState.SKIPPED
    assert found["side_effect"] is TaskState.ROLLED_BACK
    assert trace.read_text() == "do A\nundo A\n"
    with store.read() as conn:
        rows = conn.execute(select(tasks.c.name, tasks.c.attempts, tasks.c.failures)).all()
        run = get_run(conn, run_id)
    counts = {r.name: (r.attempts, r.failures) for r in rows}
    assert counts["sometimes"] == (3, 2)
    assert counts["never"] == (1, 1)  # permanent: no second attempt despite attempts=5
    assert run.error is not None and "never" in run.error and "cannot work" in run.error


async def test_a_timed_out_attempt_is_retried_then_fails(store: Store) -> None:
    from baton.engine.loading import load_workflow

    workflow = load_workflow("baton_test_flows:slow")
    only = type(workflow)("timeouts")
    only.step(name="too_slow", timeout=0.2, retry=flows.RetryPolicy(attempts=2, backoff=0.01))(
        workflow.steps["too_slow"].fn
    )
    run_id = start_run(store, "tests:timeouts", workflow=only)
    assert await run_to_end(store, run_id, FAST) is RunState.FAILED
    with store.read() as conn:
        task = list_tasks(conn, run_id)[0]
    assert task.attempts == 2
    assert task.error is not None and "timed out after 0.2 s" in task.error


async def test_a_blocking_step_past_its_timeout_does_not_hold_the_worker(store: Store) -> None:
    flows.RELEASE.clear()
    run_id = start_run(store, "baton_test_flows:hung")
    try:
        # The step's thread is still blocked when the run is judged: the worker must not wait for it.
        assert await asyncio.wait_for(run_to_end(store, run_id, FAST), 30) is RunState.FAILED
        assert not flows.RELEASE.is_set()
    finally:
        flows.RELEASE.set()
    with store.read() as conn:
        assert "timed out after 0.2 s" in (list_tasks(conn, run_id)[0].error or "")


async def test_approval_waits_survives_a_restart_and_continues_when_approved(store: Store) -> None:
    run_id = start_run(store, "baton_test_flows:gated")
    assert await run_to_end(store, run_id, FAST) is RunState.WAITING
    assert states(store, run_id)["release"] is TaskState.WAITING
    # A new worker (as after a restart) does not run it either.
    assert await run_to_end(store, run_id, FAST) is RunState.WAITING
    with pytest.raises(
        IllegalTransitionError, match=r"announce of run .* is pending; it cannot become ready"
    ):
        approve_task(store, run_id, "announce")
    approve_task(store, run_id, "release", by="alice", comment="ship it")
    assert await run_to_end(store, run_id, FAST) is RunState.SUCCEEDED
    with store.read() as conn:
        assert run_outputs(conn, run_id)["announce"] == "RELEASED ARTIFACT"
        approvals = [e for e in query_events(conn, run_id=run_id) if e.data.get("approved_by") == "alice"]
    assert approvals and approvals[0].data["comment"] == "ship it"


async def test_rejection_fails_the_run_and_skips_dependents(store: Store) -> None:
    run_id = start_run(store, "baton_test_flows:gated")
    await run_to_end(store, run_id, FAST)
    reject_task(store, run_id, "release", by="bob", reason="not today")
    assert await run_to_end(store, run_id, FAST) is RunState.FAILED
    found = states(store, run_id)
    assert found["release"] is TaskState.FAILED and found["announce"] is TaskState.SKIPPED
    with store.read() as conn:
        assert "rejected by bob: not today" in (get_run(conn, run_id).error or "")


async def test_cancel_stops_running_attempts_and_cancels_open_tasks(store: Store) -> None:
    run_id = start_run(store, "baton_test_flows:slow")
    worker = asyncio.create_task(run_to_end(store, run_id, FAST))
    deadline = time.monotonic() + 10
    while states(store, run_id)["long_running"] is not TaskState.RUNNING:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    await asyncio.to_thread(cancel_run, store, run_id)
    assert await asyncio.wait_for(worker, 10) is RunState.CANCELLED
    assert set(states(store, run_id).values()) == {TaskState.CANCELLED}
    with store.read() as conn:
        outcomes = {r.outcome for r in conn.execute(select(attempts.c.outcome))}
    assert "running" not in outcomes
    with pytest.raises(IllegalTransitionError, match="is cancelled; it cannot become cancelled"):
        cancel_run(store, run_id)


async def test_retry_of_a_failed_task_reopens_the_run(store: Store, tmp_path: Path) -> None:
    fix = tmp_path / "fix.txt"
    run_id = start_run(store, "baton_test_flows:fixable", {"path": str(fix)})
    assert await run_to_end(store, run_id, FAST) is RunState.FAILED
    assert states(store, run_id)["after_fix"] is TaskState.SKIPPED
    with pytest.raises(IllegalTransitionError, match="only a failed task can be retried"):
        retry_task(store, run_id, "after_fix")
    fix.write_text("fixed")
    retry_task(store, run_id, "needs_fix")
    with store.read() as conn:
        assert get_run(conn, run_id).state is RunState.RUNNING
    assert states(store, run_id)["after_fix"] is TaskState.PENDING
    assert await run_to_end(store, run_id, FAST) is RunState.SUCCEEDED
    with store.read() as conn:
        assert run_outputs(conn, run_id)["after_fix"] == "FIXED"


async def test_a_rolled_back_run_is_not_retried(store: Store, tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    trace.write_text("")
    run_id = start_run(store, "baton_test_flows:flaky", {"path": str(trace)})
    assert await run_to_end(store, run_id, FAST) is RunState.FAILED
    with store.read() as conn:
        before = [(t.name, t.state) for t in list_tasks(conn, run_id)]
    with pytest.raises(IllegalTransitionError, match="is rolled back; it cannot become running"):
        retry_task(store, run_id, "never")
    with store.read() as conn:
        assert [(t.name, t.state) for t in list_tasks(conn, run_id)] == before
        record = get_run(conn, run_id)
        assert (record.state, record.compensator, record.options) == (RunState.FAILED, None, {})


async def test_ready_tasks_are_claimed_critical_path_first_then_by_priority(
    store: Store, tmp_path: Path
) -> None:
    trace = tmp_path / "order.txt"
    run_id = start_run(store, "baton_test_flows:ordered", {"path": str(trace)})
    assert (
        await run_to_end(store, run_id, WorkerSettings(concurrency=1, poll_interval=0.05))
        is RunState.SUCCEEDED
    )
    assert trace.read_text().split() == ["long_head", "high", "low"]
    with store.read() as conn:
        assert get_run(conn, run_id).critical_path == ["long_head", "long_tail"]


async def test_per_run_concurrency_limit_is_honoured(store: Store, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    run_id = start_run(store, "baton_test_flows:durable", {"path": str(journal), "n": 20, "sleep_ms": 20})
    peak = 0

    async def sample() -> None:
        nonlocal peak
        while True:
            with store.read() as conn:
                running = sum(
                    1 for t in list_tasks(conn, run_id) if t.state is TaskState.RUNNING and t.parent_id
                )
            peak = max(peak, running)
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    assert (
        await run_to_end(store, run_id, WorkerSettings(concurrency=64, poll_interval=0.05))
        is RunState.SUCCEEDED
    )
    sampler.cancel()
    assert 1 < peak <= 8


async def test_a_run_at_its_cap_does_not_hold_back_other_runs(store: Store) -> None:
    capped = start_run(store, "baton_test_flows:capped")
    other = start_run(store, "baton_test_flows:fanout", {"n": 2})
    worker = Worker(store, settings=WorkerSettings(concurrency=4, poll_interval=0.05))
    serving = asyncio.create_task(worker.run())
    try:
        deadline = time.monotonic() + 30
        while not all(s is TaskState.SUCCEEDED for s in states(store, capped).values()):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await serving
    with store.read() as conn:
        done = [
            (e.run_id, e.id)
            for e in query_events(conn, types=["task.state"], limit=10_000)
            if e.data["to"] == "succeeded"
        ]
    last_capped = max(i for r, i in done if r == capped)
    # The other run finished while the capped one still had work queued behind its cap.
    assert all(i < last_capped for r, i in done if r == other)
    assert {r for r, _ in done} == {capped, other}


async def test_a_task_left_running_by_a_dead_worker_is_retried_as_a_new_attempt(
    store: Store,
) -> None:
    run_id = start_run(store, "baton_test_flows:fanout", {"n": 3})
    # Simulate a worker that claimed the first task and died: a lease held by nobody alive, long expired.
    with store.begin() as conn:
        conn.execute(
            update(tasks)
            .where(tasks.c.run_id == run_id, tasks.c.name == "numbers")
            .values(state="running", lease_owner="ghost", lease_expires_at=time.time() - 1, attempts=1)
        )
    assert await run_to_end(store, run_id, FAST) is RunState.SUCCEEDED
    with store.read() as conn:
        task = next(t for t in list_tasks(conn, run_id) if t.name == "numbers")
        lost = query_events(conn, run_id=run_id, task_id=task.id, types=["task.state"])
    assert task.attempts == 2 and task.failures == 0
    # created ready; (claimed by the dead worker outside the event log); recovered; run again
    assert [e.data["to"] for e in lost] == ["ready", "retrying", "ready", "running", "succeeded"]


async def test_a_task_that_keeps_losing_its_worker_fails_for_good(store: Store) -> None:
    run_id = start_run(store, "baton_test_flows:fanout", {"n": 3})
    with store.begin() as conn:  # its tenth attempt, again on a worker that vanished
        conn.execute(
            update(tasks)
            .where(tasks.c.run_id == run_id, tasks.c.name == "numbers")
            .values(state="running", lease_owner="ghost", lease_expires_at=time.time() - 1, attempts=10)
        )
    assert await run_to_end(store, run_id, FAST) is RunState.FAILED
    found = states(store, run_id)
    assert found["numbers"] is TaskState.FAILED and found["total"] is TaskState.SKIPPED
    with store.read() as conn:
        assert "lost its worker 10 times" in (get_run(conn, run_id).error or "")


async def test_two_workers_share_a_run_and_run_every_task_once(store: Store, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    run_id = start_run(store, "baton_test_flows:durable", {"path": str(journal), "n": 40, "sleep_ms": 2})
    settings = WorkerSettings(concurrency=4, poll_interval=0.02)
    first, second = (
        Worker(store, run_id=run_id, settings=settings),
        Worker(store, run_id=run_id, settings=settings),
    )
    try:
        results = await asyncio.wait_for(asyncio.gather(first.run(), second.run()), 60)
    except TimeoutError:
        with store.read() as conn:
            left = [(t.name, t.state, t.attempts) for t in list_tasks(conn, run_id) if t.state != "succeeded"]
            run = get_run(conn, run_id)
        pytest.fail(f"workers did not finish: run {run.state}, open tasks {left}")
    assert RunState.SUCCEEDED in results
    lines = journal.read_text().splitlines()
    assert len(lines) == 40 + 1 + 1 + 20  # every task journaled exactly once
    with store.read() as conn:
        workers_used = {r.worker for r in conn.execute(select(attempts.c.worker))}
    assert len(workers_used) == 2


def test_bad_requests_name_what_is_wrong_and_change_nothing(store: Store) -> None:
    with pytest.raises(InvalidInputError, match="n: Input should be a valid integer"):
        start_run(store, "baton_test_flows:fanout", {"n": "many"})
    with pytest.raises(RunNotFoundError, match="no run with id 'nope'"):
        approve_task(store, "nope", "x")
    run_id = start_run(store, "baton_test_flows:gated")
    with pytest.raises(TaskNotFoundError, match="has no task 'nope'"):
        approve_task(store, run_id, "nope")
    with store.read() as conn:
        before = [(t.name, t.state) for t in list_tasks(conn, run_id)]
    with pytest.raises(IllegalTransitionError, match=r"prepare of run .* is ready; it cannot become failed"):
        reject_task(store, run_id, "prepare")
    with store.read() as conn:
        assert [(t.name, t.state) for t in list_tasks(conn, run_id)] == before


async def test_a_chain_longer_than_the_recursion_limit_declared_last_first_runs_in_order(
    store: Store,
) -> None:
    # Each step names the next one up as its dependency before that step exists (`after="link{i-1}"`):
    # checking the graph for cycles and ordering it must walk 1,100 links deep without recursing.
    run_id = start_run(store, "baton_test_flows:backwards")
    assert await run_to_end(store, run_id, FAST) is RunState.SUCCEEDED
    with store.read() as conn:
        started = {t.name: t.started_at for t in list_tasks(conn, run_id)}
        assert get_run(conn, run_id).critical_path[:2] == ["link0", "link1"]
    links = [f"link{i}" for i in range(flows.BACKWARDS_LINKS)]
    assert len(started) == len(links)
    assert all(started[a] <= started[b] for a, b in itertools.pairwise(links))


async def test_released_tasks_beyond_the_free_slots_wait_ready_and_run_next(store: Store) -> None:
    # The root's success releases ten leaves; the tick that records it has three free slots: three
    # leaves go straight to running (eager dispatch), the other seven become ready and are claimed later.
    run_id = start_run(store, "baton_test_flows:spread")
    settings = WorkerSettings(poll_interval=0.05, heartbeat_every=0.5, lease_seconds=5, concurrency=3)
    assert await run_to_end(store, run_id, settings) is RunState.SUCCEEDED
    with store.read() as conn:
        moves = [
            (e.data["from"], e.data["to"])
            for e in query_events(conn, run_id=run_id, types=["task.state"], limit=10_000)
            if e.data["task"].startswith("leaf")
        ]
        outputs = run_outputs(conn, run_id)
    assert moves.count(("pending", "running")) == 3
    assert moves.count(("pending", "ready")) == moves.count(("ready", "running")) == flows.SPREAD - 3
    assert [outputs[f"leaf{i}"] for i in range(flows.SPREAD)] == [1 + i for i in range(flows.SPREAD)]
