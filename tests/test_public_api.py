"""The public names of each package are a promise: changing them must be deliberate (update this list)."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "baton": [
        "BatonError",
        "PermanentError",
        "ReportRow",
        "RetryPolicy",
        "RowOutcome",
        "RunReport",
        "Step",
        "TaskContext",
        "TransientError",
        "Workflow",
    ],
    "baton.core": [
        "RUN_TRANSITIONS",
        "ReportRow",
        "RetryPolicy",
        "RowOutcome",
        "RunReport",
        "RunState",
        "Step",
        "TASK_TRANSITIONS",
        "TaskContext",
        "TaskState",
        "Verdict",
        "Workflow",
        "critical_path",
        "topological_order",
    ],
    "baton.store": [
        "Event",
        "RunRecord",
        "Store",
        "TaskRecord",
        "get_run",
        "list_runs",
        "list_tasks",
        "query_events",
    ],
    "baton.engine": [
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
    ],
    "baton.cli": ["app", "main"],
}


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_public_names_are_exactly_these(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(PUBLIC[package])
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.{name} is listed but missing"


@pytest.mark.parametrize(
    "package", ["baton.llm", "baton.agents", "baton.workflows.builder", "baton.workflows.season"]
)
def test_every_listed_name_exists(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ and all(hasattr(module, name) for name in module.__all__)
