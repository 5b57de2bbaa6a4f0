"""Engine throughput, fully durable on SQLite (WAL, synchronous=NORMAL), against the raw limit.

    python benchmarks/engine_throughput.py [--tasks 10000] [--chain 1000] [--big 100000] [--baseline main]

Each scenario runs in its own process so that its peak RSS is its own. Printed side by side:
(a) a wide DAG of no-op tasks (fan-out), (b) a chain of no-op tasks, (c) the raw limit — a plain asyncio
loop doing one INSERT + COMMIT per task with the same SQLite settings and no engine — and the ratios,
plus a big fan-out for memory and storage growth and the time a resumed run takes to start a task.
With ``--baseline REV`` the wide DAG and the chain also run on the engine of git revision REV (its ``src``
extracted to a temporary folder), alternating with this one ``--repeat`` times: before and after side by
side, best of each, in one run on the same (noisy) machine.

Then what each statement costs: the chain and the wide DAG run once more with the store's query timing on
(:func:`baton.store.driver.timing_queries`: count and time of every named query, by name) and with
SQLAlchemy's cursor events timing the statements that still go through SQLAlchemy; printed per task,
beside the wall time per task (the rest is the commit, the engine's Python and the asyncio loop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from baton.core.workflow import Workflow
from baton.engine import WorkerSettings, register_workflow, run_to_end, start_run
from baton.store.store import Store


class Size(BaseModel):
    n: int


wide = Workflow("bench-wide", inputs=Size)


@wide.step()
def items(inputs: Size) -> list[int]:
    return list(range(inputs.n))


@wide.map(over=items)
async def noop(item: int) -> int:
    return item


@wide.step()
def done(noop: list[int]) -> int:
    return len(noop)


def chain(length: int) -> Workflow:
    flow = Workflow("bench-chain")

    async def first() -> int:
        return 0

    flow.step(name="link0")(first)
    for index in range(1, length):

        async def link(previous: int) -> int:
            return previous + 1

        flow.step(name=f"link{index}", uses={"previous": f"link{index - 1}"})(link)
    return flow


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Set by --url: the scenarios (a) and (b) run on that store (PostgreSQL) instead of a SQLite file.
STORE_URL: str | None = None
# Set by --timing: the scenarios (a) and (b) count and time every statement (see timed()).
TIMING = False


def timed(store: Store, run: Callable[[], Any]) -> tuple[Any, float, dict[str, list[float]]]:
    """Run ``run``; returns its result, its wall time and (with --timing) the statements' figures by name:
    the store's named queries from its driver hook, the rest from SQLAlchemy's cursor events (their
    driver time only, not SQLAlchemy's own work around them)."""
    if not TIMING:
        started = time.perf_counter()
        result = run()
        return result, time.perf_counter() - started, {}
    from sqlalchemy import event

    from baton.store.driver import timing_queries  # not in engines before the named queries

    figures: dict[str, list[float]] = {}
    starts: list[float] = []

    def before(*_: Any) -> None:
        starts.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        name = "sqlalchemy: " + " ".join(statement.split()[:4])[:30]
        entry = figures.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - starts.pop()

    event.listen(store.engine, "before_cursor_execute", before)
    event.listen(store.engine, "after_cursor_execute", after)
    commit = store.engine.dialect.do_commit

    def timed_commit(dbapi_connection: Any) -> None:
        started = time.perf_counter()
        commit(dbapi_connection)
        entry = figures.setdefault("(commit)", [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - started

    store.engine.dialect.do_commit = timed_commit  # type: ignore[method-assign]
    with timing_queries() as named:
        started = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - started
    figures.update(named)
    return result, elapsed, figures


def _size(db: Path) -> float:
    return float(db.stat().st_size) if STORE_URL is None else 0.0


def scenario_wide(db: Path, n: int) -> dict[str, Any]:
    store = Store.open(STORE_URL or f"sqlite:///{db}")
    register_workflow(wide, "bench:wide")
    run_id = start_run(store, "bench:wide", {"n": n})
    state, elapsed, queries = timed(
        store, lambda: asyncio.run(run_to_end(store, run_id, WorkerSettings(concurrency=512)))
    )
    if state.value != "succeeded":
        raise SystemExit(f"wide run ended {state}")
    return {
        "tasks": n,
        "seconds": elapsed,
        "rss_mb": peak_rss_mb(),
        "db_bytes": _size(db),
        "queries": queries,
    }


def scenario_chain(db: Path, n: int) -> dict[str, Any]:
    store = Store.open(STORE_URL or f"sqlite:///{db}")
    flow = chain(n)
    register_workflow(flow, "bench:chain")
    run_id = start_run(store, "bench:chain", workflow=flow)
    state, elapsed, queries = timed(
        store, lambda: asyncio.run(run_to_end(store, run_id, WorkerSettings(concurrency=8)))
    )
    if state.value != "succeeded":
        raise SystemExit(f"chain run ended {state}")
    return {
        "tasks": n,
        "seconds": elapsed,
        "rss_mb": peak_rss_mb(),
        "db_bytes": _size(db),
        "queries": queries,
    }


def scenario_raw(db: Path, n: int) -> dict[str, float]:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE results (id INTEGER PRIMARY KEY, task INTEGER, output TEXT, ts REAL)")

    async def task(index: int) -> int:
        return index

    async def main() -> None:
        for index in range(n):
            output = await task(index)
            conn.execute("BEGIN")
            conn.execute(
                "INSERT INTO results (task, output, ts) VALUES (?, ?, ?)", (index, str(output), time.time())
            )
            conn.execute("COMMIT")

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    return {"tasks": n, "seconds": elapsed, "rss_mb": peak_rss_mb(), "db_bytes": db.stat().st_size}


def scenario_resume(db: Path, n: int) -> dict[str, float]:
    """Interrupt a big run with SIGKILL half way, then time how soon a resume starts its first task."""
    here = Path(__file__).resolve()
    child = subprocess.Popen(
        [sys.executable, str(here), "--scenario", "wide-forever", "--db", str(db), "--n", str(n)]
    )
    store = Store.open(f"sqlite:///{db}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
        with store.read() as conn:
            done_count = (
                conn.exec_driver_sql("SELECT count(*) FROM tasks WHERE state = 'succeeded'").scalar() or 0
            )
        if done_count > n // 2:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    with store.read() as conn:
        run_id = conn.exec_driver_sql("SELECT id FROM runs").scalar()
        last = conn.exec_driver_sql("SELECT max(id) FROM events").scalar() or 0
    register_workflow(wide, "bench:wide")
    started = time.time()

    async def resume_until_first_task() -> float:
        from baton.engine.worker import Worker

        worker = Worker(store, run_id=str(run_id), settings=WorkerSettings(concurrency=512))
        job = asyncio.create_task(worker.run())
        while True:
            await asyncio.sleep(0.005)
            with store.read() as conn:
                first = conn.exec_driver_sql(
                    "SELECT min(ts) FROM events WHERE id > ? AND type = 'task.state'"
                    " AND json_extract(data, '$.to') = 'running'",
                    (last,),
                ).scalar()
            if first is not None:
                worker.stop()
                await job
                return float(first) - started

    return {
        "tasks": n,
        "seconds": asyncio.run(resume_until_first_task()),
        "rss_mb": peak_rss_mb(),
        "db_bytes": 0,
    }


def scenario_wide_forever(db: Path, n: int) -> None:
    store = Store.open(f"sqlite:///{db}")
    register_workflow(wide, "bench:wide")
    run_id = start_run(store, "bench:wide", {"n": n})
    asyncio.run(run_to_end(store, run_id, WorkerSettings(concurrency=512)))


SCENARIOS = {"wide": scenario_wide, "chain": scenario_chain, "raw": scenario_raw, "resume": scenario_resume}


def run_scenario(
    name: str, n: int, src: Path | None = None, url: str | None = None, *, timing: bool = False
) -> dict[str, Any]:
    """One scenario in a process of its own; on the engine in ``src`` (another version's sources) if given,
    on the store at ``url`` if given."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        output = subprocess.run(
            [sys.executable, __file__, "--scenario", name, "--db", str(db), "--n", str(n)]
            + (["--url", url] if url else [])
            + (["--timing"] if timing else []),
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder on a free loopback port (as `postgres` when root), with a
    new database for each scenario; None of it when the server binaries are not installed."""

    def __init__(self) -> None:
        import glob
        import shutil
        import socket

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        self.bin = Path(found[-1]).parent if found else None
        self.root = Path(tempfile.mkdtemp(prefix="baton-bench-pg-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.count = 0

    def _run(self, *args: str) -> None:
        assert self.bin is not None
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> None:
        data = str(self.root / "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=100"
        self._run("pg_ctl", "-D", data, "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        import shutil

        if self.bin is not None:
            subprocess.run(
                (["runuser", "-u", "postgres", "--"] if self.as_root else [])
                + [str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"],
                capture_output=True,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        from sqlalchemy import create_engine, text

        self.count += 1
        name = f"bench_{self.count}"
        engine = create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres", isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


def query_costs(
    backends: dict[str, Callable[[], str | None]], wide_n: int, chain_n: int, repeat: int
) -> None:
    """What each statement costs: per task, how often it runs and how long it takes, during a chain and a
    wide DAG on each backend (best of ``repeat`` timed runs, by wall time), beside the wall time per task."""
    columns: dict[str, dict[str, Any]] = {}
    for backend, url in backends.items():
        for name, n in (("chain", chain_n), ("wide", wide_n)):
            runs = [run_scenario(name, n, None, url(), timing=True) for _ in range(repeat)]
            columns[f"{name}, {backend}"] = min(runs, key=lambda r: float(r["seconds"]))
    names = sorted(
        {q for r in columns.values() for q in r["queries"]},
        key=lambda q: -max(r["queries"].get(q, [0, 0.0])[1] / r["tasks"] for r in columns.values()),
    )
    print(f"\nwhat each statement costs, per task (runs per task / microseconds per task), best of {repeat}:")
    print(f"{'statement':<44}" + "".join(f"{label:>22}" for label in columns))
    for q in names:
        cells = []
        for r in columns.values():
            count, seconds = r["queries"].get(q, [0, 0.0])
            cells.append(
                f"{count / r['tasks']:>9.3f} /{1e6 * seconds / r['tasks']:>8.1f} us"
                if count
                else f"{'-':>22}"
            )
        print(f"{q:<44}" + "".join(cells))
    totals = [sum(s for q, (_, s) in r["queries"].items() if q != "(commit)") for r in columns.values()]
    print(
        f"{'all statements':<44}"
        + "".join(f"{1e6 * t / r['tasks']:>19.1f} us" for t, r in zip(totals, columns.values(), strict=True))
    )
    print(
        f"{'wall time (with the timing on)':<44}"
        + "".join(f"{1e6 * r['seconds'] / r['tasks']:>19.1f} us" for r in columns.values())
    )
    print(
        "(the rest of the wall time, beside the statements and the (commit)s, is the engine's Python and the\n"
        " asyncio loop; statements run through SQLAlchemy are timed at the driver only;\n"
        " the machine is shared: figures vary from run to run)"
    )


def compare_with(revision: str, wide_n: int, chain_n: int, repeat: int) -> None:
    """The wide DAG and the chain on ``revision``'s engine and on this one, alternating; best of each;
    on SQLite, and on PostgreSQL (fully durable: fsync on) when its server binaries are installed."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", revision, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        before_src = Path(tmp) / "src"
        postgres = ThrowawayPostgres()
        backends = ["sqlite"]
        if postgres.bin is not None:
            postgres.start()
            backends.append("postgresql")
        best: dict[tuple[str, str, str], float] = {}
        try:
            for _ in range(repeat):
                for label, src in (("before", before_src), ("after", None)):
                    for backend in backends:
                        for name, n in (("wide", wide_n), ("chain", chain_n)):
                            url = postgres.new_database() if backend == "postgresql" else None
                            r = run_scenario(name, n, src, url)
                            key = (backend, name, label)
                            best[key] = min(best.get(key, float("inf")), r["seconds"] / r["tasks"])
            urls: dict[str, Callable[[], str | None]] = {"sqlite": lambda: None}
            if "postgresql" in backends:
                urls["postgresql"] = postgres.new_database
            report_before_after(revision, best, backends, wide_n, chain_n, repeat)
            query_costs(urls, wide_n, chain_n, repeat)
        finally:
            postgres.stop()


def report_before_after(
    revision: str,
    best: dict[tuple[str, str, str], float],
    backends: list[str],
    wide_n: int,
    chain_n: int,
    repeat: int,
) -> None:
    raw = run_scenario("raw", wide_n)
    raw_ms = 1000 * raw["seconds"] / raw["tasks"]
    print(f"before ({revision}) / after (this tree), best of {repeat} alternating runs, ms per task:")
    print(
        f"{'scenario':<34}{'before':>10}{'after':>10}{'after/before':>14}{'raw floor':>11}{'tasks/s after':>15}"
    )
    for backend in backends:
        for name, label in (("wide", f"(a) wide DAG x{wide_n:,}"), ("chain", f"(b) chain x{chain_n:,}")):
            before, after = 1000 * best[backend, name, "before"], 1000 * best[backend, name, "after"]
            floor = f"{raw_ms:>11.3f}" if backend == "sqlite" else f"{'-':>11}"
            print(
                f"{label + ', ' + backend:<34}{before:>10.3f}{after:>10.3f}{after / before:>14.2f}{floor}"
                f"{1000 / after:>15,.0f}"
            )
    if "postgresql" not in backends:
        print("(PostgreSQL left out: its server binaries are not installed — apt-get install postgresql)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--chain", type=int, default=1_000)
    parser.add_argument("--big", type=int, default=100_000, help="0 to skip the big run")
    parser.add_argument("--baseline", metavar="REV", help="also run (a) and (b) on git revision REV's engine")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs per side with --baseline")
    parser.add_argument("--scenario")
    parser.add_argument("--db")
    parser.add_argument("--url", help="run the scenario on this store instead of a SQLite file")
    parser.add_argument("--n", type=int, default=0)
    parser.add_argument("--timing", action="store_true", help="with --scenario: time every statement")
    args = parser.parse_args()
    global STORE_URL, TIMING
    STORE_URL, TIMING = args.url, args.timing
    if args.scenario == "wide-forever":
        scenario_wide_forever(Path(args.db), args.n)
        return
    if args.scenario:
        print(json.dumps(SCENARIOS[args.scenario](Path(args.db), args.n)))
        return

    print(f"engine throughput on this machine ({os.cpu_count()} cores), SQLite WAL + synchronous=NORMAL")
    results = {
        "(a) wide DAG": run_scenario("wide", args.tasks),
        "(b) chain": run_scenario("chain", args.chain),
        "(c) raw INSERT+COMMIT": run_scenario("raw", args.tasks),
    }
    if args.big:
        results[f"wide DAG x{args.big:,}"] = run_scenario("wide", args.big)
    print(
        f"{'scenario':<24}{'tasks':>9}{'seconds':>10}{'tasks/s':>10}{'ms/task':>9}{'peak RSS':>10}{'bytes/task':>11}"
    )
    for name, r in results.items():
        rate = r["tasks"] / r["seconds"]
        print(
            f"{name:<24}{int(r['tasks']):>9,}{r['seconds']:>10.2f}{rate:>10,.0f}{1000 / rate:>9.3f}"
            f"{r['rss_mb']:>8.0f}MB{r['db_bytes'] / r['tasks']:>11.0f}"
        )
    raw_rate = results["(c) raw INSERT+COMMIT"]["tasks"] / results["(c) raw INSERT+COMMIT"]["seconds"]
    wide_rate = results["(a) wide DAG"]["tasks"] / results["(a) wide DAG"]["seconds"]
    chain_ms = 1000 * results["(b) chain"]["seconds"] / results["(b) chain"]["tasks"]
    print(f"ratio wide/raw: {wide_rate / raw_rate:.2f}   (target >= 0.25, and >= 10,000 tasks/s)")
    print(f"chain overhead per task: {chain_ms:.3f} ms   (target <= 0.3 ms)")
    resume = run_scenario("resume", args.tasks)
    print(
        f"resume of an interrupted {args.tasks:,}-task run started its first task after {resume['seconds']:.3f} s "
        "(target <= 1 s)"
    )
    if args.baseline:
        compare_with(args.baseline, args.tasks, args.chain, args.repeat)


if __name__ == "__main__":
    main()
