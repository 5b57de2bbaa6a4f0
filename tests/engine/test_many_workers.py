"""Many `baton worker` processes on one real PostgreSQL: races, cancels, restarts, frozen and killed peers.

Every scenario runs real worker processes against a real database and checks the same things: no worker
dies, no run is left stuck, no committed success runs again, and the outputs equal a single worker's.
CI runs a bounded number of trials; `make soak` (BATON_SOAK=1) runs many more of each.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from fleet import Fleet, journal, reexecuted_successes, successes_per_task, wait_finished, wait_serving
from sqlalchemy import create_engine, func, select, text

from baton.core.states import AttemptOutcome, RunState, TaskState
from baton.engine.runs import approve_task, cancel_run, reject_task, start_run
from baton.engine.worker import run_to_end
from baton.store.runs import get_run, run_outputs
from baton.store.schema import attempts, checkpoints, tasks, workers
from baton.store.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SOAK = os.environ.get("BATON_SOAK") == "1"
FAILING_ONCE_RUNS = int(os.environ.get("BATON_SOAK_FAILING_RUNS", "12")) if SOAK else 3
CANCEL_TRIALS = int(os.environ.get("BATON_SOAK_CANCELS", "24")) if SOAK else 5
WORKERS = 3
# Short limits so that a frozen peer is seen through quickly (the defaults are 5 s, 120 s and 15 s).
FAST_LIMITS = {
    "BATON_PG_LOCK_TIMEOUT": "1s",
    "BATON_PG_STATEMENT_TIMEOUT": "20s",
    "BATON_PG_IDLE_IN_TRANSACTION_TIMEOUT": "3s",
}


@pytest.fixture
def pg_url(postgres, postgres_template) -> str:  # type: ignore[no-untyped-def]
    return str(postgres.url(postgres.create_database(postgres_template)))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The outputs of the 500-item workflow run by one worker, in-process, on SQLite."""
    folder = tmp_path_factory.mktemp("reference")
    store = Store.open(f"sqlite:///{folder / 'reference.db'}")
    try:
        run_id = start_run(store, "baton_test_flows:fleet", {"path": str(folder / "journal"), "n": 500})
        assert asyncio.run(run_to_end(store, run_id)) is RunState.SUCCEEDED
        with store.read() as conn:
            return run_outputs(conn, run_id)
    finally:
        store.close()


def test_items_that_each_fail_once_on_three_workers_finish_like_one_worker(
    pg_url: str, tmp_path: Path, reference: dict[str, object]
) -> None:
    """The race that killed workers: several promote the same due retry. Runs side by side, each of 500
    items failing its first attempt; every worker survives and every run equals the single-worker one."""
    store = Store.open(pg_url)
    fleet = Fleet(pg_url, tmp_path, WORKERS, "--poll", "100ms")
    try:
        for batch_start in range(0, FAILING_ONCE_RUNS, 3):
            batch = range(batch_start, min(batch_start + 3, FAILING_ONCE_RUNS))
            runs = {
                trial: start_run(
                    store, "baton_test_flows:fleet", {"path": str(tmp_path / f"journal-{trial}"), "n": 500}
                )
                for trial in batch
            }
            for trial, run_id in runs.items():
                state = wait_finished(store, run_id, timeout=180, fleet=fleet)
                assert state is RunState.SUCCEEDED, f"trial {trial}: run {run_id} is {state}"
                with store.read() as conn:
                    assert run_outputs(conn, run_id) == reference
                path = tmp_path / f"journal-{trial}"
                assert reexecuted_successes(store, run_id, path) == []
                assert set(successes_per_task(path).values()) == {1}  # no lease ran out: one success each
        assert fleet.deaths() == []
        assert fleet.stop() == [0] * WORKERS
    finally:
        fleet.stop()
        store.close()


def _busy_run(store: Store, tmp_path: Path, trial: int) -> str:
    return start_run(
        store,
        "baton_test_flows:fleet",
        {"path": str(tmp_path / f"busy-{trial}"), "n": 400, "sleep_ms": 400, "fail_once": trial % 2 == 0},
    )


