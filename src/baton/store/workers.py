"""Workers: who holds leases, whether they are alive."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import psutil
from sqlalchemy import Connection, delete, insert, select, update

from baton.core.events import EventType
from baton.store.events import append_events_txn, event_row
from baton.store.schema import workers


@dataclass(frozen=True)
class WorkerRecord:
    id: str
    hostname: str
    pid: int
    run_id: str | None
    started_at: float
    heartbeat_at: float


def worker_heartbeats(conn: Connection) -> list[tuple[str, float]]:
    """Every registered worker with the time of its last heartbeat."""
    return [(str(w), float(at)) for w, at in conn.execute(select(workers.c.id, workers.c.heartbeat_at))]


def _insert_worker_txn(conn: Connection, worker_id: str, *, run_id: str | None, now: float) -> None:
    conn.execute(
        insert(workers).values(
            id=worker_id,
            hostname=socket.gethostname(),
            pid=psutil.Process().pid,
            run_id=run_id,
            started_at=now,
            heartbeat_at=now,
        )
    )


def register_worker_txn(conn: Connection, worker_id: str, *, run_id: str | None, now: float) -> None:
    # A registration done again (its first commit was lost with the connection) replaces itself.
    conn.execute(delete(workers).where(workers.c.id == worker_id))
    _insert_worker_txn(conn, worker_id, run_id=run_id, now=now)
    append_events_txn(conn, [event_row(run_id, None, EventType.WORKER_STARTED, now, {"worker": worker_id})])


def heartbeat_txn(conn: Connection, worker_id: str, *, now: float, run_id: str | None) -> None:
    """Say this worker is alive. A worker whose row is gone — it was frozen (SIGSTOP, a paused VM) for
    longer than the lease and another worker buried it — registers again: its leases were taken over
    already, and it must be seen as alive for the work it does from now on."""
    beat = conn.execute(update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now))
    if not beat.rowcount:
        _insert_worker_txn(conn, worker_id, run_id=run_id, now=now)
    append_events_txn(conn, [event_row(run_id, None, EventType.WORKER_HEARTBEAT, now, {"worker": worker_id})])


def unregister_worker_txn(conn: Connection, worker_id: str, *, now: float, run_id: str | None) -> None:
    conn.execute(delete(workers).where(workers.c.id == worker_id))
    append_events_txn(conn, [event_row(run_id, None, EventType.WORKER_STOPPED, now, {"worker": worker_id})])


def list_workers(conn: Connection) -> list[WorkerRecord]:
    return [
        WorkerRecord(r.id, r.hostname, r.pid, r.run_id, r.started_at, r.heartbeat_at)
        for r in conn.execute(select(workers).order_by(workers.c.started_at))
    ]


def dead_workers_txn(conn: Connection, *, now: float, stale_after: float) -> list[str]:
    """Workers known to be gone: on this host with no live process of their pid started before them, or
    silent for longer than ``stale_after`` seconds anywhere. Their rows are removed."""
    host = socket.gethostname()
    dead: list[str] = []
    for worker in list_workers(conn):
        if worker.hostname == host:
            alive = _local_process_alive(worker.pid, worker.started_at)
        else:
            alive = now - worker.heartbeat_at < stale_after
        if not alive:
            dead.append(worker.id)
    if dead:
        conn.execute(delete(workers).where(workers.c.id.in_(dead)))
    return dead


def _local_process_alive(pid: int, registered_at: float) -> bool:
    try:
        process = psutil.Process(pid)
        # A reused pid belongs to a process that started after the worker registered.
        return process.create_time() <= registered_at + 1.0 and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
