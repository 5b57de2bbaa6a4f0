"""Load on a real `baton serve` over loopback: (a) REST at a fixed rate, (b) many WebSocket clients on one run.

    .venv/bin/python benchmarks/api_load.py                      # both parts, the issue's sizes
    .venv/bin/python benchmarks/api_load.py --rate 500 --seconds 5 --clients 100 --tasks 500

(a) GET /runs and GET /runs/{id} alternately, scheduled open-loop at ``--rate`` requests per second for
``--seconds`` over keep-alive connections; latency counts from the scheduled start, so a server that
falls behind shows it (no coordinated omission). The client is a minimal HTTP/1.1 keep-alive client.

(b) ``--clients`` WebSocket clients follow one run of the demo workflow with ``--tasks`` documents,
executed by a separate `baton worker` process, twice: with plain JSON text frames, then with compressed
frames (``?compress=deflate``). A message's delay runs from its commit (when a process polling the
database every millisecond first sees its event id) to its arrival at a client; the delay from the
event's own timestamp is reported too, and so is the server's own histogram of frame writes. The
clients are raw RFC 6455 protocol objects on uvloop, spread over ``--client-processes``, each of which
decodes a frame whose bytes it has already seen only once (``--decode-every-frame``: every copy).

The server runs in its own process with access logs off. Everything is on one machine: the figures
include the clients' and the worker's CPU use, reported per process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import functools
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, cast

import httpx
import psutil
import uvloop

ROOT = Path(__file__).resolve().parents[1]


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
        return {
            **used,
            "cpu_machine": round((_busy() - self.machine) / wall, 2),
            "cpu_wall_s": round(wall, 2),
        }


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

# Each message carries its event id and, after it in every encoding the server uses, its timestamp.
_STAMPS = re.compile(
    rb'"event_id": ?([0-9]+), ?"event": ?"[^"]*", ?"run_id": ?[^,]*, ?"task_id": ?[^,]*, ?"ts": ?([0-9.]+)'
)
_COMPLETE = re.compile(rb'"type": ?"complete"')
_EVENT = b'"event":'  # in every message that carries an event, in no heartbeat or error notice
# Every client counts the messages it receives; one in DELAY_SAMPLE also notes each message's event id
# and timestamp with its arrival. The server treats all clients alike (one shared batch per position),
# so the sample stands for all of them.
DELAY_SAMPLE = 10


class Decoded(NamedTuple):
    count: int  # messages that carry an event
    stamps: list[tuple[int, float]]  # (event id, event time) of each
    complete: bool  # the run's last message is among them


class StreamClient(asyncio.Protocol):
    """One WebSocket client as an asyncio protocol: the client side of RFC 6455, just enough for the
    benchmark (the upgrade, unmasked frames from the server, pongs to its pings). Frames are parsed as
    bytes arrive, with no coroutine per frame: a library client costs several times the server's CPU
    per frame, and on a 2-core machine would measure the load generator instead of the server."""

    def __init__(self, path: str, on_frame: Callable[[bytes], bool]) -> None:
        self.path = path
        self.on_frame = on_frame  # returns True when the client has had enough
        self.buffer = bytearray()
        self.upgraded = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport = cast(asyncio.Transport, None)  # set when connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport's subclasses
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self._finish(RuntimeError(f"the upgrade was refused: {bytes(buffer[:60])!r}"))
                return
            del buffer[: end + 4]
            self.upgraded = True
        while len(buffer) >= 2:
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            opcode = buffer[0] & 0x0F
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 0x9:  # ping: answer with a masked pong carrying the same payload
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)
            elif opcode == 0x8 or (opcode in (0x1, 0x2) and self.on_frame(payload)):
                self._finish(None)
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc)

    def _finish(self, error: Exception | None) -> None:
        if not self.closed.done():
            if error is None:
                self.closed.set_result(None)
            else:
                self.closed.set_exception(error)
        self.transport.close()


def observe_commits(db: str, out: str) -> None:
    """Child process: note when each event id becomes visible to a reader, polling every millisecond.
    ``PRAGMA data_version`` changes when another connection commits, so an idle poll reads no table."""
    import signal
    import sqlite3

    stop = False

    def finish(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, finish)
    conn = sqlite3.connect(db.removeprefix("sqlite:///"))
    seen: list[tuple[int, float]] = []
    version = None
    while not stop:
        current = conn.execute("PRAGMA data_version").fetchone()[0]
        if current != version:
            version = current
            highest = conn.execute("SELECT max(id) FROM events").fetchone()[0] or 0
            if not seen or highest > seen[-1][0]:
                seen.append((highest, time.time()))
        time.sleep(0.001)
    Path(out).write_text(json.dumps(seen))


def commit_times(seen: list[list[float]]) -> Callable[[int], float]:
    """When an event id first became visible: the first observation whose highest id reaches it."""
    highest = [int(h) for h, _ in seen]

    def at(event_id: int) -> float:
        return float(seen[min(bisect.bisect_left(highest, event_id), len(seen) - 1)][1])

    return at


_SEND_DELAY = re.compile(
    r'baton_stream_send_delay_seconds_bucket\{le="([^"]+)",transport="websocket"\} ([0-9.e+]+)'
)


async def frames_written(api: httpx.AsyncClient) -> dict[str, float]:
    """The server's own histogram of frames written to WebSocket clients, by delay from the oldest event
    in the frame (cumulative counts by bucket bound): the server's share of the delay, without the
    load generator's."""
    text = (await api.get("/metrics")).text
    return {bound: float(count) for bound, count in _SEND_DELAY.findall(text)} or {"0.25": 0, "+Inf": 0}


