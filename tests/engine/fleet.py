"""A fleet of real `baton worker` processes on one store, and what the many-worker tests check of a run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from baton.core.states import AttemptOutcome, RunState
from baton.store.runs import get_run
from baton.store.schema import attempts, tasks, workers
from baton.store.store import Store

FLOWS = Path(__file__).parent
FINISHED = {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED}


class Fleet:
    """``count`` workers on ``url``, each writing its output to a file (a pipe left unread would block it)."""

    def __init__(
        self,
        url: str,
        folder: Path,
        count: int,
        *options: str,
        env: dict[str, str] | None = None,
        debug: bool = True,
    ):
        self.debug = debug
        self.url = url
        self.folder = folder
        self.options = options
        path = os.pathsep.join(filter(None, [str(FLOWS), os.environ.get("PYTHONPATH")]))
        self.env = {**os.environ, "PYTHONPATH": path, **(env or {})}
        self.processes: list[subprocess.Popen[bytes]] = []
        for _ in range(count):
            self.spawn()

    def spawn(self, *options: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115 -- the child owns it
        process = subprocess.Popen(
            # --debug: a worker that dies leaves its traceback in its log, for the test to show.
            [sys.executable, "-m", "baton.cli", *self._globals(), "worker", *self.options, *options],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def _globals(self) -> list[str]:
        return ["--debug", "--db", self.url] if self.debug else ["--db", self.url]

    def output(self, index: int) -> str:
        return (self.folder / f"worker-{index}.log").read_text(errors="replace")

    def deaths(self) -> list[str]:
        """One line per worker that is no longer running, with its exit code and the end of its output."""
        return [
            f"worker {i} exited {p.returncode}: {self.output(i)[-3000:]}"
            for i, p in enumerate(self.processes)
            if p.poll() is not None
        ]

    def stop(self, timeout: float = 30) -> list[int | None]:
        """SIGTERM every worker still running (a graceful drain) and return every exit code."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for process in self.processes:
            try:
                codes.append(process.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                codes.append(None)
        return codes


def wait_serving(store: Store, fleet: Fleet, timeout: float = 60) -> None:
    """Until every worker of the fleet has registered (opened the store and started its loop)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.read() as conn:
            if conn.execute(select(func.count()).select_from(workers)).scalar_one() >= len(fleet.processes):
                return
        assert not fleet.deaths(), fleet.deaths()
        time.sleep(0.1)
    raise AssertionError("the workers never all registered")


def wait_finished(store: Store, run_id: str, timeout: float, fleet: Fleet | None = None) -> RunState:
    deadline = time.monotonic() + timeout
    while True:
        with store.read() as conn:
            state = get_run(conn, run_id).state
        if state in FINISHED or time.monotonic() > deadline:
            return state
        if fleet is not None:
            assert not fleet.deaths(), fleet.deaths()
        time.sleep(0.2)


def journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def reexecuted_successes(store: Store, run_id: str, journal_path: Path) -> list[str]:
    """Executions that returned after their task's success was committed: an attempt numbered above the
    attempt whose result was stored. (An earlier attempt that returned but was never stored is allowed:
    that is at-least-once, not a re-execution of a committed success.)"""
    with store.read() as conn:
        committed = dict(
            conn.execute(
                select(tasks.c.name, attempts.c.number)
                .join(attempts, attempts.c.task_id == tasks.c.id)
                .where(tasks.c.run_id == run_id, attempts.c.outcome == AttemptOutcome.SUCCEEDED.value)
            ).all()
        )
    return [
        f"{line['task']} attempt {line['attempt']} (committed: {committed[line['task']]})"
        for line in journal(journal_path)
        if line["task"] in committed and line["attempt"] > committed[line["task"]]
    ]


def successes_per_task(journal_path: Path) -> Counter[str]:
    return Counter(line["task"] for line in journal(journal_path))
