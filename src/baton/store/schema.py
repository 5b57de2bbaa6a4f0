"""The one definition of baton's tables. Migrations in ``migrations/versions`` must match it (tested).

Timestamps are UNIX seconds as floats: cheap to write on the hot path and the same on both backends.
JSON payloads are text, serialised once by the caller.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from baton.core.states import TaskState

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL ids need 64 bits for events.
Id = BigInteger().with_variant(Integer(), "sqlite")

runs = Table(
    "runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workflow", String(300), nullable=False),  # "module:attribute", importable
    Column("workflow_name", String(200), nullable=False),
    Column("state", String(20), nullable=False),
    Column("inputs", Text, nullable=False),
    Column("max_concurrency", Integer),
    Column("critical_path", Text, nullable=False, default="[]"),
    Column("options", Text, nullable=False, default="{}"),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("compensator", String(80)),  # in state compensating: the worker making the compensations
    Index("ix_runs_state_created", "state", "created_at"),
)

workstreams = Table(
    "workstreams",
    metadata,
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("description", Text, nullable=False, default=""),
)


def _only_in(state: TaskState) -> dict[str, Any]:
    """The options that make an index partial, holding the tasks in ``state`` only."""
    clause = text(f"state = '{state.value}'")
    return {"sqlite_where": clause, "postgresql_where": clause}


tasks = Table(
    "tasks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("step", String(200), nullable=False),
    Column("workstream", String(200), nullable=False, default="main"),
    Column("kind", String(10), nullable=False),
    Column("parent_id", Id),
    Column("map_index", Integer),
    Column("input", Text),  # a mapped item's element, as JSON
    Column("state", String(20), nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("critical", Boolean, nullable=False, default=False),
    Column("approval", Boolean, nullable=False, default=False),
    Column("approved", Boolean, nullable=False, default=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=1),
    Column("lease_owner", String(80)),
    Column("lease_expires_at", Float),
    Column("not_before", Float),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    UniqueConstraint("run_id", "name"),
    # Claiming walks these in scheduling order: critical path first, then priority, then age. The tasks
    # of one run, by state, in that order:
    Index(
        "ix_tasks_claim_run", "run_id", "state", Column("critical").desc(), Column("priority").desc(), "id"
    ),
    # Across runs, one partial index per state a worker looks for (0005): a task is in one only while
    # it is in that state. Queries name the state as written, or the index is not used (see tasks.py).
    # Retrying and running tasks are few and read in id order (the lock order): the id is all they need.
    Index(
        "ix_tasks_ready",
        Column("critical").desc(),
        Column("priority").desc(),
        "id",
        **_only_in(TaskState.READY),
    ),
    Index(
        "ix_tasks_retrying",
        "id",
        **_only_in(TaskState.RETRYING),
    ),
    Index(
        "ix_tasks_running",
        "id",
        **_only_in(TaskState.RUNNING),
    ),
    # A mapped step's items, by state; partial: tasks without a parent would only churn it (0004).
    Index(
        "ix_tasks_parent_state",
        "parent_id",
        "state",
        sqlite_where=text("parent_id IS NOT NULL"),
        postgresql_where=text("parent_id IS NOT NULL"),
    ),
)

task_dependencies = Table(
    "task_dependencies",
    metadata,
    Column("task_id", Id, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("depends_on_id", Id, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_task_dependencies_upstream", "depends_on_id"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("task_id", Id, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", String(40), nullable=False),
    Column("number", Integer, nullable=False),
    Column("worker", String(80), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("error", Text),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Index("ix_attempts_task", "task_id"),
    Index("ix_attempts_run", "run_id"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("task_id", Id, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("run_id", String(40), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_checkpoints_run", "run_id"),
)

# Append-only. `id` is the order of everything that happened; clients resume with `after=<id>`.
events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", String(40)),
    Column("task_id", Id),
    Column("type", String(60), nullable=False),
    Column("ts", Float, nullable=False),
    Column("data", Text, nullable=False),
    Index("ix_events_run_id", "run_id", "id"),
    Index("ix_events_type_ts", "type", "ts"),
    Index("ix_events_ts", "ts"),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("run_id", String(40)),  # set when the worker drives a single run (embedded mode)
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)

# The model gateway's persistent response cache.
model_cache = Table(
    "model_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("model", String(200), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Column("hits", Integer, nullable=False, default=0),
)

# Every model call of a run with its request and response: the record that `--replay` answers from.
model_calls = Table(
    "model_calls",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", String(40)),
    Column("task_id", Id),
    Column("step", String(200)),
    Column("agent", String(200)),
    Column("provider", String(100), nullable=False),
    Column("model", String(200), nullable=False),
    Column("request_key", String(64), nullable=False),
    Column("request", Text, nullable=False),
    Column("response", Text),
    Column("status", String(20), nullable=False),
    Column("error", Text),
    Column("tokens_in", Integer, nullable=False, default=0),
    Column("tokens_out", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("latency_ms", Float, nullable=False, default=0.0),
    Column("cache_hit", Boolean, nullable=False, default=False),
    Column("fallback", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Index("ix_model_calls_run", "run_id"),
    Index("ix_model_calls_key", "request_key"),
)

# API keys of `baton serve`: only a hash of the secret is kept; the key is shown once, at creation.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(24), primary_key=True),  # the public part of the key, shown in listings
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 of the secret, hex
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Column("revoked_at", Float),
    Column("last_used_at", Float),
)