def _cancel_a_busy_run(store: Store, tmp_path: Path, trial: int, fleet: Fleet) -> None:
    run_id = _busy_run(store, tmp_path, trial)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # busy: tasks running and some already done
        with store.read() as conn:
            done = conn.execute(select(func.count()).where(checkpoints.c.run_id == run_id)).scalar_one()
            running = conn.execute(
                select(func.count()).where(tasks.c.run_id == run_id, tasks.c.state == TaskState.RUNNING.value)
            ).scalar_one()
        if done > 5 and running > 0:
            break
        time.sleep(0.05)
    cancel_run(store, run_id)  # raises on any failure: the cancel must simply work
    cancelled_at = time.time()
    with store.read() as conn:
        assert get_run(conn, run_id).state is RunState.CANCELLED
        open_tasks = conn.execute(
            select(tasks.c.name, tasks.c.state).where(
                tasks.c.run_id == run_id,
                tasks.c.state.in_([s.value for s in (TaskState.PENDING, TaskState.READY, TaskState.RUNNING)]),
            )
        ).all()
        assert open_tasks == [], f"trial {trial}: tasks left open by the cancel: {open_tasks[:5]}"
        stored = conn.execute(select(func.count()).where(checkpoints.c.run_id == run_id)).scalar_one()
    # The workers stop the cancelled attempts within a poll interval plus the steps' cancellation.
    time.sleep(2.0)
    with store.read() as conn:
        assert get_run(conn, run_id).state is RunState.CANCELLED
        outcomes = dict(
            conn.execute(
                select(attempts.c.outcome, func.count())
                .where(attempts.c.run_id == run_id)
                .group_by(attempts.c.outcome)
            ).all()
        )
        assert AttemptOutcome.RUNNING.value not in outcomes, f"trial {trial}: {outcomes}"
        late = conn.execute(
            select(func.count()).where(attempts.c.run_id == run_id, attempts.c.started_at > cancelled_at)
        ).scalar_one()
        assert late == 0, f"trial {trial}: {late} attempts started after the cancel"
        # Late results were discarded: nothing was checkpointed after the cancel.
        assert conn.execute(select(func.count()).where(checkpoints.c.run_id == run_id)).scalar_one() == stored
    assert fleet.deaths() == []


def test_cancel_always_wins_over_a_busy_run(pg_url: str, tmp_path: Path) -> None:
    store = Store.open(pg_url)
    fleet = Fleet(pg_url, tmp_path, WORKERS, "--poll", "0.2")
    try:
        for trial in range(CANCEL_TRIALS):
            _cancel_a_busy_run(store, tmp_path, trial, fleet)
        assert fleet.stop() == [0] * WORKERS
    finally:
        fleet.stop()
        store.close()


def test_cancel_wins_over_a_busy_run_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    store = Store.open(url)
    fleet = Fleet(url, tmp_path, 2, "--poll", "0.2")
    try:
        for trial in range(2):
            _cancel_a_busy_run(store, tmp_path, trial, fleet)
        assert fleet.stop() == [0, 0]
    finally:
        fleet.stop()
        store.close()


# -- the database goes away ---------------------------------------------------------------------------


def _finishes_like_one_worker(
    store: Store, run_id: str, fleet: Fleet, path: Path, reference: dict[str, object]
) -> None:
    """The run succeeds with the single-worker outputs, no committed success ran again, and every worker
    lived and exits 0."""
    assert wait_finished(store, run_id, timeout=120, fleet=fleet) is RunState.SUCCEEDED
    with store.read() as conn:
        assert run_outputs(conn, run_id) == reference
    assert reexecuted_successes(store, run_id, path) == []
    assert fleet.deaths() == []
    assert fleet.stop() == [0] * WORKERS


def _restart(server, how: str) -> None:  # type: ignore[no-untyped-def]
    server._run("pg_ctl", "-D", str(server.data), "-m", how, "-w", "stop")
    time.sleep(1.0)
    options = (
        f"-p {server.port} -k {server.root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c max_connections=200 -c shared_buffers=64MB"
    )
    server._run(
        "pg_ctl", "-D", str(server.data), "-o", options, "-l", str(server.root / "log"), "-w", "start"
    )


@pytest.fixture
def own_postgres(postgres):  # type: ignore[no-untyped-def]
    """A PostgreSQL of this test's own (of the shared server's class), since the test stops it."""
    server = type(postgres)()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_postgresql_restart_mid_run_is_waited_out(
    own_postgres,
    tmp_path: Path,
    reference: dict[str, object],  # type: ignore[no-untyped-def]
) -> None:
    url = own_postgres.url(own_postgres.create_database())
    store = Store.open(url)
    fleet = Fleet(url, tmp_path, WORKERS, "--poll", "100ms", "--max-outage", "60s")
    try:
        path = tmp_path / "journal"
        # Every worker serving first: one still opening the store when the database goes away exits at
        # once, by design (at start there is nothing to carry on with; its supervisor restarts it).
        wait_serving(store, fleet)
        run_id = start_run(store, "baton_test_flows:fleet", {"path": str(path), "n": 500, "sleep_ms": 20})
        while len(successes_per_task(path)) < 100:
            time.sleep(0.05)
        _restart(own_postgres, "fast")  # every connection dropped, the server away for a second or more
        store.engine.dispose()
        _finishes_like_one_worker(store, run_id, fleet, path, reference)
    finally:
        fleet.stop()
        store.close()