def _minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def run_clients(
    port: int, path: str, indexes: list[int], compress: bool, ready: Any, results: Any, memo: bool
) -> None:
    """Child process: one share of the WebSocket clients, on its own event loop (uvloop). Says when every
    client has had the run's first messages, then reports what each received once all have seen the end."""
    try:
        uvloop.run(_clients(port, path, indexes, compress, ready, results, memo))
    except BaseException as error:  # the parent waits on these queues: tell it, rather than hang it
        ready.put(repr(error))
        results.put(repr(error))
        raise


def decode(frame: bytes, compress: bool) -> Decoded:
    text = zlib.decompress(frame) if compress else frame
    stamps = [(int(event_id), float(ts)) for event_id, ts in _STAMPS.findall(text)]
    complete = _COMPLETE.search(text, max(0, len(text) - 1000)) is not None  # the run's last message
    return Decoded(text.count(_EVENT), stamps, complete)


async def _clients(
    port: int, path: str, indexes: list[int], compress: bool, ready: Any, results: Any, memo: bool
) -> None:
    received = dict.fromkeys(indexes, 0)
    stamps: list[tuple[int, float, float]] = []  # (event id, event time, arrival) at the sampled clients
    first_last = [float("inf"), 0.0]
    # The server sends the same frame to every client at the same place in the stream; 500 clients on
    # 500 machines would decode their copies in parallel. Here one process hosts them all, so a frame
    # whose bytes it has seen before is not decoded again (unless told to: --decode-every-frame).
    decoded: dict[bytes, Decoded] = {}

    def on_frame(index: int, frame: bytes) -> bool:
        now = time.time()
        content = decoded.get(frame) if memo else None
        if content is None:
            content = decode(frame, compress)
            if memo:
                decoded[frame] = content
        received[index] += content.count
        if index % DELAY_SAMPLE == 0:
            stamps.extend((event_id, ts, now) for event_id, ts in content.stamps)
        first_last[0] = min(first_last[0], now)
        first_last[1] = max(first_last[1], now)
        return content.complete

    loop = asyncio.get_running_loop()
    protocols = []
    for index in indexes:
        _, protocol = await loop.create_connection(
            lambda i=index: StreamClient(path, functools.partial(on_frame, i)),
            "127.0.0.1",
            port,  # type: ignore[misc]
        )
        protocols.append(protocol)
    closed = asyncio.gather(*(p.closed for p in protocols))
    while not all(received.values()):  # each client has had the run's first events
        if closed.done():
            closed.result()  # a client that failed stops the benchmark with its error
        await asyncio.sleep(0.05)
    stamps.clear()
    first_last[:] = [float("inf"), 0.0]  # from here on: the live run, not its replayed history
    ready.put("ready")
    await closed
    results.put({"received": list(received.values()), "stamps": stamps, "first_last": first_last})


