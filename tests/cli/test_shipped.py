"""The shipped workflows through the real engine and CLI, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from baton.workflows.builder import stop_service


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def baton(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_build_an_idea_into_a_running_service(tmp_path: Path) -> None:
    out = tmp_path / "library"
    idea = "A REST API for a small library: books, authors and loans; members borrow books"
    result = baton(tmp_path, "build", idea, "--out", str(out), "-q", "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed, coverage" in result.stdout and "0 parse errors" in result.stdout
    assert "requirements" in result.stdout and "5/5 honoured" in result.stdout
    assert "stage times" in result.stdout and "gate " in result.stdout.split("stage times", 1)[1]
    url = result.stdout.split("service", 1)[1].split()[1]
    first = tmp_path / "first"
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"
        assert (out / "BUILD.md").exists() and (out / "spec.yaml").exists()
        assert url not in (out / "README.md").read_text() + (out / "BUILD.md").read_text()
        again = baton(tmp_path, "build", idea, "--out", str(out))
        assert again.returncode == 2 and "already exists" in again.stdout
        # A build without a model replays too: the same commits, hash for hash, in a new repository.
        log = git(out, "log", "--format=%H %ad %cd %s")
        run_id = result.stdout.split("build ", 1)[1].split()[0]
        stop_service(out)
        out.rename(first)
        replay = baton(tmp_path, "rerun", run_id, "--replay", "-q")
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert "5/5 honoured" in replay.stdout and "passed, coverage" in replay.stdout  # the build's summary
        assert git(out, "log", "--format=%H %ad %cd %s") == log and len(log.splitlines()) == 4
    finally:
        stop_service(out)
        stop_service(first)


@pytest.mark.slow
def test_strict_fails_a_build_that_leaves_requirements_over(tmp_path: Path) -> None:
    out = tmp_path / "rates"
    idea = "A nightly job collects exchange rates from the central bank and stores them"
    try:
        result = baton(tmp_path, "build", idea, "--out", str(out), "-q", "--strict")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "1/2 honoured, 1 not implemented" in result.stdout
        assert "collects exchange rates" in result.stdout and "--strict: 1 requirement" in result.stdout
        build_md = (out / "BUILD.md").read_text()
        assert "The build succeeded" not in build_md
        assert "1/2 honoured" in build_md.splitlines()[2]
        readme = (out / "README.md").read_text()
        assert "**What it does not do** (yet):" in readme
    finally:
        stop_service(out)


def test_a_meaningless_idea_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    result = baton(tmp_path, "build", "hmm")
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith("error:")
    assert not (tmp_path / "baton.db").exists()


@pytest.mark.slow
def test_plan_a_season_from_plain_words(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert baton(tmp_path, "season", "sample-data", str(data), "--stores", "12").returncode == 0
    request = "12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC"
    result = baton(
        tmp_path, "season", "plan", request, "--data", str(data), "--out", str(tmp_path / "plan"), "-q"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # the season's last day, included (12 weeks from Monday 2 March end on Sunday 24 May)
    assert (
        "12 weeks, 2026-03-02 → 2026-05-24 (last day included), weekly replenishment, 10% at the DC"
        in " ".join(result.stdout.split())
    )
    assert "'10%' → 10% DC holdback" in result.stdout  # each reading of the request is shown
    assert (tmp_path / "plan" / "PLAN.md").exists()
    bad = baton(tmp_path, "season", "plan", "80 weeks, keep 150% at the DC", "--data", str(data))
    assert bad.returncode == 2 and "Traceback" not in bad.stdout + bad.stderr
    contradiction = "12 weeks from 2026-03-02, no replenishment, restock weekly, 10% at the DC"
    torn = baton(tmp_path, "season", "plan", contradiction, "--data", str(data))
    assert torn.returncode == 2 and "contradict" in torn.stdout + torn.stderr
    undated = baton(tmp_path, "season", "sample-data", str(tmp_path / "x"), "--last-week", "2026-13-01")
    assert undated.returncode == 2 and "is not a date" in undated.stdout + undated.stderr
