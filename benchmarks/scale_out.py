"""Scale-out on PostgreSQL: one run of I/O-bound tasks (each awaits 100 ms, as a model call does) served
by 1, 2, 4 and 8 `baton worker` processes, side by side in one run of this script.

    python benchmarks/scale_out.py [--tasks 2000] [--workers 1,2,4,8] [--concurrency 16]

Each worker runs at most --concurrency tasks at once, so one worker's ceiling is concurrency / 0.1 s
tasks per second and N workers' is N times that: efficiency is tasks/s of N workers over N times the
tasks/s of one. Workers are started and registered before the run is stored, so their start-up (imports)
is not timed; the clock runs from storing the run to its end. Also printed: the database sessions baton
held at the peak (pg_stat_activity). The PostgreSQL is the tests' throwaway server (fsync off) on this
machine, which is shared: figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import create_engine, func, select, text

from baton.core.workflow import Workflow
from baton.engine import start_run
from baton.store.runs import get_run
from baton.store.schema import workers
from baton.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
TASK_SECONDS = 0.1


class Size(BaseModel):
    n: int


io_bound = Workflow("scale-out", inputs=Size)


@io_bound.step()
def items(inputs: Size) -> list[int]:
    return list(range(inputs.n))


@io_bound.map(over=items)
async def call(item: int) -> int:
    await asyncio.sleep(TASK_SECONDS)  # a model call: the worker waits, the CPU does not
    return item


@io_bound.step()
def total(call: list[int]) -> int:
    return len(call)


def _sessions(url: str, stop: threading.Event, peak: list[int]) -> None:
    engine = create_engine(url)
    try:
        while not stop.is_set():
            with engine.connect() as conn:
                count = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'baton%'")
                ).scalar_one()
            peak[0] = max(peak[0], int(count))
            stop.wait(0.25)
    finally:
        engine.dispose()


def measure(url: str, count: int, tasks: int, concurrency: int, folder: Path) -> dict[str, float]:
    store = Store.open(url)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent), "BATON_DATABASE_URL": url}
    processes = []
    for index in range(count):
        log = (folder / f"worker-{count}-{index}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "baton.cli",
                    "worker",
                    "--concurrency",
                    str(concurrency),
                    "--poll",
                    "100ms",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    try:
        deadline = time.monotonic() + 120
        while True:
            with store.read() as conn:
                registered = conn.execute(select(func.count()).select_from(workers)).scalar_one()
            if registered >= count:
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise SystemExit(f"{count} workers did not all start; see {folder}")
            time.sleep(0.1)
        stop, peak = threading.Event(), [0]
        sampler = threading.Thread(target=_sessions, args=(url, stop, peak), daemon=True)
        sampler.start()
        started = time.perf_counter()
        run_id = start_run(store, "scale_out:io_bound", {"n": tasks})
        while True:
            with store.read() as conn:
                state = get_run(conn, run_id).state
            if state.value in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        if state.value != "succeeded":
            raise SystemExit(f"the run ended {state.value}")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        store.close()
    return {"seconds": elapsed, "per_second": (tasks + 2) / elapsed, "sessions": peak[0]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import PostgresServer  # the tests' throwaway PostgreSQL (initdb + pg_ctl on a free port)

    server = PostgresServer()
    server.start()
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="baton-scale-out-"))
    try:
        counts = [int(n) for n in args.workers.split(",")]
        print(
            f"{args.tasks} tasks of {TASK_SECONDS * 1000:.0f} ms (asyncio.sleep) on PostgreSQL, "
            f"--concurrency {args.concurrency} per worker; {os.cpu_count()} CPUs (shared)"
        )
        header = ("workers", "seconds", "tasks/s", "ceiling", "speedup", "efficiency", "sessions")
        print("".join(f"{h:>11}" for h in header))
        first: float | None = None
        for count in counts:
            url = server.url(server.create_database())
            result = measure(url, count, args.tasks, args.concurrency, folder)
            first = first or result["per_second"] / counts[0]  # tasks/s of one worker
            ceiling = count * args.concurrency / TASK_SECONDS
            speedup = result["per_second"] / first
            row = (
                f"{count}",
                f"{result['seconds']:.2f}",
                f"{result['per_second']:.0f}",
                f"{ceiling:.0f}",
                f"{speedup:.2f}x",
                f"{speedup / count:.2f}",
                f"{result['sessions']:.0f}",
            )
            print("".join(f"{cell:>11}" for cell in row))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
