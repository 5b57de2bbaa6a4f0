"""Pure domain: states, transition tables, errors, the workflow model and DAG algorithms. No I/O."""

from baton.core.dag import critical_path, topological_order
from baton.core.report import ReportRow, RowOutcome, RunReport, Verdict
from baton.core.states import RUN_TRANSITIONS, TASK_TRANSITIONS, RunState, TaskState
from baton.core.workflow import RetryPolicy, Step, TaskContext, Workflow

__all__ = [
    "RUN_TRANSITIONS",
    "TASK_TRANSITIONS",
    "ReportRow",
    "RetryPolicy",
    "RowOutcome",
    "RunReport",
    "RunState",
    "Step",
    "TaskContext",
    "TaskState",
    "Verdict",
    "Workflow",
    "critical_path",
    "topological_order",
]
