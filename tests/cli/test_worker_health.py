"""`baton worker --health-port`: the endpoint containers' health checks and Kubernetes' probes ask."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


pytestmark = pytest.mark.slow


def test_a_worker_answers_health_from_its_loop_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "baton.cli", "--db", url, "worker", "--health-port", str(port)],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.text == "ok\n"
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 404
        assert httpx.post(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 404
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_a_health_port_out_of_range_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "baton.cli",
            "--db",
            f"sqlite:///{tmp_path / 'b.db'}",
            "worker",
            "--health-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "health-port" in done.stdout + done.stderr
