"""A run's report for ``GET /runs/{id}``: made by the run's workflow, never by the server.

The server knows no workflow's steps: it asks the run's workflow (only one it offers — a run's stored
reference is never imported unless the server offers it) to make the report from the checkpoints its
report names (:func:`baton.engine.reports.read_report`). A report function that fails leaves the run
readable: ``report`` is null and ``report_error`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baton.core.errors import BatonError
from baton.engine.reports import read_report
from baton.observability import get_logger, redact_value
from baton.server.catalog import load_offered
from baton.server.state import ServerState
from baton.store.rows import RunRecord, TaskRecord
from baton.store.store import Connection

_log = get_logger("baton.server.reports")


def offered_name(state: ServerState, ref: str) -> str | None:
    """The name under which this server offers the workflow ``ref``; None if it does not offer it."""
    return next((name for name, offered in state.settings.workflows.items() if offered == ref), None)


def unloaded_workflow(state: ServerState, record: RunRecord) -> str | None:
    """The offered name of the run's workflow if it is not imported yet (importing may take seconds:
    the caller does it off the event loop); None when there is nothing to load."""
    name = offered_name(state, record.workflow)
    return name if name is not None and name not in state.workflows else None


def report_fields(
    state: ServerState, conn: Connection, record: RunRecord, tasks: Sequence[TaskRecord]
) -> dict[str, Any]:
    """``report`` (redacted, as JSON) and ``report_error`` of a run."""
    name = offered_name(state, record.workflow)
    if name is None:
        return {"report": None, "report_error": None}
    try:
        report = read_report(conn, load_offered(state, name), tasks)
    except BatonError as error:
        _log.warning("report_failed", run_id=record.id, workflow=name, error=str(error))
        return {"report": None, "report_error": redact_value(error.message)}
    if report is None:
        return {"report": None, "report_error": None}
    return {"report": redact_value(report.model_dump(mode="json")), "report_error": None}
