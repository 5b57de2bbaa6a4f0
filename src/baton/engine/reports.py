"""Reading a run's report: the workflow's report function over the checkpoints it names, at read time.

Nothing is stored for a report: it is made from the checkpoints each time a run is read (the API caches
the answer until the run's next event), so a workflow can change how it reports without a migration and
a client never sees a report older than the run's outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

from baton.core.report import RunReport
from baton.core.states import TaskKind, TaskState
from baton.core.workflow import Workflow
from baton.store.checkpoints import get_checkpoint
from baton.store.rows import TaskRecord
from baton.store.store import Connection

__all__ = ["read_report"]


def read_report(conn: Connection, workflow: Workflow, tasks: Sequence[TaskRecord]) -> RunReport | None:
    """The run's report, or None while a step it reads has not succeeded (or the workflow names none).

    ``tasks`` are the run's tasks (step-level ones suffice). Raises
    :class:`~baton.core.errors.ReportError` when the workflow's report function fails.
    """
    declared = workflow.report_declaration
    if declared is None:
        return None
    by_name = {task.name: task for task in tasks if task.kind is not TaskKind.ITEM}
    checkpoints: dict[str, str | None] = {}
    for step in declared.steps:
        task = by_name.get(step)
        if task is None or task.state is not TaskState.SUCCEEDED:
            return None
        checkpoints[step] = get_checkpoint(conn, task.id)
    return workflow.report_of(checkpoints)
