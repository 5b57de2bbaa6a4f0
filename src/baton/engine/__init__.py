"""The engine: scheduling, executing, retrying, compensating and recovering runs."""

from baton.engine.loading import load_workflow, register_workflow
from baton.engine.runs import (
    approve_task,
    cancel_run,
    prepare_resume,
    prune,
    reject_task,
    retry_task,
    start_run,
)
from baton.engine.worker import Worker, WorkerSettings, run_to_end

__all__ = [
    "Worker",
    "WorkerSettings",
    "approve_task",
    "cancel_run",
    "load_workflow",
    "prepare_resume",
    "prune",
    "register_workflow",
    "reject_task",
    "retry_task",
    "run_to_end",
    "start_run",
]