def test_a_worker_that_cannot_reach_the_database_exits_with_a_clear_message(
    own_postgres, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    url = own_postgres.url(own_postgres.create_database())
    Store.open(url).close()
    fleet = Fleet(url, tmp_path, 1, "--poll", "100ms", "--max-outage", "2s", debug=False)  # as users see it
    try:
        store = Store.open(url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # registered and serving
            with store.read() as conn:
                if conn.execute(select(func.count()).select_from(workers)).scalar_one():
                    break
            time.sleep(0.1)
        store.close()
        time.sleep(0.5)
        own_postgres._run("pg_ctl", "-D", str(own_postgres.data), "-m", "fast", "-w", "stop")
        code = fleet.processes[0].wait(timeout=60)
        output = fleet.output(0)
        assert code == 5, output
        assert "cannot reach the database" in output and "Traceback" not in output, output
    finally:
        fleet.stop()


# -- frozen and killed peers ----------------------------------------------------------------------------


def _backend_in_transaction(url: str, pid: int) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE :name"
                    " AND xact_start IS NOT NULL AND backend_xid IS NOT NULL"
                ),
                {"name": f"baton %:{pid}"},
            ).scalar_one()
        return bool(rows)
    finally:
        engine.dispose()


def test_a_worker_frozen_inside_a_transaction_blocks_the_others_only_for_a_bounded_time(
    pg_url: str, tmp_path: Path, reference: dict[str, object]
) -> None:
    store = Store.open(pg_url)
    # Few slots, slow items: the run lasts long enough (~10 s) to watch the others work around the frozen one.
    fleet = Fleet(pg_url, tmp_path, WORKERS, "--poll", "100ms", "--concurrency", "8", env=FAST_LIMITS)
    try:
        path = tmp_path / "journal"
        run_id = start_run(store, "baton_test_flows:fleet", {"path": str(path), "n": 500, "sleep_ms": 200})
        victim = fleet.processes[0]
        frozen = False
        for _ in range(2000):  # stop it until it is caught holding a transaction that has written
            victim.send_signal(signal.SIGSTOP)
            if _backend_in_transaction(pg_url, victim.pid):
                frozen = True
                break
            victim.send_signal(signal.SIGCONT)
            time.sleep(0.003)
        assert frozen, "never caught the worker inside a transaction"
        before = len(successes_per_task(path))
        time.sleep(6.0)  # twice the idle-in-transaction limit, six times the lock timeout
        during = len(successes_per_task(path))
        assert during > before + 20, f"the others stalled behind the frozen worker ({before} -> {during})"
        victim.send_signal(signal.SIGCONT)
        _finishes_like_one_worker(store, run_id, fleet, path, reference)
    finally:
        fleet.stop()
        store.close()


def test_kill_9_of_the_worker_compensating_a_run_hands_the_rollback_to_another(
    pg_url: str, tmp_path: Path
) -> None:
    store = Store.open(pg_url)
    fleet = Fleet(pg_url, tmp_path, WORKERS, "--poll", "100ms")
    try:
        path = tmp_path / "journal"
        Path(str(path) + ".hold").touch()
        run_id = start_run(store, "baton_test_flows:doomed", {"path": str(path), "n": 200, "sleep_ms": 5})
        deadline = time.monotonic() + 60
        while not any(line["task"] == "undo" for line in journal(path)) and time.monotonic() < deadline:
            time.sleep(0.05)
        with store.read() as conn:
            owner = get_run(conn, run_id).compensator
            pid = conn.execute(select(workers.c.pid).where(workers.c.id == owner)).scalar_one()
        victim = next(p for p in fleet.processes if p.pid == pid)
        victim.kill()
        victim.wait()
        Path(str(path) + ".hold").unlink()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with store.read() as conn:
                record = get_run(conn, run_id)
                rolled = conn.execute(
                    select(tasks.c.state).where(tasks.c.run_id == run_id, tasks.c.name == "doomed_items")
                ).scalar_one()
            if record.state is RunState.FAILED and rolled == TaskState.ROLLED_BACK.value:
                break
            time.sleep(0.1)
        assert record.state is RunState.FAILED
        assert rolled == TaskState.ROLLED_BACK.value and record.compensator is None
        survivors = [p for p in fleet.processes if p is not victim]
        assert all(p.poll() is None for p in survivors), fleet.deaths()
    finally:
        fleet.stop()
        store.close()


