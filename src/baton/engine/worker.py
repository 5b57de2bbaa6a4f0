"""The worker: claims ready tasks under leases, runs them, and commits their outcomes in groups.

Its loop is built from small steps (see STYLE.md, rule 11):

    run()       register, recover lost work, loop, and always clean up
    _loop()     tick → start claimed tasks → settle finished runs → wait for a result, a due retry or a poll
    _tick()     ONE transaction: record outcomes and events, heartbeat, recover, claim (runs in the store thread)

A worker either drives one run (embedded mode: ``baton run``, ``baton resume``) and returns when
that run is finished or waiting for a human, or serves every run of the store (``baton worker``)
until stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor as PoolExecutor
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select

from baton.core.errors import IllegalTransitionError
from baton.core.states import RunState, run_verdict
from baton.core.workflow import TaskContext, Workflow
from baton.engine.compensation import compensate_run
from baton.engine.executor import execute
from baton.engine.loading import load_workflow
from baton.store.events import append_events_txn, event_batch, event_row
from baton.store.runs import get_run, task_state_counts
from baton.store.schema import runs
from baton.store.store import Store
from baton.store.tasks import (
    ClaimedTask,
    Outcome,
    claim_tasks_txn,
    extend_leases_txn,
    promote_due_retries_txn,
    record_outcomes_txn,
    recover_lost_tasks_txn,
    start_pending_runs_txn,
)
from baton.store.transitions import run_state_txn, transition_run_txn
from baton.store.workers import dead_workers_txn, heartbeat_txn, register_worker_txn, unregister_worker_txn

T = TypeVar("T")


@dataclass
class WorkerSettings:
    concurrency: int = 64  # tasks this worker runs at once
    lease_seconds: float = 30.0  # a task whose lease is not renewed for this long is retried elsewhere
    heartbeat_every: float = 10.0
    poll_interval: float = 0.5  # how often to look for work that other processes made ready
    global_limit: int | None = None  # running tasks across all workers and runs
    process_workers: int | None = None  # size of the process pool for executor="process" steps


@dataclass
class _Tick:
    claimed: list[ClaimedTask] = field(default_factory=list)
    touched_runs: set[str] = field(default_factory=set)
    run_states: dict[str, RunState] = field(default_factory=dict)
    next_retry: float | None = None


class Worker:
    def __init__(
        self,
        store: Store,
        *,
        run_id: str | None = None,
        settings: WorkerSettings | None = None,
        services: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.services = dict(services or {})
        self.run_id = run_id
        self.settings = settings or WorkerSettings()
        self.id = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baton-store")
        self._inline_store = store.dialect == "sqlite"
        self._process_pool: ProcessPoolExecutor | None = None
        self._inflight: dict[int, tuple[ClaimedTask, asyncio.Task[Outcome]]] = {}
        self._outcomes: list[Outcome] = []
        self._events: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._inputs: dict[str, BaseModel | None] = {}
        self._options: dict[str, dict[str, Any]] = {}
        self._workflows: dict[str, Workflow] = {}
        self._last_heartbeat = 0.0
        self._last_maintenance = 0.0
        self._next_retry: float | None = None

    # -- public ----------------------------------------------------------------------------------

    async def run(self) -> RunState | None:
        """Work until the driven run is finished or waiting (returns its state), or until :meth:`stop`."""
        await self._in_store(self._register)
        try:
            return await self._loop()
        finally:
            await self._shutdown()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    # -- the loop --------------------------------------------------------------------------------

    async def _loop(self) -> RunState | None:
        while True:
            outcomes, self._outcomes = self._outcomes, []
            events, self._events = self._events, []
            self._wake.clear()
            free = self.settings.concurrency - len(self._inflight)
            tick = await self._in_store(self._tick, outcomes, events, free)
            for task in tick.claimed:
                self._start(task)
            self._cancel_inflight_of(tick.run_states)
            if tick.next_retry is not None:
                self._next_retry = tick.next_retry
            settled = await self._settle(tick)
            if settled is not None:
                return settled
            if self._stopping.is_set():
                return None
            # Claiming fewer than the free slots means nothing else is ready (and no free slot means
            # nothing can start): wait for news. Otherwise let the started tasks run, then claim more.
            if (len(tick.claimed) < free or free <= 0) and not self._outcomes and not self._events:
                await self._wait()
            else:
                await asyncio.sleep(0)

    def _tick(self, outcomes: list[Outcome], events: list[dict[str, Any]], free: int) -> _Tick:
        now = time.time()
        tick = _Tick()
        settings = self.settings
        with self.store.begin() as conn, event_batch(conn):
            append_events_txn(conn, events)
            tick.touched_runs = record_outcomes_txn(conn, outcomes, worker_id=self.id, now=now)
            if now - self._last_heartbeat >= settings.heartbeat_every:
                self._last_heartbeat = now
                extend_leases_txn(conn, worker_id=self.id, now=now, lease_seconds=settings.lease_seconds)
                heartbeat_txn(conn, self.id, now=now, run_id=self.run_id)
            due_retry = self._next_retry is not None and self._next_retry <= now
            maintenance = now - self._last_maintenance >= settings.poll_interval
            if maintenance or due_retry:
                self._last_maintenance = now
                dead = dead_workers_txn(conn, now=now, stale_after=settings.lease_seconds)
                recover_lost_tasks_txn(conn, now=now, dead_workers=dead, run_id=self.run_id)
                start_pending_runs_txn(conn, now=now, run_id=self.run_id)
                tick.next_retry = promote_due_retries_txn(conn, now=now, run_id=self.run_id)
                self._next_retry = tick.next_retry
            if free > 0:
                tick.claimed = claim_tasks_txn(
                    conn,
                    worker_id=self.id,
                    now=now,
                    lease_seconds=settings.lease_seconds,
                    limit=free,
                    run_id=self.run_id,
                    global_limit=settings.global_limit,
                )
            # Cancellation is noticed at maintenance time: within one poll interval.
            watched = {task.run_id for task, _ in self._inflight.values()} if maintenance else set()
            if watched:
                rows = conn.execute(select(runs.c.id, runs.c.state).where(runs.c.id.in_(watched)))
                tick.run_states = {r.id: RunState(r.state) for r in rows}
        return tick

    async def _wait(self) -> None:
        timeout = self.settings.poll_interval
        if self._next_retry is not None:
            timeout = min(timeout, max(self._next_retry - time.time(), 0.0))
        if self._inflight:
            timeout = min(timeout, self.settings.heartbeat_every)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    # -- tasks -----------------------------------------------------------------------------------

    def _start(self, task: ClaimedTask) -> None:
        run = self._run_context(task.run_id)
        workflow, inputs = run
        step = workflow.steps[task.step]
        ctx = TaskContext(
            run_id=task.run_id,
            task_id=task.id,
            task_name=task.name,
            attempt=task.attempt,
            emit=functools.partial(self._emit, task.run_id, task.id, task.name),
            options=self._options[task.run_id],
            services=self.services,
        )
        handle = asyncio.create_task(execute(step, task, inputs, ctx, self._processes), name=task.name)
        self._inflight[task.id] = (task, handle)
        handle.add_done_callback(functools.partial(self._finished, task))

    def _finished(self, task: ClaimedTask, handle: asyncio.Task[Outcome]) -> None:
        self._inflight.pop(task.id, None)
        if handle.cancelled():
            outcome = Outcome(task.id, task.run_id, task.attempt, error="cancelled", cancelled=True)
        else:
            outcome = handle.result()
        self._outcomes.append(outcome)
        self._wake.set()

    def _emit(self, run_id: str, task_id: int, task_name: str, event_type: str, data: dict[str, Any]) -> None:
        self._events.append(event_row(run_id, task_id, event_type, time.time(), {"task": task_name, **data}))
        self._wake.set()

    def _cancel_inflight_of(self, run_states: dict[str, RunState]) -> None:
        for task, handle in list(self._inflight.values()):
            if run_states.get(task.run_id) is RunState.CANCELLED:
                handle.cancel()

    def _run_context(self, run_id: str) -> tuple[Workflow, BaseModel | None]:
        if run_id not in self._workflows:
            with self.store.read() as conn:
                record = get_run(conn, run_id)
            workflow = load_workflow(record.workflow)
            self._workflows[run_id] = workflow
            self._inputs[run_id] = workflow.parse_inputs(record.inputs)
            self._options[run_id] = record.options
        return self._workflows[run_id], self._inputs[run_id]

    def _processes(self) -> PoolExecutor:
        if self._process_pool is None:
            self._process_pool = ProcessPoolExecutor(max_workers=self.settings.process_workers)
        return self._process_pool

    # -- runs ------------------------------------------------------------------------------------

    async def _settle(self, tick: _Tick) -> RunState | None:
        """Finish the runs that have nothing left to do. Returns the driven run's state once it is settled."""
        if self._outcomes or self._events:
            return None
        busy = {task.run_id for task, _ in self._inflight.values()} | {t.run_id for t in tick.claimed}
        candidates = set(tick.touched_runs)
        if self.run_id is not None and not tick.claimed and not self._inflight:
            candidates.add(self.run_id)
        for run_id in sorted(candidates - busy):
            state = await self._in_store(self._verdict, run_id)
            if state is RunState.FAILED:
                state = await self._fail(run_id)
            elif state is not None:
                await self._in_store(self._conclude, run_id, state)
            if run_id == self.run_id and state is not None:
                return state
        if self.run_id is not None and not self._inflight and not tick.claimed:
            current = await self._in_store(self._current_state, self.run_id)
            if current in (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.WAITING):
                return current
        return None

    def _current_state(self, run_id: str) -> RunState:
        with self.store.read() as conn:
            return run_state_txn(conn, run_id)

    def _verdict(self, run_id: str) -> RunState | None:
        with self.store.read() as conn:
            current = run_state_txn(conn, run_id)
            if current not in (RunState.RUNNING, RunState.WAITING):
                return None
            verdict = run_verdict(task_state_counts(conn, run_id))
        if verdict is RunState.WAITING and current is RunState.WAITING:
            return None
        return verdict

    def _conclude(self, run_id: str, state: RunState, error: str | None = None) -> None:
        now = time.time()
        values: dict[str, Any] = {} if state is RunState.WAITING else {"finished_at": now}
        if error:
            values["error"] = error
        try:
            with self.store.begin() as conn:
                transition_run_txn(conn, run_id, state, now=now, values=values)
        except IllegalTransitionError:
            pass  # another worker settled it first

    async def _fail(self, run_id: str) -> RunState:
        workflow, _ = self._run_context(run_id)
        error = await compensate_run(self.store, run_id, workflow, self._in_store)
        await self._in_store(self._conclude, run_id, RunState.FAILED, error)
        return RunState.FAILED

    # -- plumbing --------------------------------------------------------------------------------

    async def _in_store(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking store call: on the store thread for a database server, whose network waits
        release the GIL; inline for SQLite, whose calls are short and CPU-bound, where the hop to a thread
        would only add latency (measured: it doubled the time per chained task)."""
        if self._inline_store:
            return fn(*args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store_thread, functools.partial(fn, *args))

    def _register(self) -> None:
        now = time.time()
        with self.store.begin() as conn:
            register_worker_txn(conn, self.id, run_id=self.run_id, now=now)
            dead = dead_workers_txn(conn, now=now, stale_after=self.settings.lease_seconds)
            recover_lost_tasks_txn(conn, now=now, dead_workers=dead, run_id=self.run_id)
            start_pending_runs_txn(conn, now=now, run_id=self.run_id)
            self._next_retry = promote_due_retries_txn(conn, now=now, run_id=self.run_id)
        self._last_heartbeat = self._last_maintenance = now

    async def _shutdown(self) -> None:
        handles = [handle for _, handle in self._inflight.values()]
        for handle in handles:
            handle.cancel()
        await asyncio.gather(*handles, return_exceptions=True)
        outcomes, self._outcomes = self._outcomes, []
        events, self._events = self._events, []

        def finish() -> None:
            now = time.time()
            with self.store.begin() as conn:
                append_events_txn(conn, events)
                # Interrupted attempts go back to the queue at once rather than waiting out their lease.
                interrupted = [o for o in outcomes if o.cancelled]
                kept = [o for o in outcomes if not o.cancelled]
                record_outcomes_txn(conn, kept, worker_id=self.id, now=now)
                unregister_worker_txn(conn, self.id, now=now, run_id=self.run_id)
                if interrupted:
                    recover_lost_tasks_txn(conn, now=now, dead_workers=[self.id])

        try:
            await self._in_store(finish)
        finally:
            self._store_thread.shutdown(wait=True)
            if self._process_pool is not None:
                self._process_pool.shutdown(wait=False, cancel_futures=True)


async def drive_run(
    store: Store,
    run_id: str,
    settings: WorkerSettings | None = None,
    services: Mapping[str, Any] | None = None,
) -> RunState:
    """Work on one run in this process until it is finished or waits for a human; returns its state."""
    state = await Worker(store, run_id=run_id, settings=settings, services=services).run()
    if state is None:  # stopped from outside
        with store.read() as conn:
            return run_state_txn(conn, run_id)
    return state
