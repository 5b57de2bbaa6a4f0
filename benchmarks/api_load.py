"""Load on a real `baton serve` over loopback: (a) REST at a fixed rate, (b) many WebSocket clients on one run.

    .venv/bin/python benchmarks/api_load.py                      # both parts, the issue's sizes
    .venv/bin/python benchmarks/api_load.py --rate 500 --seconds 5 --clients 100 --tasks 500

(a) GET /runs and GET /runs/{id} alternately, scheduled open-loop at ``--rate`` requests per second for
``--seconds`` over keep-alive connections; latency counts from the scheduled start, so a server that
falls behind shows it (no coordinated omission). (b) ``--clients`` WebSocket clients follow one run of
the demo workflow with ``--tasks`` documents, executed by a separate `baton worker` process; delay is the
time from an event's timestamp (taken in the transaction that commits it) to its arrival at a client.

The server runs in its own process with access logs at warning level; the client is a minimal HTTP/1.1
keep-alive client so that the load generator is not the bottleneck on a small machine. Everything is on
one machine: the figures include the clients' own CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
_TS = re.compile(rb'"task_id": [^,]*, "ts": ([0-9.]+)')
_EVENT = b'"task_id": '  # in every message that carries an event, in no heartbeat or error notice
# Every client counts what it receives, one in DELAY_SAMPLE also times each message: parsing 5 million
# timestamps in Python would make the load generator, not the server, the bottleneck on 2 cores.
# The server treats all clients alike (one shared batch per position), so the sample stands for all.
DELAY_SAMPLE = 10


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- the server under test ---------------------------------------------------------------------------


def serve(db: str, port: int, worker: bool) -> None:
    """Child process: the server exactly as `baton serve` configures uvicorn, with request logs off."""
    import uvicorn

    from baton.server import ServerSettings, uvicorn_config
    from baton.store.store import Store

    settings = ServerSettings(port=port, rate_limit_per_minute=0, run_worker=worker, log_level="warning")
    uvicorn.Server(uvicorn_config(Store.open(db), settings)).run()


class CpuMeter:
    """CPU used over a phase by this process (the load generator), by the processes named, and by the
    whole machine (``cpu_machine``: more than their sum means something else ran and the figures suffer)."""

    def __init__(self, **others: int) -> None:
        self.others = {name: psutil.Process(pid) for name, pid in others.items()}
        self.wall = time.perf_counter()
        self.start = {name: _cpu(p) for name, p in self._all().items()}
        self.machine = _busy()

    def _all(self) -> dict[str, psutil.Process]:
        return {"client": psutil.Process(), **self.others}

    def read(self) -> dict[str, float]:
        """CPU use so far per process, in cores (1.0: one core busy all the time; the machine has
        ``os.cpu_count()``). Read it while every process measured still runs."""
        wall = max(time.perf_counter() - self.wall, 1e-9)
        used = {f"cpu_{n}": round((_cpu(p) - self.start[n]) / wall, 2) for n, p in self._all().items()}
        return {**used, "cpu_machine": round((_busy() - self.machine) / wall, 2)}


def _busy() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def start_worker(db: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "baton", "--db", db, "worker", "--poll", "0.05"],
        env=ENV,
        stdout=subprocess.DEVNULL,
    )


def start_server(db: str, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, __file__, "--serve", db, "--port", str(port)], env=ENV)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


# -- (a) REST at a fixed rate -------------------------------------------------------------------------


class KeepAlive:
    """One HTTP/1.1 connection: GET, read the status line, headers and Content-Length body."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {self.key}\r\n\r\n"
        self.writer.write(request.encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        await self.reader.readexactly(length)
        return status


async def rest_load(
    port: int, key: str, run_ids: list[str], rate: int, seconds: float, server_pid: int
) -> dict[str, Any]:
    pool: asyncio.Queue[KeepAlive] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(KeepAlive(port, key))
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.2
    total = int(rate * seconds)

    async def one(index: int) -> None:
        nonlocal errors
        scheduled = start + index / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        connection = await pool.get()
        path = "/runs?limit=20" if index % 2 == 0 else f"/runs/{run_ids[index % len(run_ids)]}"
        try:
            status = await connection.get(path)
            if status != 200:
                errors += 1
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
            connection = KeepAlive(port, key)
        latencies.append(time.perf_counter() - scheduled)
        pool.put_nowait(connection)

    meter = CpuMeter(server=server_pid)
    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - start
    cpu = meter.read()
    return {
        "requests": total,
        "achieved_rps": round(total / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "errors": errors,
        **cpu,
    }


# -- (b) many WebSocket clients on one run ------------------------------------------------------------


async def stream_load(
    db: str, port: int, key: str, clients: int, tasks: int, server_pid: int
) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"})
    token = (await api.post("/auth/token")).json()["access_token"]
    # The run is stored, every client connects, and only then does a worker process start executing it.
    run = (
        await api.post("/runs", json={"workflow": "demo", "inputs": {"documents": tasks, "work_ms": 0}})
    ).json()
    delays: list[float] = []
    received = [0] * clients
    first_last = [float("inf"), 0.0]
    done = asyncio.Event()
    finished = 0

    async def client(index: int) -> None:
        nonlocal finished
        async with connect(
            f"ws://127.0.0.1:{port}/ws/runs/{run['id']}?token={token}&after=0", max_size=2**24, max_queue=None
        ) as socket:
            while True:
                frame = await socket.recv(decode=False)
                now = time.time()
                if index % DELAY_SAMPLE == 0:
                    stamps = _TS.findall(frame)
                    received[index] += len(stamps)
                    delays.extend(now - float(ts) for ts in stamps)
                else:
                    received[index] += frame.count(_EVENT)
                first_last[0] = min(first_last[0], now)
                first_last[1] = max(first_last[1], now)
                if b'"type": "complete"' in frame:
                    break
        finished += 1
        if finished == clients:
            done.set()

    runners = [asyncio.create_task(client(i)) for i in range(clients)]
    while sum(1 for r in received if r) < clients:  # each client has had the run's first events
        await asyncio.sleep(0.05)
    delays.clear()
    started = time.time()
    worker = start_worker(db)
    meter = CpuMeter(server=server_pid, worker=worker.pid)
    try:
        await asyncio.wait_for(done.wait(), timeout=600)
        cpu = meter.read()
        await asyncio.gather(*runners)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    await api.aclose()
    live = [d for d in delays if d < time.time() - started]  # replayed events before the start excluded
    span = max(first_last[1] - first_last[0], 1e-9)
    return {
        "clients": clients,
        "run_tasks": tasks + 4,
        "messages_delivered": sum(received),
        "messages_per_client": statistics.median(received),
        "delivered_per_second": round(sum(received) / span),
        "delay_p50_ms": round(percentile(live, 0.5) * 1000, 1),
        "delay_p99_ms": round(percentile(live, 0.99) * 1000, 1),
        "delay_max_ms": round(max(live) * 1000, 1),
        **cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--skip-rest", action="store_true")
    parser.add_argument("--skip-streams", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, worker=False)
        return

    sys.path.insert(0, str(ROOT / "src"))
    from baton.store.keys import Role, create_key_txn
    from baton.store.store import Store

    workdir = Path(tempfile.mkdtemp(prefix="baton-api-load-"))
    db = f"sqlite:///{workdir / 'baton.db'}"
    store = Store.open(db)
    with store.begin() as conn:
        key = create_key_txn(conn, name="bench", role=Role.ADMIN, now=time.time()).secret
    port = args.port or _free_port()
    server = start_server(db, port)
    results: dict[str, Any] = {}
    try:
        if not args.skip_rest:
            client = httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
            )
            run_ids = [
                client.post(
                    "/runs", json={"workflow": "demo", "inputs": {"documents": 5, "work_ms": 0}}
                ).json()["id"]
                for _ in range(20)
            ]
            results["rest"] = asyncio.run(rest_load(port, key, run_ids, args.rate, args.seconds, server.pid))
            print("rest:", json.dumps(results["rest"]), flush=True)
        if not args.skip_streams:
            results["streams"] = asyncio.run(stream_load(db, port, key, args.clients, args.tasks, server.pid))
            print("streams:", json.dumps(results["streams"]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)
        store.close()
    (workdir / "results.json").write_text(json.dumps(results, indent=2))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
