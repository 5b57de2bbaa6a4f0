"""baton: a durable orchestrator for crews of AI agents.

The public face for workflow authors is re-exported here; everything else lives in the layer
packages (see DESIGN.md): ``core``, ``observability``, ``store``, ``engine``, ``llm``, ``agents``,
``workflows``, ``server`` and ``cli``.
"""

from baton.core.errors import BatonError, PermanentError, TransientError
from baton.core.report import ReportRow, RowOutcome, RunReport
from baton.core.workflow import RetryPolicy, Step, TaskContext, Workflow

__all__ = [
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
]

__version__ = "0.1.0"
