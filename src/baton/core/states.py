"""The two state machines of DESIGN.md: one enum and one transition table each.

Only ``baton.store.transitions`` applies these tables; nothing else writes a state.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    PENDING = "pending"  # stored, no task claimed yet
    RUNNING = "running"  # at least one task may make progress
    WAITING = "waiting"  # nothing can progress until a human approves or rejects a task
    SUCCEEDED = "succeeded"  # every task succeeded (or was skipped by design)
    COMPENSATING = "compensating"  # a task failed for good; a worker (runs.compensator) rolls back the run
    FAILED = "failed"  # a task failed for good; compensations have run
    CANCELLED = "cancelled"  # stopped by a user


class TaskState(StrEnum):
    PENDING = "pending"  # waiting for its dependencies
    READY = "ready"  # dependencies met; may be claimed by a worker
    RUNNING = "running"  # claimed under a lease; an attempt is executing
    RETRYING = "retrying"  # an attempt failed transiently; waiting out its backoff
    WAITING = "waiting"  # awaits a human approval
    SUCCEEDED = "succeeded"  # finished; its checkpoint is stored
    FAILED = "failed"  # failed for good (permanent error, attempts exhausted, or rejected)
    CANCELLED = "cancelled"  # its run was cancelled before it finished
    SKIPPED = "skipped"  # an upstream task failed, so it never ran
    ROLLED_BACK = "rolled_back"  # succeeded, then its compensation undid it


RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.PENDING: frozenset({RunState.RUNNING, RunState.CANCELLED}),
    RunState.RUNNING: frozenset(
        {RunState.WAITING, RunState.SUCCEEDED, RunState.COMPENSATING, RunState.FAILED, RunState.CANCELLED}
    ),
    RunState.WAITING: frozenset(
        {RunState.RUNNING, RunState.COMPENSATING, RunState.FAILED, RunState.CANCELLED}
    ),
    RunState.SUCCEEDED: frozenset(),
    # Its compensations done (or given up), a rolled-back run is failed; nothing else may happen meanwhile.
    RunState.COMPENSATING: frozenset({RunState.FAILED}),
    # A failed run goes back to running when a user retries one of its tasks.
    RunState.FAILED: frozenset({RunState.RUNNING}),
    RunState.CANCELLED: frozenset(),
}

TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    # pending → running: eager dispatch, a dependent claimed by the tick that released it (engine/scheduler.py).
    TaskState.PENDING: frozenset(
        {TaskState.READY, TaskState.RUNNING, TaskState.SKIPPED, TaskState.CANCELLED}
    ),
    # A ready task that needs an approval goes to waiting when a worker reaches it (it never runs first).
    TaskState.READY: frozenset({TaskState.RUNNING, TaskState.WAITING, TaskState.CANCELLED}),
    TaskState.RUNNING: frozenset(
        {TaskState.SUCCEEDED, TaskState.FAILED, TaskState.RETRYING, TaskState.CANCELLED}
    ),
    TaskState.RETRYING: frozenset({TaskState.READY, TaskState.CANCELLED}),
    TaskState.WAITING: frozenset({TaskState.READY, TaskState.FAILED, TaskState.CANCELLED}),
    TaskState.SUCCEEDED: frozenset({TaskState.ROLLED_BACK}),
    # `baton retry RUN TASK` gives a failed task a new attempt; its skipped dependents wait again.
    TaskState.FAILED: frozenset({TaskState.READY}),
    TaskState.CANCELLED: frozenset(),
    TaskState.SKIPPED: frozenset({TaskState.PENDING}),
    TaskState.ROLLED_BACK: frozenset(),
}

FINISHED_RUN_STATES = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})
FINISHED_TASK_STATES = frozenset(
    {
        TaskState.SUCCEEDED,
        TaskState.FAILED,
        TaskState.CANCELLED,
        TaskState.SKIPPED,
        TaskState.ROLLED_BACK,
    }
)


class AttemptOutcome(StrEnum):
    RUNNING = "running"  # executing now (or its worker died and nobody has noticed yet)
    SUCCEEDED = "succeeded"  # returned a result that was checkpointed
    FAILED = "failed"  # raised an error
    LOST = "lost"  # its worker died or lost its lease; a new attempt replaces it
    CANCELLED = "cancelled"  # stopped because its run was cancelled


class TaskKind(StrEnum):
    STEP = "step"  # one task for one step
    MAP = "map"  # a mapped step: expands into items at run time, succeeds when they all have
    ITEM = "item"  # one element of a mapped step


def run_verdict(counts: dict[TaskState, int]) -> RunState | None:
    """What a run whose tasks are in these states has come to, or None while work remains.

    ``WAITING`` when nothing can move until a human decides; ``FAILED`` when any task failed, was
    cancelled or rolled back; ``SUCCEEDED`` when every task finished well.
    """
    if any(counts.get(s, 0) for s in (TaskState.READY, TaskState.RUNNING, TaskState.RETRYING)):
        return None
    if counts.get(TaskState.WAITING, 0):
        return RunState.WAITING
    # Pending tasks with nothing open ahead of them can only be behind a failure.
    unfinished = (TaskState.FAILED, TaskState.CANCELLED, TaskState.PENDING, TaskState.ROLLED_BACK)
    if any(counts.get(s, 0) for s in unfinished):
        return RunState.FAILED
    return RunState.SUCCEEDED
