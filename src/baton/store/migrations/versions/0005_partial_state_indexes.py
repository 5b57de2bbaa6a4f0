"""the indexes that find work across runs hold only the tasks in the state they look for

Revision ID: 0005
Revises: 0004

``ix_tasks_claim`` (state, critical, priority, id) held every task, and each change of state moved a task
within it: three moves per chained task, in regions of the index far apart, for the sake of the queries
that look across runs for ready tasks (claims by ``baton worker``), retries that are due, and running
tasks (leases, counts). Each of those looks at one state only, so three small partial indexes serve them:
ready tasks in claim order, retrying and running tasks in id order (the order those queries read them in,
and they are few). A task enters and leaves them only in those states; finished tasks, most of a store,
are in none.

A partial index is used only by a query that names its state as written (``state = 'ready'``, not a
bound parameter), so those queries put the state in their text. Queries of one run keep using
``ix_tasks_claim_run``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def _where(state: str) -> dict[str, Any]:
    clause = sa.text(f"state = '{state}'")
    return {"sqlite_where": clause, "postgresql_where": clause}


def upgrade() -> None:
    op.drop_index("ix_tasks_claim", table_name="tasks")
    op.create_index(
        "ix_tasks_ready",
        "tasks",
        [sa.literal_column("critical DESC"), sa.literal_column("priority DESC"), "id"],
        **_where("ready"),
    )
    op.create_index("ix_tasks_retrying", "tasks", ["id"], **_where("retrying"))
    op.create_index("ix_tasks_running", "tasks", ["id"], **_where("running"))


def downgrade() -> None:
    op.drop_index("ix_tasks_running", table_name="tasks")
    op.drop_index("ix_tasks_retrying", table_name="tasks")
    op.drop_index("ix_tasks_ready", table_name="tasks")
    op.create_index(
        "ix_tasks_claim",
        "tasks",
        ["state", sa.literal_column("critical DESC"), sa.literal_column("priority DESC"), "id"],
    )