# -- graceful shutdown ------------------------------------------------------------------------------------


def test_sigterm_lets_a_running_task_finish_then_exits_0(pg_url: str, tmp_path: Path) -> None:
    store = Store.open(pg_url)
    fleet = Fleet(pg_url, tmp_path, 1, "--poll", "100ms", "--drain", "20s")
    try:
        path = tmp_path / "journal"
        run_id = start_run(
            store, "baton_test_flows:fleet", {"path": str(path), "n": 1, "sleep_ms": 2000, "fail_once": False}
        )
        _wait_running(store, run_id)
        fleet.processes[0].send_signal(signal.SIGTERM)
        assert fleet.processes[0].wait(timeout=30) == 0, fleet.output(0)
        with store.read() as conn:
            outcomes = conn.execute(
                select(attempts.c.outcome)
                .join(tasks, tasks.c.id == attempts.c.task_id)
                .where(attempts.c.run_id == run_id, tasks.c.name == "flap[0]")
                .order_by(attempts.c.id)
            ).scalars()
            assert list(outcomes) == ["succeeded"]  # finished by the draining worker, once
    finally:
        fleet.stop()
        store.close()


def test_sigterm_gives_back_a_task_that_outlasts_the_drain_for_another_worker_at_once(
    pg_url: str, tmp_path: Path
) -> None:
    store = Store.open(pg_url)
    (tmp_path / "draining").mkdir()
    draining = Fleet(pg_url, tmp_path / "draining", 1, "--poll", "100ms", "--drain", "1s")
    try:
        path = tmp_path / "journal"
        run_id = start_run(
            store, "baton_test_flows:fleet", {"path": str(path), "n": 1, "sleep_ms": 3000, "fail_once": False}
        )
        _wait_running(store, run_id)
        other = Fleet(pg_url, tmp_path, 1, "--poll", "100ms")  # started now: it can only get the task back
        try:
            time.sleep(0.5)
            draining.processes[0].send_signal(signal.SIGTERM)
            assert draining.processes[0].wait(timeout=10) == 0, draining.output(0)
            exited = time.time()
            assert wait_finished(store, run_id, timeout=30, fleet=other) is RunState.SUCCEEDED
            with store.read() as conn:
                rows = conn.execute(
                    select(attempts.c.outcome, attempts.c.started_at, attempts.c.error)
                    .join(tasks, tasks.c.id == attempts.c.task_id)
                    .where(attempts.c.run_id == run_id, tasks.c.name == "flap[0]")
                    .order_by(attempts.c.id)
                ).all()
            assert [r.outcome for r in rows] == ["lost", "succeeded"], rows
            assert "given back" in (rows[0].error or "")
            # Taken up again within a few seconds of the exit, not after the 30 s lease.
            assert rows[1].started_at - exited < 5, rows
            assert successes_per_task(path) == {"flap[0]": 1}
        finally:
            other.stop()
    finally:
        draining.stop()
        store.close()


def test_a_second_signal_stops_at_once(pg_url: str, tmp_path: Path) -> None:
    store = Store.open(pg_url)
    fleet = Fleet(pg_url, tmp_path, 1, "--poll", "100ms", "--drain", "60s")
    try:
        run_id = start_run(
            store,
            "baton_test_flows:fleet",
            {"path": str(tmp_path / "journal"), "n": 1, "sleep_ms": 30000, "fail_once": False},
        )
        _wait_running(store, run_id)
        process = fleet.processes[0]
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert process.poll() is None  # draining: the task has a minute
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 130, fleet.output(0)
        assert time.monotonic() - started < 5
        with store.read() as conn:  # given back, not left to its lease
            state = conn.execute(select(tasks.c.state).where(tasks.c.name == "flap[0]")).scalar_one()
        assert state in (TaskState.RETRYING.value, TaskState.READY.value)
    finally:
        fleet.stop()
        store.close()


