"""Migrations under a race: a fleet started at the same instant on an empty PostgreSQL, and `baton migrate`.

Two kinds of trials. The real ones start 8 `baton worker` and 2 `baton serve --no-worker` processes at once
and wait until every one is serving. The many ones start 10 processes that import the store and then wait
for one shared instant before they open it, so that their migrations collide far more tightly than whole
commands (which take a second or two to import) ever do. ``BATON_MIGRATE_TRIALS`` sets how many (4 by
default, to keep `make test` lean; the issue's proof is ``BATON_MIGRATE_TRIALS=20``) and
``BATON_FLEET_TRIALS`` how many of the real ones (1 by default; 20 for the proof).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from baton.core.errors import SchemaBehindError
from baton.store.database import HEAD_REVISION
from baton.store.store import Store
from pgserver import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OPEN_AT = """
import sys, time
from pathlib import Path
from baton.store.store import Store
folder = Path(sys.argv[2])
(folder / f"ready-{sys.argv[3]}").touch()
while not (folder / "go").exists():
    time.sleep(0.002)
Store.open(sys.argv[1]).close()
"""


def _revision(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.timeout(1200)
def test_ten_processes_opening_an_empty_database_at_one_instant_all_succeed(
    postgres: Any, tmp_path: Path
) -> None:
    trials = int(os.environ.get("BATON_MIGRATE_TRIALS", "4"))
    failures: list[str] = []
    for trial in range(trials):
        url = postgres.url(postgres.create_database())
        folder = tmp_path / f"trial-{trial}"
        folder.mkdir()
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AT, url, str(folder), str(index)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for index in range(10)
        ]
        deadline = time.monotonic() + 120
        while len(list(folder.glob("ready-*"))) < 10:  # every one has imported the store: go at once
            assert time.monotonic() < deadline and all(p.poll() is None for p in processes)
            time.sleep(0.01)
        (folder / "go").touch()
        for process in processes:
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                failures.append(f"trial {trial}: exit {process.returncode}: {output[-600:]}")
        assert _revision(url) == HEAD_REVISION
    assert not failures, "\n".join(failures)


def _serving(process: subprocess.Popen[bytes], log: Path, port: int | None) -> bool:
    if port is None:
        return "worker serving" in log.read_text(errors="replace")
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _fleet_trial(url: str, folder: Path) -> list[str]:
    """8 workers and 2 servers started together; the lines of those that died (none, when all is well)."""
    env = {**os.environ, "BATON_DATABASE_URL": url}
    started: list[tuple[subprocess.Popen[bytes], Path, int | None]] = []
    commands: list[tuple[list[str], int | None]] = [(["worker", "--drain", "2s"], None)] * 8
    for _ in range(2):
        port = free_port()
        commands.append((["serve", "--no-worker", "--port", str(port)], port))
    for index, (arguments, port) in enumerate(commands):
        log = folder / f"process-{index}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "baton.cli", *arguments], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        started.append((process, log, port))
    deaths: list[str] = []
    try:
        deadline = time.monotonic() + 120
        waiting = list(started)
        while waiting and time.monotonic() < deadline:
            for entry in list(waiting):
                process, log, port = entry
                if process.poll() is not None:
                    deaths.append(f"{log.name} exited {process.returncode}: {log.read_text()[-600:]}")
                    waiting.remove(entry)
                elif _serving(process, log, port):
                    waiting.remove(entry)
            time.sleep(0.1)
        deaths += [f"{log.name} never started serving: {log.read_text()[-600:]}" for _, log, _ in waiting]
    finally:
        for process, _, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, log, _ in started:
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            if code != 0 and not any(line.startswith(log.name) for line in deaths):
                deaths.append(f"{log.name} exited {code} on SIGTERM: {log.read_text()[-600:]}")
    return deaths


@pytest.mark.timeout(900)
def test_eight_workers_and_two_servers_started_together_on_an_empty_database(
    postgres: Any, tmp_path: Path
) -> None:
    trials = int(os.environ.get("BATON_FLEET_TRIALS", "1"))
    deaths: list[str] = []
    for trial in range(trials):
        folder = tmp_path / f"trial-{trial}"
        folder.mkdir()
        url = postgres.url(postgres.create_database())
        deaths += [f"trial {trial}: {line}" for line in _fleet_trial(url, folder)]
        assert _revision(url) == HEAD_REVISION
    assert not deaths, "\n".join(deaths)


def test_with_migrations_off_an_old_schema_is_refused_naming_baton_migrate(
    postgres: Any, tmp_path: Path
) -> None:
    url = postgres.url(postgres.create_database())
    with pytest.raises(SchemaBehindError, match="no baton schema yet") as raised:
        Store.open(url, migrate=False)
    assert "baton migrate" in (raised.value.hint or "")
    env = {**os.environ, "BATON_DATABASE_URL": url, "BATON_AUTO_MIGRATE": "false"}
    worker = subprocess.run(
        [sys.executable, "-m", "baton.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert worker.returncode == 5
    assert "baton migrate" in worker.stdout and "Traceback" not in worker.stdout + worker.stderr
    migrated = subprocess.run(
        [sys.executable, "-m", "baton.cli", "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert f"migrated from empty to {HEAD_REVISION}" in migrated.stdout
    again = subprocess.run(
        [sys.executable, "-m", "baton.cli", "migrate", "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0 and f"is current ({HEAD_REVISION})" in again.stdout
    Store.open(url, migrate=False).close()  # now current: opens without migrating


def test_a_database_that_cannot_be_reached_is_named_without_a_traceback() -> None:
    env = {**os.environ, "BATON_DATABASE_URL": f"postgresql://baton:secret@127.0.0.1:{free_port()}/baton"}
    for command in (["worker"], ["serve", "--no-worker", "--port", str(free_port())], ["migrate"]):
        done = subprocess.run(
            [sys.executable, "-m", "baton.cli", *command], env=env, capture_output=True, text=True, timeout=60
        )
        output = done.stdout + done.stderr
        assert done.returncode == 5, output
        assert "cannot connect to the database 127.0.0.1" in output
        assert "Traceback" not in output and "secret" not in output
