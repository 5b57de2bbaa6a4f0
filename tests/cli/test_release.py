"""`baton release status|stop|start DIR`: the local release a build leaves running, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from test_shipped import baton

from baton.workflows.builder import stop_service

IDEA = "A REST API for a small library: books, authors and loans; members borrow books"


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A built repository's release folder, and a process of another program (a pid the release may
    have had once)."""
    release = tmp_path / "repo" / ".deploy" / "releases" / "abc123"
    release.mkdir(parents=True)
    (tmp_path / "repo" / ".deploy" / "current").symlink_to(Path("releases") / "abc123")
    other = tmp_path / "elsewhere"
    other.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], cwd=other, start_new_session=True
    )
    try:
        yield release, process
    finally:
        process.kill()
        process.wait()


def _record(release: Path, process: subprocess.Popen[bytes], **changes: object) -> None:
    info = {
        "pid": process.pid,
        "port": 1,
        "url": "http://127.0.0.1:1",
        "command": psutil.Process(process.pid).cmdline(),
        "started": psutil.Process(process.pid).create_time(),
        **changes,
    }
    (release / "service.json").write_text(json.dumps(info), encoding="utf-8")


def test_a_pid_that_is_no_longer_the_releases_is_never_stopped(
    tmp_path: Path, sleeper: tuple[Path, subprocess.Popen[bytes]]
) -> None:
    release, process = sleeper
    repo = str(tmp_path / "repo")
    # the pid's process runs elsewhere (its folder is not the release's): another program's now
    _record(release, process)
    status = baton(tmp_path, "release", "status", repo)
    assert status.returncode == 3, status.stdout + status.stderr
    assert f"pid {process.pid} now belongs to another program" in status.stdout
    stop = baton(tmp_path, "release", "stop", repo)
    assert stop.returncode == 0 and "nothing to stop" in stop.stdout, stop.stdout + stop.stderr
    assert process.poll() is None  # still running: not killed
    # same pid, same start time, but another command line: not the release's either
    _record(release, process, command=["python", "-m", "uvicorn"])
    assert baton(tmp_path, "release", "stop", repo).returncode == 0
    assert process.poll() is None


def test_the_releases_own_process_is_stopped(tmp_path: Path) -> None:
    release = tmp_path / "repo" / ".deploy" / "releases" / "abc123"
    release.mkdir(parents=True)
    (tmp_path / "repo" / ".deploy" / "current").symlink_to(Path("releases") / "abc123")
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], cwd=release, start_new_session=True
    )
    try:
        _record(release, process)
        status = baton(tmp_path, "release", "status", str(tmp_path / "repo"))
        assert (
            status.returncode == 0 and f"running at http://127.0.0.1:1 (pid {process.pid})" in status.stdout
        )
        stop = baton(tmp_path, "release", "stop", str(tmp_path / "repo"))
        assert f"stopped release abc123 (pid {process.pid})" in stop.stdout, stop.stdout + stop.stderr
        assert process.wait(10) is not None
    finally:
        process.kill()
        process.wait()


def test_a_folder_without_a_release_is_refused(tmp_path: Path) -> None:
    result = baton(tmp_path, "release", "stop", str(tmp_path))
    assert result.returncode == 2 and "has no local release" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _pid(text: str) -> int:
    return int(text.split("(pid ", 1)[1].split(")", 1)[0])


@pytest.mark.slow
def test_a_builds_release_is_told_of_stopped_replaced_and_started(tmp_path: Path) -> None:
    out = tmp_path / "library"
    try:
        # a prod build waits for its approval; its resume prints the build's summary, as `baton build` does
        first = baton(tmp_path, "build", IDEA, "--out", str(out), "--env", "prod", "-q")
        assert first.returncode == 0 and "waiting for an approval" in first.stdout, (
            first.stdout + first.stderr
        )
        run_id = first.stdout.split("build ", 1)[1].split()[0]
        assert baton(tmp_path, "approve", run_id, "deploy").returncode == 0
        resumed = baton(tmp_path, "resume", run_id, "-q")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert "5/5 honoured" in resumed.stdout and "passed, coverage" in resumed.stdout
        assert "running (pid" in resumed.stdout and f"baton release stop {out}" in resumed.stdout
        times = resumed.stdout.split("stage times", 1)[1].splitlines()[0]
        assert "code " in times and "deploy " in times
        old = _pid(resumed.stdout)
        assert _alive(old)
        build_md = (out / "BUILD.md").read_text()
        assert "`baton release stop .` stops it" in build_md
        assert "not run" not in build_md and build_md.count("| `README.md` |") == 1
        # a rebuild into the same folder replaces the release: the old process is stopped, not leaked
        again = baton(tmp_path, "build", IDEA, "--out", str(out), "--force", "-q")
        assert again.returncode == 0, again.stdout + again.stderr
        new = _pid(again.stdout)
        assert new != old and _alive(new) and not _alive(old)
        status = baton(tmp_path, "release", "status", str(out))
        assert status.returncode == 0 and f"(pid {new})" in status.stdout
        url = status.stdout.split("running at ", 1)[1].split()[0]
        stop = baton(tmp_path, "release", "stop", str(out))
        assert f"(pid {new})" in stop.stdout and not _alive(new)
        assert baton(tmp_path, "release", "status", str(out)).returncode == 3
        start = baton(tmp_path, "release", "start", str(out))
        assert start.returncode == 0 and f"started at {url}" in start.stdout, start.stdout + start.stderr
        with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"
    finally:
        stop_service(out)