def _wait_running(store: Store, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with store.read() as conn:
            running = conn.execute(
                select(func.count()).where(
                    tasks.c.run_id == run_id, tasks.c.name == "flap[0]", tasks.c.state == "running"
                )
            ).scalar_one()
        if running:
            return
        time.sleep(0.05)
    raise AssertionError("the task never started")


# -- approvals and lease expiry among busy workers ------------------------------------------------------


def test_approvals_rejections_and_cancels_land_among_busy_workers(pg_url: str, tmp_path: Path) -> None:
    """Runs that stop for an approval are approved, rejected or cancelled while the fleet is busy with the
    others: each ends as decided, and no worker dies."""
    store = Store.open(pg_url)
    fleet = Fleet(pg_url, tmp_path, WORKERS, "--poll", "0.1")
    n = 150
    try:
        runs = [
            start_run(
                store,
                "baton_test_flows:gated_fleet",
                {"path": str(tmp_path / f"j{i}"), "n": n, "sleep_ms": 20},
            )
            for i in range(6)
        ]
        decided: dict[str, str] = {}
        deadline = time.monotonic() + 120
        while len(decided) < len(runs) and time.monotonic() < deadline:
            for index, run_id in enumerate(runs):
                with store.read() as conn:
                    state = get_run(conn, run_id).state
                if run_id in decided or state is not RunState.WAITING:
                    continue
                action = ("approve", "reject", "cancel")[index % 3]
                if action == "approve":
                    approve_task(store, run_id, "gated_release", by="test")
                elif action == "reject":
                    reject_task(store, run_id, "gated_release", by="test", reason="not now")
                else:
                    cancel_run(store, run_id)
                decided[run_id] = action
            assert fleet.deaths() == []
            time.sleep(0.05)
        assert len(decided) == len(runs), "some runs never reached their approval"
        expected = {"approve": RunState.SUCCEEDED, "reject": RunState.FAILED, "cancel": RunState.CANCELLED}
        for index, run_id in enumerate(runs):
            assert wait_finished(store, run_id, timeout=60, fleet=fleet) is expected[decided[run_id]]
            with store.read() as conn:
                outputs = run_outputs(conn, run_id)
            if decided[run_id] == "approve":
                assert outputs["gated_after"] == sum(range(n)) + 1
            else:
                assert "gated_after" not in outputs
            assert reexecuted_successes(store, run_id, tmp_path / f"j{index}") == []
        assert fleet.stop() == [0] * WORKERS
    finally:
        fleet.stop()
        store.close()


def test_a_worker_frozen_past_its_lease_loses_its_tasks_and_its_late_results(
    pg_url: str, tmp_path: Path
) -> None:
    store = Store.open(pg_url)
    fleet = Fleet(
        pg_url,
        tmp_path,
        WORKERS,
        *("--poll", "0.1", "--lease", "3s", "--heartbeat", "1s", "--concurrency", "8"),
        env=FAST_LIMITS,
    )
    n = 300
    try:
        path = tmp_path / "journal"
        run_id = start_run(
            store, "baton_test_flows:fleet", {"path": str(path), "n": n, "sleep_ms": 300, "fail_once": False}
        )
        victim = fleet.processes[0]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # freeze it while it holds leases
            with store.read() as conn:
                victim_id = conn.execute(select(workers.c.id).where(workers.c.pid == victim.pid)).scalar()
                held = conn.execute(
                    select(func.count()).where(tasks.c.lease_owner == victim_id, tasks.c.state == "running")
                ).scalar_one()
            if victim_id and held:
                victim.send_signal(signal.SIGSTOP)
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the worker never held a lease")
        time.sleep(7.0)  # more than twice the lease
        victim.send_signal(signal.SIGCONT)
        assert wait_finished(store, run_id, timeout=120, fleet=fleet) is RunState.SUCCEEDED
        with store.read() as conn:
            assert run_outputs(conn, run_id)["fleet_total"] == sum(i * i % 997 for i in range(n))
            lost = conn.execute(
                select(func.count()).where(
                    attempts.c.run_id == run_id,
                    attempts.c.worker == victim_id,
                    attempts.c.outcome == AttemptOutcome.LOST.value,
                )
            ).scalar_one()
        assert lost > 0  # its leases ran out and its tasks went to the others
        assert reexecuted_successes(store, run_id, path) == []
        time.sleep(1.0)
        assert fleet.deaths() == []
        assert fleet.stop() == [0] * WORKERS
    finally:
        fleet.stop()
        store.close()