async def stream_load(
    db: str,
    port: int,
    key: str,
    clients: int,
    tasks: int,
    server_pid: int,
    *,
    compress: bool,
    processes: int,
    memo: bool,
) -> dict[str, Any]:
    api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"})
    token = (await api.post("/auth/token")).json()["access_token"]
    # The run is stored, every client connects, and only then does a worker process start executing it.
    run = (
        await api.post("/runs", json={"workflow": "demo", "inputs": {"documents": tasks, "work_ms": 0}})
    ).json()
    path = f"/ws/runs/{run['id']}?token={token}&after=0" + ("&compress=deflate" if compress else "")
    spawn = multiprocessing.get_context("spawn")
    ready, results = spawn.Queue(), spawn.Queue()
    children = [
        spawn.Process(
            target=run_clients,
            args=(port, path, list(range(p, clients, processes)), compress, ready, results, memo),
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        if (said := await asyncio.to_thread(ready.get, timeout=300)) != "ready":
            raise RuntimeError(f"a client process failed: {said}")
    written_before = await frames_written(api)
    started = time.time()
    seen_file = Path(db.removeprefix("sqlite:///")).with_suffix(".commits.json")
    observer = subprocess.Popen(
        [sys.executable, __file__, "--observe", db, "--observe-out", str(seen_file)], env=ENV
    )
    worker = start_worker(db)
    clients_cpu = {f"clients{n}": child.pid for n, child in enumerate(children) if child.pid}
    meter = CpuMeter(server=server_pid, worker=worker.pid, observer=observer.pid, **clients_cpu)
    try:
        outcomes = [await asyncio.to_thread(results.get, timeout=600) for _ in children]
        cpu = meter.read()
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        observer.terminate()
        observer.wait(timeout=20)
        for child in children:
            child.join(timeout=20)
    if failed := [o for o in outcomes if not isinstance(o, dict)]:
        raise RuntimeError(f"a client process failed: {failed[0]}")
    written = _minus(await frames_written(api), written_before)
    await api.aclose()
    seen = json.loads(seen_file.read_text())  # the first observation: what was there before the worker
    committed = commit_times(seen)
    received = [count for o in outcomes for count in o["received"]]
    stamps = [tuple(stamp) for o in outcomes for stamp in o["stamps"]]
    live = [(event_id, ts, now) for event_id, ts, now in stamps if ts >= started]  # no replayed history
    from_event = [now - ts for _, ts, now in live]
    from_commit = [now - committed(event_id) for event_id, _, now in live]
    span = max(max(o["first_last"][1] for o in outcomes) - min(o["first_last"][0] for o in outcomes), 1e-9)
    cpu["cpu_clients"] = round(sum(cpu.pop(f"cpu_{name}") for name in clients_cpu), 2)
    del cpu["cpu_client"]  # this process only waited
    return {
        "frames": "deflate" if compress else "text",
        "clients": clients,
        "client_processes": processes,
        "decoded": "each distinct frame once" if memo else "every frame",
        "run_tasks": tasks + 4,
        "messages_delivered": sum(received),
        "messages_per_client": statistics.median(received),
        "delivered_per_second": round(sum(received) / span),
        "commits_span_s": round(seen[-1][1] - seen[min(1, len(seen) - 1)][1], 2),  # the run's first to last
        "delay_from_commit_p50_ms": round(percentile(from_commit, 0.5) * 1000, 1),
        "delay_from_commit_p99_ms": round(percentile(from_commit, 0.99) * 1000, 1),
        "delay_from_commit_max_ms": round(max(from_commit) * 1000, 1),
        "delay_from_event_p50_ms": round(percentile(from_event, 0.5) * 1000, 1),
        "delay_from_event_p99_ms": round(percentile(from_event, 0.99) * 1000, 1),
        "server_frames_written": written["+Inf"],
        "server_frames_written_within_250ms": round(written["0.25"] / max(written["+Inf"], 1), 3),
        **cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--observe", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--observe-out", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument(
        "--client-processes",
        type=int,
        default=os.cpu_count() or 1,
        help="processes the clients are spread over",
    )
    parser.add_argument(
        "--decode-every-frame",
        action="store_true",
        help="decode every client's copy of a frame (default: each distinct frame once per process)",
    )
    parser.add_argument("--skip-rest", action="store_true")
    parser.add_argument("--skip-streams", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, worker=False)
        return
    if args.observe:
        observe_commits(args.observe, args.observe_out)
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
            # The same load twice: plain JSON text frames, then frames compressed once per batch.
            for compress in (False, True):
                name = "streams_deflate" if compress else "streams"
                results[name] = asyncio.run(
                    stream_load(
                        db,
                        port,
                        key,
                        args.clients,
                        args.tasks,
                        server.pid,
                        compress=compress,
                        processes=args.client_processes,
                        memo=not args.decode_every_frame,
                    )
                )
                print(f"{name}:", json.dumps(results[name]), flush=True)
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
