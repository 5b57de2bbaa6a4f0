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
import gc
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor as PoolExecutor
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from baton.core.errors import BatonError, InvalidInputError
from baton.core.states import RunState
from baton.core.workflow import TaskContext, Workflow
from baton.engine.compensation import abandon_compensation, compensable_tasks_txn, compensate_run
from baton.engine.executor import execute
from baton.engine.loading import load_workflow
from baton.engine.scheduler import (
    LOST_ATTEMPTS_LIMIT,
    claim_tasks_txn,
    conclude_run_txn,
    promote_due_retries_txn,
    record_outcomes_txn,
    recover_lost_tasks_txn,
)
from baton.store.events import append_events_txn, event_row
from baton.store.outcomes import Outcome
from baton.store.retry import Patience, call_with_retry
from baton.store.rows import Candidate, ClaimedTask, RunRecord
from baton.store.runs import (
    claim_orphaned_compensations_txn,
    get_run,
    run_states_txn,
    runs_without_work_txn,
    start_pending_runs_txn,
)
from baton.store.store import Connection, Store
from baton.store.tasks import extend_leases_txn
from baton.store.transitions import run_state_txn
from baton.store.workers import dead_workers_txn, heartbeat_txn, register_worker_txn, unregister_worker_txn

T = TypeVar("T")

# Each task allocates a few dozen container objects that live for a tick or two. Under Python's default
# young-generation threshold (700 allocations) the tasks in flight are collected again and again,
# promoted, and rescanned by full collections of the whole heap: a third of a 10,000-task fan-out's CPU
# time (measured). With a threshold of 10,000 they die young. Raised for the whole process, never lowered.
_YOUNG_GENERATION_THRESHOLD = 10_000


def _collect_young_objects_less_often() -> None:
    young, *older = gc.get_threshold()
    if 0 < young < _YOUNG_GENERATION_THRESHOLD:  # 0: the collector is off, and stays off
        gc.set_threshold(_YOUNG_GENERATION_THRESHOLD, *older)


@dataclass
class WorkerSettings:
    """How a worker behaves; ``baton worker`` sets each from an option or a ``BATON_WORKER_*`` variable."""

    concurrency: int = 64  # tasks this worker runs at once
    lease_seconds: float = 30.0  # a task whose lease is not renewed for this long is retried elsewhere
    heartbeat_every: float = 10.0  # how often leases are renewed (well under the lease)
    poll_interval: float = 0.5  # how often to look for work that other processes made ready
    global_limit: int | None = None  # running tasks across all workers and runs
    process_workers: int | None = None  # size of the process pool for executor="process" steps
    lost_attempts_limit: int = LOST_ATTEMPTS_LIMIT  # a task that loses its worker this often fails
    drain_seconds: float = 20.0  # on SIGTERM: how long running tasks may finish before being given back
    max_outage: float = 60.0  # how long the store may be unreachable before this worker gives up

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise InvalidInputError(
                f"concurrency must be at least 1, not {self.concurrency}", fields={"concurrency": ">= 1"}
            )
        if not 0 < self.heartbeat_every < self.lease_seconds:
            raise InvalidInputError(
                f"the heartbeat ({self.heartbeat_every:g}s) must be shorter than the lease "
                f"({self.lease_seconds:g}s): leases would end between two renewals",
                fields={"heartbeat": f"> 0 and < lease ({self.lease_seconds:g}s)"},
                hint="a heartbeat of a third of the lease leaves room for two missed renewals",
            )
        if self.poll_interval <= 0:
            raise InvalidInputError(
                f"the poll interval must be more than 0, not {self.poll_interval:g}", fields={"poll": "> 0"}
            )
        if self.lost_attempts_limit < 1:
            raise InvalidInputError(
                f"the lost-attempts limit must be at least 1, not {self.lost_attempts_limit}",
                fields={"max_lost": ">= 1"},
            )
        if self.drain_seconds < 0 or self.max_outage <= 0:
            raise InvalidInputError(
                "the drain period must be 0 or more and the longest outage more than 0",
                fields={"drain": ">= 0", "max_outage": "> 0"},
            )
        if self.global_limit is not None and self.global_limit < 1:
            raise InvalidInputError(
                f"the global limit must be at least 1, not {self.global_limit}",
                fields={"global_limit": ">= 1"},
            )


