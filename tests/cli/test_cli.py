"""`baton` as a user runs it: real processes, a real store file. Bad input gets one clear line, the
right exit code, no traceback (unless --debug), and leaves the store exactly as it was."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from baton.store.runs import get_run, run_outputs
from baton.store.store import Store

HERE = Path(__file__).parent
ENGINE_FLOWS = HERE.parent / "engine"


def baton(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": f"{HERE}{os.pathsep}{ENGINE_FLOWS}",
        "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
        "COLUMNS": "200",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def snapshot(tmp_path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(tmp_path / "baton.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [(t, conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in sorted(tables)]


@pytest.fixture
def started(tmp_path: Path) -> str:
    """A store with one run waiting for an approval."""
    result = baton(tmp_path, "run", "baton_test_flows:gated", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting for an approval" in result.stdout
    run_id = result.stdout.split("run ", 1)[1].split()[0]
    assert f"`baton approve {run_id} release`" in result.stdout  # names the task that waits
    return run_id


def assert_refused(result: subprocess.CompletedProcess[str], code: int, *phrases: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output
    assert output.lstrip().startswith("error:"), output
    for phrase in phrases:
        assert phrase in output, output


@pytest.mark.slow
def test_a_run_from_start_to_finish(tmp_path: Path) -> None:
    result = baton(
        tmp_path, "run", "baton.workflows.demo:workflow", "--input", "documents=4", "--input", "work_ms=0"
    )
    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout
    run_id = result.stdout.split("run ", 1)[1].split()[0]
    status = baton(tmp_path, "status", run_id[:6])
    assert "★ discover" in status.stdout and "summarise ×4" in status.stdout
    assert "critical path: discover → summarise → report" in status.stdout
    events = baton(tmp_path, "events", run_id, "--type", "task.error")
    assert "reference source timed out" in events.stdout
    one_task = baton(tmp_path, "events", run_id, "--task", "fetch_reference").stdout
    assert "retrying" in one_task and "discover" not in one_task
    assert "succeeded" in baton(tmp_path, "runs").stdout
    stats = baton(tmp_path, "stats", run_id)
    assert "durations by step" in stats.stdout and "summarise" in stats.stdout
    graph = baton(tmp_path, "graph", "baton.workflows.demo:workflow")
    assert "map over discover" in graph.stdout and "critical path:" in graph.stdout


def test_approve_then_resume_finishes_the_run(tmp_path: Path, started: str) -> None:
    assert baton(tmp_path, "approve", started, "release", "--comment", "ok").returncode == 0
    result = baton(tmp_path, "resume", started, "-q")
    assert result.returncode == 0 and "succeeded" in result.stdout
    assert "report" not in result.stdout  # a workflow that names no report shows none


def test_status_shows_the_report_once_its_steps_succeeded(tmp_path: Path, started: str) -> None:
    assert "report: none — this workflow names no report" in baton(tmp_path, "status", started).stdout
    result = baton(tmp_path, "run", "baton_test_flows:graded", "-q")
    assert "waiting for an approval" in result.stdout, result.stdout + result.stderr
    run_id = result.stdout.split("run ", 1)[1].split()[0]
    waiting = baton(tmp_path, "status", run_id).stdout
    assert "report: not yet — it is made once mark, publish succeeded" in waiting
    assert baton(tmp_path, "approve", run_id, "publish").returncode == 0
    resumed = baton(tmp_path, "resume", run_id, "-q")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # a resume ends with the run's report, as `baton status` shows it (not only "succeeded")
    assert (
        "1/3 subjects reach the pass mark" in resumed.stdout and "note: music is optional" in resumed.stdout
    )
    done = baton(tmp_path, "status", run_id)
    assert done.returncode == 0, done.stderr
    assert (
        "1/3 subjects reach the pass mark" in done.stdout and "failed (1 met, 1 failed, 1 not" in done.stdout
    )
    rows = {line.split("│")[2].strip(): line for line in done.stdout.splitlines() if line.count("│") > 5}
    assert "⊘" in rows["music"] and "not taken" in rows["music"] and "music was not taken" in rows["music"]
    assert "✘" in rows["art"] and "4 < 5" in rows["art"] and "✔" in rows["maths"]
    assert "note: music is optional" in done.stdout


def test_cyclic_workflow(tmp_path: Path) -> None:
    assert_refused(baton(tmp_path, "run", "cli_flows:cyclic"), 2, "has a cycle:", "fetch", "pack", "clean")
    assert not (tmp_path / "baton.db").exists()


def test_unknown_module_and_workflow(tmp_path: Path) -> None:
    assert_refused(baton(tmp_path, "run", "no_such_module:flow"), 2, "cannot import module 'no_such_module'")
    assert_refused(baton(tmp_path, "run", "cli_flows:missing"), 2, "is nothing, not a baton Workflow")
    assert_refused(baton(tmp_path, "run", "cli_flows:not_a_workflow"), 2, "is int, not a baton Workflow")
    assert_refused(baton(tmp_path, "run", "cli_flows"), 2, "is not a workflow reference", "MODULE:WORKFLOW")


def test_inputs_that_fail_validation_name_the_fields(tmp_path: Path, started: str) -> None:
    before = snapshot(tmp_path)
    result = baton(tmp_path, "run", "cli_flows:typed", "--input", "quantity=0")
    assert_refused(result, 2, "quantity: Input should be greater than or equal to 1", "sku: Field required")
    assert_refused(baton(tmp_path, "run", "cli_flows:typed", "--input", "oops"), 2, "is not NAME=VALUE")
    assert snapshot(tmp_path) == before


def test_unknown_run_and_task(tmp_path: Path, started: str) -> None:
    before = snapshot(tmp_path)
    assert_refused(baton(tmp_path, "status", "nope"), 3, "no run with id 'nope'", "baton runs")
    assert_refused(baton(tmp_path, "approve", started, "nope"), 3, "has no task 'nope'")
    assert_refused(baton(tmp_path, "resume", "nope"), 3, "no run with id 'nope'")
    assert snapshot(tmp_path) == before


def test_illegal_transitions(tmp_path: Path, started: str) -> None:
    before = snapshot(tmp_path)
    assert_refused(baton(tmp_path, "approve", started, "prepare"), 4, "is succeeded; it cannot become ready")
    assert_refused(baton(tmp_path, "retry", started, "release"), 4, "only a failed task can be retried")
    assert snapshot(tmp_path) == before


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = baton(tmp_path, "--debug", "status", "nope")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_locked_database(tmp_path: Path, started: str) -> None:
    holder = sqlite3.connect(tmp_path / "baton.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = baton(tmp_path, "cancel", started, env={"BATON_BUSY_TIMEOUT": "0.3"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_refused(result, 5, "is locked by another process", "BATON_BUSY_TIMEOUT")


def test_not_a_baton_database_corrupt_or_newer(tmp_path: Path) -> None:
    (tmp_path / "baton.db").write_text("hello\n" * 1000)
    assert_refused(baton(tmp_path, "runs"), 5, "is not a SQLite database")
    (tmp_path / "baton.db").unlink()
    assert_refused(baton(tmp_path, "runs"), 3, "no baton store at")  # a read makes no store
    assert not (tmp_path / "baton.db").exists()
    assert baton(tmp_path, "migrate").returncode == 0
    with sqlite3.connect(tmp_path / "baton.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    assert_refused(baton(tmp_path, "runs"), 5, "newer than this baton knows", "upgrade baton")


def test_prune_removes_old_finished_runs(tmp_path: Path, started: str) -> None:
    baton(tmp_path, "cancel", started)
    with sqlite3.connect(tmp_path / "baton.db") as conn:
        conn.execute("UPDATE runs SET created_at = created_at - 40 * 86400")
    result = baton(tmp_path, "prune", "--older-than", "30d")
    assert result.returncode == 0 and "removed 1 runs" in result.stdout
    counts = dict(snapshot(tmp_path))
    assert counts["runs"] == counts["tasks"] == counts["checkpoints"] == counts["attempts"] == 0
    assert_refused(baton(tmp_path, "prune", "--older-than", "soon"), 2, "is not an age")


def test_bad_settings_and_broken_modules_get_a_message(tmp_path: Path) -> None:
    assert baton(tmp_path, "migrate").returncode == 0  # a store to read: reads do not create one
    assert_refused(baton(tmp_path, "runs", env={"BATON_BUSY_TIMEOUT": "5s"}), 2, "BATON_BUSY_TIMEOUT='5s'")
    assert_refused(
        baton(tmp_path, "runs", env={"BATON_RETENTION_DAYS": "abc"}), 2, "BATON_RETENTION_DAYS='abc'"
    )
    (tmp_path / "broken_flows.py").write_text("def oops(:\n")
    result = baton(tmp_path, "run", "broken_flows:flow", env={"PYTHONPATH": str(tmp_path)})
    assert_refused(result, 2, "importing module 'broken_flows' failed: SyntaxError")
    assert_refused(
        baton(tmp_path, "run", "cli_flows:typed", "--concurrency", "0", "-i", "quantity=1", "-i", "sku=a"),
        2,
        "concurrency must be at least 1",
    )


def test_a_replay_keeps_its_sources_clock_and_a_plain_rerun_starts_its_own(tmp_path: Path) -> None:
    def started(result: subprocess.CompletedProcess[str]) -> str:
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.split("run ", 1)[1].split()[0]

    source = started(baton(tmp_path, "run", "cli_flows:clocked", "-q"))
    replay = started(baton(tmp_path, "rerun", source, "--replay", "-q"))
    replay_of_replay = started(baton(tmp_path, "rerun", replay, "--replay", "-q"))
    plain = started(baton(tmp_path, "rerun", replay, "-q"))
    store = Store.open(f"sqlite:///{tmp_path / 'baton.db'}")
    try:
        with store.read() as conn:
            runs = {r: get_run(conn, r) for r in (source, replay, replay_of_replay, plain)}
            stamps = {r: run_outputs(conn, r)["stamp"] for r in runs}
    finally:
        store.close()
    origin = runs[source].created_at
    assert stamps[source] == stamps[replay] == stamps[replay_of_replay] == origin
    assert runs[replay].options == {"replay_of": source, "clock": origin}
    assert runs[replay_of_replay].options == {"replay_of": replay, "clock": origin}
    assert "clock" not in runs[plain].options and stamps[plain] == runs[plain].created_at > origin


def test_help_shows_no_value_beside_an_on_off_flag(tmp_path: Path) -> None:
    for command in (("run",), ("worker",), ("build",), ("events",)):
        result = baton(tmp_path, *command, "--help", env={"COLUMNS": "120"})
        assert result.returncode == 0, result.stderr
        assert "<bool>" not in result.stdout, (command, result.stdout)
        assert "<int>" in result.stdout or "<str>" in result.stdout  # options with values keep their type
