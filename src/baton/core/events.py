"""Every event type baton writes, in one enum. Steps may emit types of their own (``ctx.emit``): those
are plain strings, and anything reading the log must accept them."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    RUN_CREATED = "run.created"
    RUN_STATE = "run.state"  # data: from, to
    RUN_COMPENSATION_TAKEN_OVER = "run.compensation_taken_over"  # data: worker, from
    RUN_COMPENSATION_FAILED = "run.compensation_failed"  # data: error
    TASK_STATE = "task.state"  # data: task, step, from, to
    TASK_ERROR = "task.error"  # data: attempt, error, retry_in
    TASK_EXPANDED = "task.expanded"  # data: task, items, state
    TASK_RESULT_DISCARDED = "task.result_discarded"  # data: attempt, reason
    TASK_COMPENSATED = "task.compensated"
    TASK_COMPENSATION_FAILED = "task.compensation_failed"
    TASK_PROGRESS = "task.progress"  # ctx.progress(): percent, message
    TASK_LOG = "task.log"  # ctx.log(): message, fields
    WORKER_STARTED = "worker.started"
    WORKER_HEARTBEAT = "worker.heartbeat"
    WORKER_STOPPED = "worker.stopped"
    STORE_PRUNED = "store.pruned"
    MODEL_CALL = "model.call"  # one call through the model gateway
    AGENT_CALL = "agent.call"  # one agent's turn