@dataclass
class _Tick:
    claimed: list[ClaimedTask] = field(default_factory=list)
    touched_runs: set[str] = field(default_factory=set)
    run_states: dict[str, RunState] = field(default_factory=dict)
    idle_runs: list[str] = field(default_factory=list)  # running runs with nothing left to run
    compensations: list[str] = field(default_factory=list)  # failed runs whose rollback this worker took over
    next_retry: float | None = None
    records: dict[str, RunRecord] = field(default_factory=dict)  # runs of claimed tasks this worker lacked
    # Tasks in flight here that this worker no longer holds (its lease ran out and another took over).
    lost_leases: set[int] = field(default_factory=set)


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
        self._ticks = store.writer()  # the ticks' transactions (one thread: the store thread, or inline)
        self._inline_store = store.dialect == "sqlite"
        self._process_pool: ProcessPoolExecutor | None = None
        self._inflight: dict[int, tuple[ClaimedTask, asyncio.Task[Outcome]]] = {}
        self._outcomes: list[Outcome] = []
        self._events: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._inputs: dict[str, BaseModel | None] = {}
        self._options: dict[str, dict[str, Any]] = {}
        self._clocks: dict[str, float] = {}
        self._to_settle: set[str] = set()
        self._compensations: dict[str, asyncio.Task[None]] = {}  # by run id: rollbacks in progress here
        self._taken_over: list[str] = []  # rollbacks claimed at registration, to start in the loop
        self._workflows: dict[str, Workflow] = {}
        self._last_heartbeat = 0.0
        self._last_maintenance = 0.0
        self._next_retry: float | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None  # both set by run()
        self._loop_thread = 0
        self._records: dict[str, RunRecord] = {}
        self._drain_until: float | None = None  # set by drain(): no more claims; stop by then
        self._patience = Patience(outage=self.settings.max_outage, conflicts=None)

    # -- public ----------------------------------------------------------------------------------

    async def run(self) -> RunState | None:
        """Work until the driven run is finished or waiting (returns its state), or until :meth:`stop`."""
        self._event_loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        _collect_young_objects_less_often()
        await self._in_store(self._register)
        try:
            return await self._loop()
        finally:
            await self._shutdown()

    def stop(self) -> None:
        """Stop now: running attempts are interrupted and given back (ready for another worker at once)."""
        self._stopping.set()
        self._wake.set()

    def drain(self, seconds: float | None = None) -> None:
        """Stop gracefully: claim nothing more, let running tasks finish for up to ``seconds`` (the
        ``drain_seconds`` setting by default), then stop — giving back what still runs."""
        if self._drain_until is None:
            self._drain_until = time.monotonic() + (
                self.settings.drain_seconds if seconds is None else seconds
            )
        self._wake.set()

    @property
    def draining(self) -> bool:
        return self._drain_until is not None

    # -- the loop --------------------------------------------------------------------------------

    async def _loop(self) -> RunState | None:
        while True:
            outcomes, self._outcomes = self._outcomes, []
            events, self._events = self._events, []
            self._wake.clear()
            free = 0 if self.draining else self.settings.concurrency - len(self._inflight)
            # Read here, on the loop: on PostgreSQL the tick runs in the store thread.
            running = {task.id: task.run_id for task, _ in self._inflight.values()}
            tick = await self._in_store(self._tick, outcomes, events, free, running, set(self._records))
            self._records.update(tick.records)
            for task_id in tick.lost_leases:  # another worker holds it now: what this one finds is not wanted
                if task_id in self._inflight:
                    self._inflight[task_id][1].cancel()
            taken_over, self._taken_over = [*self._taken_over, *tick.compensations], []
            for run_id in taken_over:
                self._start_compensation(run_id)
            for task in tick.claimed:
                self._start(task)
            self._cancel_inflight_of(tick.run_states)
            if tick.next_retry is not None:
                self._next_retry = tick.next_retry
            settled = await self._settle(tick)
            if settled is not None:
                return settled
            if self._stopping.is_set() or self._drained():
                return None
            # Claiming fewer than the free slots means nothing else is ready (and no free slot means
            # nothing can start): wait for news. Otherwise let the started tasks run, then claim more.
            if (len(tick.claimed) < free or free <= 0) and not self._outcomes and not self._events:
                await self._wait()
            else:
                await asyncio.sleep(0)

    def _drained(self) -> bool:
        """While draining: whether it is time to stop (nothing runs any more, or the drain period is over)."""
        if self._drain_until is None:
            return False
        idle = not self._inflight and not self._compensations and not self._outcomes and not self._events
        return idle or time.monotonic() >= self._drain_until

    def _tick(
        self,
        outcomes: list[Outcome],
        events: list[dict[str, Any]],
        free: int,
        running: dict[int, str],
        known_runs: set[str],
    ) -> _Tick:
        """One transaction. Called again from the top when it loses a race or the database goes away
        (see :meth:`_in_store`): everything it writes rolls back with it, so doing it again is safe."""
        now = time.time()
        tick = _Tick()
        settings = self.settings
        watched = set(running.values())
        with self._ticks.begin() as conn:
            append_events_txn(conn, events)
            # Dependents this tick may run at once wait, pending, for the claim below (eager dispatch);
            # a worker that is draining claims nothing, so it releases them as ready.
            released: list[Candidate] | None = None if self.draining else []
            tick.touched_runs = record_outcomes_txn(conn, outcomes, worker_id=self.id, now=now, held=released)
            if now - self._last_heartbeat >= settings.heartbeat_every:
                held = extend_leases_txn(
                    conn, list(running), worker_id=self.id, now=now, lease_seconds=settings.lease_seconds
                )
                tick.lost_leases = set(running) - held
                heartbeat_txn(conn, self.id, now=now, run_id=self.run_id)
            due_retry = self._next_retry is not None and self._next_retry <= now
            maintenance = now - self._last_maintenance >= settings.poll_interval
            if maintenance or due_retry:
                self._last_maintenance = now
                dead = dead_workers_txn(conn, now=now, stale_after=settings.lease_seconds)
                recover_lost_tasks_txn(
                    conn,
                    now=now,
                    dead_workers=dead,
                    run_id=self.run_id,
                    limit=settings.lost_attempts_limit,
                )
                if not self.draining:
                    tick.compensations = claim_orphaned_compensations_txn(
                        conn, worker_id=self.id, now=now, run_id=self.run_id
                    )
                start_pending_runs_txn(conn, now=now, run_id=self.run_id)
                tick.next_retry = promote_due_retries_txn(conn, now=now, run_id=self.run_id)
                self._next_retry = tick.next_retry
                tick.idle_runs = runs_without_work_txn(conn, run_id=self.run_id)
            if free > 0 or released:
                tick.claimed = claim_tasks_txn(
                    conn,
                    worker_id=self.id,
                    now=now,
                    lease_seconds=settings.lease_seconds,
                    limit=free,
                    run_id=self.run_id,
                    global_limit=settings.global_limit,
                    released=released or (),
                )
                for run_id in {task.run_id for task in tick.claimed} - known_runs:
                    tick.records[run_id] = get_run(conn, run_id)
            # Cancellation of the runs of tasks in flight is noticed at maintenance: within one poll interval.
            if watched and maintenance:
                tick.run_states = run_states_txn(conn, watched)
        # Only once committed: a tick done again must not skip the heartbeat the first try did not store.
        if tick.lost_leases or now - self._last_heartbeat >= settings.heartbeat_every:
            self._last_heartbeat = now
        return tick

    async def _wait(self) -> None:
        timeout = self.settings.poll_interval
        if self._next_retry is not None:
            timeout = min(timeout, max(self._next_retry - time.time(), 0.0))
        if self._inflight:
            timeout = min(timeout, self.settings.heartbeat_every)
        if self._drain_until is not None:
            timeout = min(timeout, max(self._drain_until - time.monotonic(), 0.0))
        # asyncio.timeout rather than wait_for: no task of its own for each wait (one or two a tick).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    # -- tasks -----------------------------------------------------------------------------------

    def _start(self, task: ClaimedTask) -> None:
        try:
            workflow, inputs = self._run_context(task.run_id)
            step = workflow.steps[task.step]
        except (BatonError, KeyError) as error:
            # A run whose workflow cannot be loaded (or lost this step) fails this task for good;
            # raising here would kill a worker that serves other runs too.
            problem = error if isinstance(error, BatonError) else f"the workflow has no step {task.step!r}"
            self._outcomes.append(Outcome(task.id, task.run_id, task.attempt, error=f"cannot run: {problem}"))
            self._wake.set()
            return
        ctx = TaskContext(
            run_id=task.run_id,
            task_id=task.id,
            task_name=task.name,
            attempt=task.attempt,
            emit=functools.partial(self._emit, task.run_id, task.id, task.name),
            options=self._options[task.run_id],
            services=self.services,
            clock=self._clocks.get(task.run_id),
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
        """Called by steps, from the event loop or from their own thread (blocking steps)."""
        self._events.append(event_row(run_id, task_id, event_type, time.time(), {"task": task_name, **data}))
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
        elif self._event_loop is not None:  # asyncio.Event is not thread-safe: hand the wake-up to the loop
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self._event_loop.call_soon_threadsafe(self._wake.set)

    def _cancel_inflight_of(self, run_states: dict[str, RunState]) -> None:
        for task, handle in list(self._inflight.values()):
            if run_states.get(task.run_id) is RunState.CANCELLED:
                handle.cancel()

    def _run_context(self, run_id: str, conn: Connection | None = None) -> tuple[Workflow, BaseModel | None]:
        """The workflow and inputs of a run: read by the tick that claimed its first task here (so that
        a dropped connection is retried with the tick, never taken for a broken run), else in ``conn``."""
        if run_id not in self._workflows:
            record = self._records.get(run_id)
            if record is None and conn is not None:
                record = get_run(conn, run_id)
            if record is None:
                with self.store.read() as reading:
                    record = get_run(reading, run_id)
            workflow = load_workflow(record.workflow)
            self._workflows[run_id] = workflow
            self._inputs[run_id] = workflow.parse_inputs(record.inputs)
            self._options[run_id] = record.options
            self._clocks[run_id] = record.clock
        return self._workflows[run_id], self._inputs[run_id]

    def _processes(self) -> PoolExecutor:
        # A pool whose child died is broken for good (every later call fails): replace it. The attempt
        # that broke it failed with BrokenProcessPool and follows its retry policy.
        if self._process_pool is not None and getattr(self._process_pool, "_broken", False):
            self._process_pool.shutdown(wait=False, cancel_futures=True)
            self._process_pool = None
        if self._process_pool is None:
            self._process_pool = ProcessPoolExecutor(max_workers=self.settings.process_workers)
        return self._process_pool

    # -- runs ------------------------------------------------------------------------------------

    async def _settle(self, tick: _Tick) -> RunState | None:
        """Finish the runs that have nothing left to do. Returns the driven run's state once it is settled.

        A run touched by a tick stays a candidate until it could be judged, so that no run is left
        ``running`` with nothing to do because its last outcome arrived while this worker was busy.
        The driven run is settled only once its rollback, if this worker makes one, is finished.
        """
        self._to_settle |= tick.touched_runs
        self._to_settle.update(tick.idle_runs)
        idle = not tick.claimed and not self._inflight
        if self.run_id is not None and idle:
            self._to_settle.add(self.run_id)
        if self._outcomes or self._events:
            return None  # record them first: they may change the verdict
        busy = {task.run_id for task, _ in self._inflight.values()} | {t.run_id for t in tick.claimed}
        for run_id in sorted(self._to_settle - busy):
            self._to_settle.discard(run_id)
            state, compensate = await self._in_store(self._conclude_if_done, run_id)
            if compensate:
                self._start_compensation(run_id)
            if run_id == self.run_id and state is not None and run_id not in self._compensations:
                return state
        if self.run_id is not None and idle and self.run_id not in self._compensations:
            current = await self._in_store(self._current_state, self.run_id)
            if current in (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.WAITING):
                return current
        return None

    def _current_state(self, run_id: str) -> RunState:
        with self.store.read() as conn:
            return run_state_txn(conn, run_id)

    def _conclude_if_done(self, run_id: str) -> tuple[RunState | None, bool]:
        """Judge a run and move it to its verdict in ONE transaction (see
        :func:`~baton.engine.scheduler.conclude_run_txn`); a failed run with compensations to make becomes
        this worker's to roll back. Returns the new state (None if the run did not move) and whether to
        compensate now."""
        with self.store.begin() as conn:
            return conclude_run_txn(
                conn,
                run_id,
                now=time.time(),
                worker_id=self.id,
                has_compensations=functools.partial(self._has_compensations, conn, run_id),
            )

    def _has_compensations(self, conn: Connection, run_id: str) -> bool:
        try:
            workflow, _ = self._run_context(run_id, conn)
        except BatonError:
            return False  # its workflow cannot be loaded: nothing to call
        return bool(compensable_tasks_txn(conn, run_id, workflow))

    def _start_compensation(self, run_id: str) -> None:
        """Roll back a run in the background, so that this worker keeps its heartbeat (and with it the
        mark) and its other tasks while the compensations run."""
        if run_id in self._compensations:
            return
        handle = asyncio.create_task(self._compensate(run_id), name=f"compensate {run_id}")
        self._compensations[run_id] = handle
        handle.add_done_callback(functools.partial(self._compensated, run_id))

    async def _compensate(self, run_id: str) -> None:
        try:
            workflow, _ = self._run_context(run_id)
        except BatonError as error:
            await self._in_store(
                abandon_compensation, self.store, run_id, self.id, f"cannot compensate: {error}"
            )
            return
        await compensate_run(self.store, run_id, workflow, self._in_store, worker_id=self.id)

    def _compensated(self, run_id: str, handle: asyncio.Task[None]) -> None:
        self._compensations.pop(run_id, None)
        if not handle.cancelled() and handle.exception() is not None:
            # The store failed under it; the mark is still this worker's: start again (at-least-once).
            self._taken_over.append(run_id)
        self._wake.set()

    # -- plumbing --------------------------------------------------------------------------------

    async def _in_store(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking store call: on the store thread for a database server, whose network waits
        release the GIL; inline for SQLite, whose calls are short and CPU-bound, where the hop to a thread
        would only add latency (measured: it doubled the time per chained task)."""
        return await self._in_store_patiently(self._patience, fn, *args)

    async def _in_store_patiently(self, patience: Patience, fn: Callable[..., T], *args: Any) -> T:
        """:meth:`_in_store`, where a conflict with another process is done again (for ever: losing a race
        is normal) and an unreachable database is waited for up to ``patience.outage`` seconds, after
        which :class:`~baton.core.errors.StoreUnavailableError` stops this worker with a clear message."""
        where = f"the database {self.store.url.split('@')[-1]}"
        if self._inline_store:
            return call_with_retry(fn, *args, patience=patience, where=where)
        loop = asyncio.get_running_loop()
        call = functools.partial(call_with_retry, fn, *args, patience=patience, where=where)
        return await loop.run_in_executor(self._store_thread, call)

    def _register(self) -> None:
        now = time.time()
        with self.store.begin() as conn:
            register_worker_txn(conn, self.id, run_id=self.run_id, now=now)
            dead = dead_workers_txn(conn, now=now, stale_after=self.settings.lease_seconds)
            recover_lost_tasks_txn(
                conn, now=now, dead_workers=dead, run_id=self.run_id, limit=self.settings.lost_attempts_limit
            )
            self._taken_over = claim_orphaned_compensations_txn(
                conn, worker_id=self.id, now=now, run_id=self.run_id
            )
            start_pending_runs_txn(conn, now=now, run_id=self.run_id)
            self._next_retry = promote_due_retries_txn(conn, now=now, run_id=self.run_id)
        self._last_heartbeat = self._last_maintenance = now

    async def _shutdown(self) -> None:
        """Interrupt what still runs and give it back — ready for another worker at once, not after the
        lease — record what finished, unregister. An interrupted rollback keeps its mark; once this worker
        is unregistered, another takes it over."""
        handles: list[asyncio.Task[Any]] = [handle for _, handle in self._inflight.values()]
        handles += self._compensations.values()
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
                    recover_lost_tasks_txn(
                        conn,
                        now=now,
                        dead_workers=[self.id],
                        limit=self.settings.lost_attempts_limit,
                        reason="given back by a worker that stopped",
                    )

        try:
            # Not for long: a worker stopping because the database is gone must not wait for it again.
            patience = Patience(outage=min(self.settings.max_outage, 5.0), conflicts=10.0)
            await self._in_store_patiently(patience, finish)
        finally:
            self._store_thread.shutdown(wait=True)
            self._ticks.close()
            if self._process_pool is not None:
                self._process_pool.shutdown(wait=False, cancel_futures=True)


async def run_to_end(
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
