"""The durability contract under `kill -9`: a real `baton` process running a few hundred tasks is killed
at random moments at least 20 times and resumed each time; the final outputs must equal those of an
uninterrupted run, and no task that succeeded may ever have executed again."""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from cli_process import baton
from sqlalchemy import select

from baton.core.states import RunState
from baton.store.runs import get_run, run_outputs
from baton.store.schema import attempts, tasks
from baton.store.store import Store

KILLS = 20
INPUTS = ["--input", "n=300", "--input", "sleep_ms=10"]


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def start_detached(db: str, journal: Path) -> str:
    process = baton(db, "run", "baton_test_flows:durable", "--detach", "--input", f"path={journal}", *INPUTS)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output.split("run ", 1)[1].split()[0]


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    reference_db = f"sqlite:///{tmp_path / 'reference.db'}"
    reference_run = start_detached(reference_db, tmp_path / "reference.jsonl")
    finished = baton(reference_db, "resume", reference_run, "-q")
    assert finished.wait(timeout=120) == 0

    db = f"sqlite:///{tmp_path / 'killed.db'}"
    journal = tmp_path / "journal.jsonl"
    run_id = start_detached(db, journal)
    kills = 0
    while kills < KILLS:
        process = baton(db, "resume", run_id, "-q")
        # Kill after a random amount of new work (1-12 task executions) plus a random few milliseconds,
        # so that kills land before, during and after commits — never all at startup.
        target = lines(journal) + rng.randint(1, 12)
        deadline = time.monotonic() + 30
        while lines(journal) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.03))
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the run finished after only {kills} kills; make the workload longer\n{output}")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1
    store, reference = Store.open(db), Store.open(reference_db)
    with store.read() as conn:
        state = get_run(conn, run_id).state
    if state is not RunState.SUCCEEDED:  # the last kill may have hit a process that had just finished
        final = baton(db, "resume", run_id, "-q")
        output, _ = final.communicate(timeout=120)
        assert final.returncode == 0, output
    with store.read() as conn, reference.read() as ref:
        assert get_run(conn, run_id).state is RunState.SUCCEEDED
        assert run_outputs(conn, run_id) == run_outputs(ref, reference_run)
        succeeded_attempt = dict(
            conn.execute(
                select(tasks.c.name, attempts.c.number)
                .join(attempts, attempts.c.task_id == tasks.c.id)
                .where(attempts.c.outcome == "succeeded")
            ).all()
        )
        task_count = conn.execute(select(tasks.c.id).where(tasks.c.kind != "map")).all()
    store.close()
    reference.close()

    executions = [json.loads(line) for line in journal.read_text().splitlines()]
    runs_per_attempt = Counter((e["task"], e["attempt"]) for e in executions)
    assert max(runs_per_attempt.values()) == 1, "an attempt executed twice"
    assert set(succeeded_attempt) == {e["task"] for e in executions}
    assert len(succeeded_attempt) == len(task_count)
    for execution in executions:
        # Nothing runs again once it has succeeded: every execution is at or before the successful attempt.
        assert execution["attempt"] <= succeeded_attempt[execution["task"]], execution
    reruns = len(executions) - len(succeeded_attempt)
    processes = len({e["pid"] for e in executions})
    print(
        f"\n{kills} kills, {processes} processes, {len(executions)} executions of {len(task_count)} tasks, "
        f"{reruns} re-executions of attempts lost to a kill"
    )
    assert processes >= KILLS  # every kill landed in a process that was doing work
