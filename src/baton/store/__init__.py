"""The store: SQLAlchemy tables, queries and migrations. SQLite by default, PostgreSQL by URL."""

from baton.store.events import Event, query_events
from baton.store.runs import RunRecord, TaskRecord, get_run, list_runs, list_tasks
from baton.store.store import Store

__all__ = ["Event", "RunRecord", "Store", "TaskRecord", "get_run", "list_runs", "list_tasks", "query_events"]
