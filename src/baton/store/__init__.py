"""The store: SQLAlchemy tables, queries and migrations. SQLite by default, PostgreSQL by URL."""

from baton.store.events import Event, query_events
from baton.store.rows import RunRecord, TaskRecord
from baton.store.runs import get_run, list_runs
from baton.store.store import Store
from baton.store.tasks import list_tasks

__all__ = ["Event", "RunRecord", "Store", "TaskRecord", "get_run", "list_runs", "list_tasks", "query_events"]
